"""One forward (``tickets.delivery.forward``): claimed, its provider called, every call recorded
and the next step decided by the error class. A late answer of a claim that ran out never
overwrites the holder's; a forward ends at its deadline; an unknown outcome is retried and
flagged for staff; no request is sent twice."""

import json
import logging
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.providers import PROVIDERS
from tests.support.factories import CUSTOMER_DATA, set_provider_options, storehub_data
from tests.support.submissions import create, refreshed
from tests.support.workers import start_worker, wait_for
from tickets.customer.intake import submission_create
from tickets.delivery import outbox
from tickets.delivery.clock import database_now
from tickets.delivery.forward import (
    FORWARDS,
    submission_forward,
    submission_forward_due,
    submission_forward_task,
)
from tickets.delivery.recovery import outbox_sweep
from tickets.models import ErrorClass, ProviderCall, Status, Submission

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port_url(path: str) -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/{path}"


# --- one forward and its outcome ----------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_worker_forwards_it_and_stores_the_ticket_number(sandbox, run_worker, provider):
    submission = create(provider)

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.ticket_id
    assert submission.sent_at is not None
    if provider == "storehub":
        assert submission.case_number.startswith("STOREHUB")
        assert submission.provider_ticket["TicketId"] == int(submission.ticket_id)
    assert len(sandbox.created(provider)) == 1
    assert (
        submission.calls.filter(kind=ProviderCall.Kind.TICKET, error_class="success").count() == 1
    )


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["500", "503", "hang:2", "drop", "nonjson"])
def test_a_failing_provider_leaves_it_queued_and_it_is_created_once_on_recovery(
    sandbox, run_worker, provider, fault
):
    sandbox.script(provider, fault, fault)
    submission = create(provider)

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert len(sandbox.created(provider)) == 1
    ticket_calls = submission.calls.filter(kind=ProviderCall.Kind.TICKET)
    assert [a.error_class for a in ticket_calls] == [
        *([ErrorClass.TRANSIENT] * 2 if fault.isdigit() else [ErrorClass.UNKNOWN_OUTCOME] * 2),
        ErrorClass.SUCCESS,
    ]
    # After a call whose outcome was unknown, staff are asked to check for a duplicate.
    assert submission.possible_duplicate is (not fault.isdigit())


def test_a_provider_that_is_down_keeps_it_queued_until_it_comes_back(sandbox, settings, run_worker):
    sandbox_url = settings.TICKET_PROVIDERS["storehub"]["OPTIONS"]["url"]
    set_provider_options(settings, "storehub", url=closed_port_url("storehub"))
    settings.FORWARD_RETRY_FIRST_WAITS = [3600]
    submission = create("storehub")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.RETRYING
    assert submission.last_error_class == ErrorClass.TRANSIENT
    assert submission.next_attempt_at > timezone.now()
    assert submission.calls.get().retry_at == submission.next_attempt_at

    set_provider_options(settings, "storehub", url=sandbox_url)
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    submission_forward(submission_id=submission.pk)

    assert refreshed(submission).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1
    assert not submission.possible_duplicate


@pytest.mark.parametrize(("provider", "outcome"), [("storehub", "-10004"), ("onecloud", "429")])
def test_a_rate_limit_is_kept_and_retried(sandbox, run_worker, provider, outcome):
    sandbox.script(provider, outcome)
    submission = create(provider)

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.calls.filter(error_class=ErrorClass.RATE_LIMITED).count() == 1


@pytest.mark.parametrize(
    ("provider", "outcome"),
    [("storehub", "-10004@429;retry-after=120"), ("onecloud", "429;retry-after=120")],
)
def test_a_rate_limit_honours_the_providers_retry_after(
    sandbox, settings, run_worker, provider, outcome
):
    settings.FORWARD_RATE_LIMIT_BASE_SECONDS = 60
    sandbox.script(provider, outcome)
    submission = create(provider)

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.RETRYING
    wait = (submission.next_attempt_at - timezone.now()).total_seconds()
    assert 115 <= wait <= 145
    assert submission.rate_limits_in_a_row == 1


def test_it_gives_up_when_the_retry_period_is_over_and_stays_visible(
    sandbox, settings, run_worker, caplog
):
    settings.FORWARD_RETRY_FIRST_WAITS = [3600]
    sandbox.script("storehub", "500", "500")
    submission = create("storehub")
    run_worker()
    submission = refreshed(submission)
    assert submission.status == Status.RETRYING
    # The provider has been failing for three days (the default period): the next try is the last.
    Submission.objects.filter(pk=submission.pk).update(
        delivery_started_at=F("delivery_started_at") - timedelta(days=3),
        next_attempt_at=timezone.now(),
    )
    FORWARDS.schedule(refreshed(submission))

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.FAILED
    assert submission.next_attempt_at is None
    assert submission.forward_count == 2
    assert submission.calls.count() == 2
    assert submission.last_error == "StoreHub: HTTP 500."
    assert sandbox.created("storehub") == []
    assert f"submission {submission.reference} failed" in caplog.text


@pytest.mark.parametrize("code", ["-10000", "-10013"])
def test_a_rejected_request_is_not_retried(sandbox, run_worker, code):
    sandbox.script("storehub", code)
    submission = create("storehub")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.REJECTED
    assert submission.next_attempt_at is None
    assert len(sandbox.requests("storehub")) == 1
    assert code in submission.last_error


@pytest.mark.parametrize("code", ["-10001", "-10005", "-10014", "-10016"])
def test_configuration_errors_leave_it_held_and_visible(sandbox, settings, run_worker, code):
    settings.OUTBOX_CONFIG_RETRY_SECONDS = 900
    sandbox.script("storehub", code)
    submission = create("storehub")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.HELD
    assert submission.last_error_class in (ErrorClass.CONFIGURATION, ErrorClass.ACCOUNT)
    assert code in submission.last_error
    assert submission.next_attempt_at > timezone.now()


def test_a_missing_setting_holds_it_and_it_is_sent_once_fixed(sandbox, settings, run_worker):
    set_provider_options(settings, "storehub", api_key="")
    submission = create("storehub")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.HELD
    assert "STOREHUB_API_KEY is not set" in submission.calls.get().message
    assert sandbox.requests("storehub") == []

    set_provider_options(settings, "storehub", api_key="tk_fixed")
    assert submission_forward(submission_id=submission.pk) is None  # not due yet
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    submission_forward(submission_id=submission.pk)
    assert refreshed(submission).status == Status.SENT


def test_no_secret_or_personal_data_reaches_attempts_or_logs(sandbox, run_worker, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.script("onecloud", "expired_token", "500")
    submission = create("onecloud")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    stored = json.dumps(
        list(submission.calls.values("request", "response", "message", "url")), default=str
    )
    secrets_sent = {"s3cret-password"} | {
        r["authorization"].removeprefix("Bearer ") for r in sandbox.requests("onecloud")
    }
    for secret in secrets_sent:
        assert secret not in stored
        assert secret not in caplog.text
    assert submission.reference in caplog.text
    for personal in ("Agung Januar", "agung@email.com"):
        assert personal not in caplog.text


# --- fencing: a claim that ran out --------------------------------------------------------
@contextmanager
def a_worker_outliving_its_lease(sandbox, settings, *outcomes: str):
    """Worker A forwards in a thread; its call (the first outcome, slowed) outlives its lease and
    the sweep takes the request back. The body of the ``with`` runs while A's call is still on
    the wire; A finishes, late, when it ends."""
    set_provider_options(settings, "storehub", read_timeout=10)
    settings.FORWARD_LEASE_SECONDS = 0.5
    sandbox.script("storehub", *outcomes)
    submission = submission_create(provider="storehub", data=storehub_data())
    slow_worker = threading.Thread(
        target=submission_forward, kwargs={"submission_id": submission.pk}
    )
    slow_worker.start()
    try:
        wait_for(lambda: refreshed(submission).status == Status.SENDING)
        wait_for(lambda: database_now() > refreshed(submission).lease_expires_at)
        assert outbox_sweep()["forwards_recovered"] == 1
        yield submission
    finally:
        slow_worker.join()


def test_a_late_success_after_the_lease_ran_out_never_overwrites_the_number(sandbox, settings):
    """Worker A's call outlives its lease; the sweep hands the request to worker B, which gets
    a ticket; then A's answer arrives with a second ticket. The customer keeps B's number, and
    staff see both."""
    with a_worker_outliving_its_lease(
        sandbox, settings, "success;delay=2", "success"
    ) as submission:
        submission_forward(submission_id=submission.pk)
        shown = refreshed(submission)
        assert shown.status == Status.SENT

    submission = refreshed(submission)
    created = {str(request["ticket"]["TicketId"]) for request in sandbox.created("storehub")}
    assert len(created) == 2
    # The number the customer was shown stays; the late one is recorded beside it.
    assert submission.status == Status.SENT
    assert submission.ticket_id == shown.ticket_id
    assert submission.case_number == shown.case_number
    [extra] = submission.extra_tickets
    assert {submission.ticket_id, extra["ticket_id"]} == created
    assert submission.duplicate_at_provider
    assert submission.possible_duplicate
    # Both successful calls are in the record.
    successes = submission.calls.filter(kind=ProviderCall.Kind.TICKET, error_class="success")
    assert successes.count() == 2


def test_a_late_success_is_kept_when_no_other_worker_got_a_number(sandbox, settings):
    settings.FORWARD_RETRY_FIRST_WAITS = [3600]
    with a_worker_outliving_its_lease(sandbox, settings, "success;delay=2") as submission:
        assert refreshed(submission).status == Status.RETRYING

    submission = refreshed(submission)
    [created] = sandbox.created("storehub")
    assert submission.status == Status.SENT
    assert submission.ticket_id == str(created["ticket"]["TicketId"])
    assert submission.extra_tickets == []


def test_a_late_failure_of_an_expired_claim_changes_nothing(sandbox, settings):
    with a_worker_outliving_its_lease(sandbox, settings, "-10000;delay=2", "success") as submission:
        submission_forward(submission_id=submission.pk)

    submission = refreshed(submission)
    # The late "rejected" did not turn a sent request into a rejected one.
    assert submission.status == Status.SENT
    assert submission.calls.filter(error_class=ErrorClass.REJECTED).count() == 1


# --- unknown outcomes ---------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_ticket_created_then_the_answer_lost_is_flagged_and_the_customer_gets_a_number(
    sandbox, run_worker, client, provider
):
    sandbox.script(provider, "create_drop")
    submission = submission_create(provider=provider, data=CUSTOMER_DATA[provider]())

    run_worker()

    submission = refreshed(submission)
    lost, delivered = sandbox.created(provider)
    assert submission.status == Status.SENT
    assert submission.possible_duplicate
    assert submission.calls.filter(error_class=ErrorClass.UNKNOWN_OUTCOME).exists()
    state = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()
    assert state["ticket_id"] == submission.ticket_id != ""
    assert lost["ticket"] != delivered["ticket"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("gateway_status", ["502", "504"])
def test_a_gateway_error_is_an_unknown_outcome(sandbox, run_worker, provider, gateway_status):
    sandbox.script(provider, gateway_status)
    submission = submission_create(provider=provider, data=CUSTOMER_DATA[provider]())

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.possible_duplicate
    assert submission.calls.filter(
        error_class=ErrorClass.UNKNOWN_OUTCOME, http_status=int(gateway_status)
    ).exists()


# --- one deadline for a forward -----------------------------------------------------------
def test_a_forward_ends_at_its_deadline_even_with_a_patient_read_time_out(sandbox, settings):
    set_provider_options(settings, "storehub", read_timeout=30)
    settings.FORWARD_CALL_DEADLINE_SECONDS = 1
    sandbox.script("storehub", "hang:5")
    submission = submission_create(provider="storehub", data=storehub_data())

    submission_forward(submission_id=submission.pk)

    submission = refreshed(submission)
    call = submission.calls.get()
    assert submission.status == Status.RETRYING
    assert call.error_class == ErrorClass.UNKNOWN_OUTCOME
    # Cut at the deadline, not after the provider's five seconds nor the 30-second time-out.
    assert call.duration_ms < 5000


def test_no_call_starts_once_the_deadline_has_passed(sandbox, settings):
    settings.FORWARD_CALL_DEADLINE_SECONDS = 0
    submission = submission_create(provider="storehub", data=storehub_data())

    submission_forward(submission_id=submission.pk)

    submission = refreshed(submission)
    assert sandbox.requests("storehub") == []
    assert submission.last_error_class == ErrorClass.TRANSIENT
    assert "nothing was sent" in submission.last_error


# --- one clock ----------------------------------------------------------------------------
def test_leases_and_due_times_are_on_the_database_clock(sandbox, settings):
    settings.FORWARD_LEASE_SECONDS = 120
    settings.FORWARD_RETRY_FIRST_WAITS = [600]
    sandbox.script("storehub", "500;delay=0.3")
    submission = submission_create(provider="storehub", data=storehub_data())
    thread = threading.Thread(target=submission_forward, kwargs={"submission_id": submission.pk})
    before = database_now()
    thread.start()
    wait_for(lambda: refreshed(submission).status == Status.SENDING)
    leased = refreshed(submission).lease_expires_at
    thread.join()
    after = database_now()

    assert before + timedelta(seconds=120) <= leased <= after + timedelta(seconds=120)
    due = refreshed(submission).next_attempt_at
    assert before + timedelta(seconds=480) <= due <= after + timedelta(seconds=720)


# --- never sent twice ---------------------------------------------------------------------
def test_a_duplicate_task_does_not_send_twice(sandbox, run_worker):
    submission = create("storehub")
    FORWARDS.schedule(submission)
    FORWARDS.schedule(submission)

    run_worker()

    assert refreshed(submission).status == Status.SENT
    assert len(sandbox.requests("storehub")) == 1


# --- a burst: one task goes on with the next due forwards --------------------------------
def forward_tasks_waiting():
    return DBTaskResult.objects.filter(
        task_path=submission_forward_task.module_path, status="READY"
    )


def test_one_task_forwards_the_requests_waiting_and_takes_their_tasks_off_the_queue(
    sandbox, run_worker
):
    burst = [create("storehub", name=f"Customer {n}") for n in range(5)]

    run_worker(max_tasks=1)

    assert {refreshed(submission).status for submission in burst} == {Status.SENT}
    names = [request["body"]["Ticket"]["Name"] for request in sandbox.created("storehub")]
    assert sorted(names) == sorted(f"Customer {n}" for n in range(5))
    assert not forward_tasks_waiting().exists()
    run_worker()  # what is left (the e-mails) sends nothing again
    assert len(sandbox.created("storehub")) == 5


def test_a_task_takes_the_longest_due_first_and_at_most_its_batch(sandbox, run_worker, monkeypatch):
    monkeypatch.setattr(outbox, "BATCH_ROWS", 2)
    burst = [create("storehub") for _ in range(4)]
    Submission.objects.filter(pk=burst[3].pk).update(
        next_attempt_at=F("next_attempt_at") - timedelta(minutes=5)
    )
    Submission.objects.filter(pk=burst[2].pk).update(
        next_attempt_at=F("next_attempt_at") - timedelta(minutes=1)
    )

    run_worker(max_tasks=1)

    # Its own, then the two due longest; the last keeps its task for the next one.
    statuses = [refreshed(submission).status for submission in burst]
    assert statuses == [Status.SENT, Status.QUEUED, Status.SENT, Status.SENT]
    assert [task.args_kwargs["args"] for task in forward_tasks_waiting()] == [[burst[1].pk]]


def test_a_burst_costs_one_commit_per_forward(sandbox):
    # Each outcome commits with the next claim: on SQLite every commit is a turn of the one
    # writer the web's posts wait for, and a flush to disk on both databases.
    burst = [create("storehub") for _ in range(6)]
    DBTaskResult.objects.filter(task_path=submission_forward_task.module_path).delete()

    with CaptureQueriesContext(connection) as queries:
        forwarded = submission_forward_due()

    assert forwarded == 6
    assert {refreshed(submission).status for submission in burst} == {Status.SENT}
    commits = [query for query in queries if query["sql"].upper().startswith("COMMIT")]
    assert len(commits) == 6 + 1  # the first claim alone, then one per outcome


def test_a_forward_writes_only_the_columns_it_changes(sandbox):
    # A request is written twice per forward: its customer's columns stay as they are.
    submission = create("storehub")
    name, stored_at = submission.name, submission.updated_at

    with CaptureQueriesContext(connection) as queries:
        submission_forward(submission_id=submission.pk)

    writes = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "tickets_submission"')]
    assert len(writes) == 2  # the claim, the outcome
    assert not [sql for sql in writes if '"name" =' in sql or '"details" =' in sql]
    forwarded = refreshed(submission)
    assert forwarded.status == Status.SENT and forwarded.ticket_id
    assert forwarded.name == name and forwarded.updated_at > stored_at


def test_a_value_changed_in_place_is_written_too(sandbox):
    submission = Submission.objects.get(pk=create("storehub").pk)
    submission.details["dealer"] = "Kedai Runcit Ahmad"
    submission.extra_tickets.append({"ticket_id": "T-2"})

    submission.save(update_fields=submission.fields_changed())

    again = refreshed(submission)
    assert again.details["dealer"] == "Kedai Runcit Ahmad"
    assert again.extra_tickets == [{"ticket_id": "T-2"}]


def test_a_claim_that_fails_beside_an_outcome_ends_the_batch_and_the_outcome_stays(
    sandbox, monkeypatch
):
    first, second = create("storehub"), create("storehub")
    claim_next = FORWARDS.claim_next
    claims = []

    def fails_the_second_time():
        claims.append(1)
        if len(claims) == 2:
            raise DatabaseError("the claim beside the first outcome fails")
        return claim_next()

    monkeypatch.setattr(FORWARDS, "claim_next", fails_the_second_time)

    assert submission_forward_due() == 1

    assert refreshed(first).status == Status.SENT
    assert refreshed(second).status == Status.QUEUED  # its task still waits
    assert DBTaskResult.objects.filter(
        task_path=submission_forward_task.module_path,
        status="READY",
        args_kwargs__args__0=second.pk,
    ).exists()


def test_a_batch_leaves_what_is_not_due_and_what_another_worker_holds(sandbox, run_worker):
    first, later, held = (create("storehub") for _ in range(3))
    Submission.objects.filter(pk=later.pk).update(
        status=Status.RETRYING, next_attempt_at=database_now() + timedelta(minutes=10)
    )
    assert FORWARDS.claim(held.pk) is not None  # another worker's, mid-forward

    run_worker(max_tasks=1)

    assert refreshed(first).status == Status.SENT
    assert refreshed(later).status == Status.RETRYING
    assert refreshed(held).status == Status.SENDING
    assert len(sandbox.created("storehub")) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_a_batch_skips_a_request_another_worker_is_claiming_instead_of_waiting(sandbox, run_worker):
    first, locked = create("storehub"), create("storehub")
    claiming, release = threading.Event(), threading.Event()

    def another_worker_claiming() -> None:
        with transaction.atomic():
            Submission.objects.select_for_update().get(pk=locked.pk)
            claiming.set()
            release.wait(30)
        connection.close()

    other = threading.Thread(target=another_worker_claiming)
    other.start()
    try:
        assert claiming.wait(10)
        started = time.monotonic()
        run_worker(max_tasks=1)
        took = time.monotonic() - started
    finally:
        release.set()
        other.join()

    assert took < 10
    assert refreshed(first).status == Status.SENT
    assert refreshed(locked).status == Status.QUEUED
    assert forward_tasks_waiting().filter(args_kwargs__args__0=locked.pk).exists()


def test_the_worker_keeps_one_database_connection_from_task_to_task(sandbox, run_worker):
    burst = [create("storehub") for _ in range(3)]  # a forward, then the e-mails it queues
    database = connection.settings_dict
    connection.close()
    kept, database["CONN_MAX_AGE"] = database["CONN_MAX_AGE"], 0  # the web's, on PostgreSQL
    opened = []

    def count(**kwargs) -> None:
        opened.append(kwargs["connection"].alias)

    connection_created.connect(count)
    try:
        run_worker()
    finally:
        connection_created.disconnect(count)
        database["CONN_MAX_AGE"] = kept
        connection.close()

    assert {refreshed(submission).status for submission in burst} == {Status.SENT}
    assert opened == ["default"]


@pytest.mark.system
def test_two_workers_on_one_queue_never_send_a_submission_twice(sandbox, tmp_path):
    # Some requests fail first, so retries and fresh work interleave between the workers.
    sandbox.script("storehub", "500", "503", "drop", "-10008", "500")
    submissions = [
        submission_create(provider="storehub", data=storehub_data(name=f"Customer {n}"))
        for n in range(24)
    ]
    workers = [start_worker(sandbox, name, tmp_path) for name in ("one", "two")]
    try:
        wait_for(
            lambda: Submission.objects.filter(status=Status.SENT).count() == len(submissions),
            seconds=120,
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=10)

    names = [request["body"]["Ticket"]["Name"] for request in sandbox.created("storehub")]
    # Every request once: none lost, none sent twice (the faults above all came before the
    # provider created anything).
    assert sorted(names) == sorted(f"Customer {n}" for n in range(24))


# --- what a provider may send back ----------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("outcome", ["nul", "nuljson"])
def test_a_provider_answer_holding_a_nul_is_stored_for_staff_and_retried(
    sandbox, provider, outcome
):
    """PostgreSQL holds no NUL character: the answer is stored with it written out, so the
    forward's outcome is written once, not lost and the request sent again and again."""
    sandbox.script(provider, outcome)
    submission = create(provider)

    submission_forward(submission_id=submission.pk)

    submission = refreshed(submission)
    assert submission.status == Status.RETRYING
    assert submission.last_error_class == ErrorClass.UNKNOWN_OUTCOME
    [call] = submission.calls.filter(kind=ProviderCall.Kind.TICKET)
    assert "Gateway\\u0000says hello" in call.response


def test_a_ticket_holding_a_nul_is_the_customers_number(sandbox):
    sandbox.script("storehub", "success_nul")
    submission = create("storehub")

    submission_forward(submission_id=submission.pk)

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.provider_ticket["Status"] == "Open\\u0000"
    assert not submission.possible_duplicate
    assert len(sandbox.created("storehub")) == 1
