"""Delivery you can bet on: fencing, unknown outcomes, a queue that fails, the sweep, the outbound
path. Each test drives the real forwarding service against the loopback sandbox."""

import http.server
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import (
    FORM_POSTS,
    onecloud_data,
    set_provider_options,
    storehub_data,
    time_zone_at_noon,
)
from tests.workers import start_worker, wait_for
from tickets.clock import database_now
from tickets.forms.base import issue_form_token
from tickets.models import ErrorClass, ProviderCall, Status, Submission
from tickets.services import recovery
from tickets.services.forward import submission_forward
from tickets.services.intake import submission_create
from tickets.services.recovery import outbox_sweep
from tickets.services.scheduling import sweep_ensure_scheduled
from tickets.tasks import outbox_sweep as outbox_sweep_task

pytestmark = pytest.mark.django_db(transaction=True)

DATA = {"storehub": storehub_data, "onecloud": onecloud_data}
SWEEP_TASK = "tickets.tasks.outbox_sweep"


def refreshed(submission: Submission) -> Submission:
    return Submission.objects.get(pk=submission.pk)


def waiting_sweeps():
    return DBTaskResult.objects.filter(task_path=SWEEP_TASK, status="READY")


# --- fencing ------------------------------------------------------------------------------
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
@pytest.mark.parametrize("provider", ["storehub", "onecloud"])
def test_a_ticket_created_then_the_answer_lost_is_flagged_and_the_customer_gets_a_number(
    sandbox, run_worker, client, provider
):
    sandbox.script(provider, "create_drop")
    submission = submission_create(provider=provider, data=DATA[provider]())

    run_worker()

    submission = refreshed(submission)
    lost, delivered = sandbox.created(provider)
    assert submission.status == Status.SENT
    assert submission.possible_duplicate
    assert submission.calls.filter(error_class=ErrorClass.UNKNOWN_OUTCOME).exists()
    state = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()
    assert state["ticket_id"] == submission.ticket_id != ""
    assert lost["ticket"] != delivered["ticket"]


@pytest.mark.parametrize("provider", ["storehub", "onecloud"])
@pytest.mark.parametrize("gateway_status", ["502", "504"])
def test_a_gateway_error_is_an_unknown_outcome(sandbox, run_worker, provider, gateway_status):
    sandbox.script(provider, gateway_status)
    submission = submission_create(provider=provider, data=DATA[provider]())

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.possible_duplicate
    assert submission.calls.filter(
        error_class=ErrorClass.UNKNOWN_OUTCOME, http_status=int(gateway_status)
    ).exists()


# --- nothing depends on a lucky enqueue ---------------------------------------------------
def test_a_queue_that_fails_after_the_commit_still_shows_the_status_page_and_delivers(
    sandbox, run_worker, client, settings
):
    settings.FORM_RATE_LIMIT = 1000
    working_queue = settings.TASKS
    settings.TASKS = {"default": {"BACKEND": "tests.task_backends.UnreachableQueue"}}

    response = client.post(
        reverse("tickets:form", args=["storehub"]),
        {**FORM_POSTS["storehub"], "form_token": issue_form_token()},
    )

    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:status", args=[submission.public_id])
    assert client.get(response["Location"]).status_code == 200
    assert submission.status == Status.QUEUED

    # The queue is back. The sweep finds the request whose task never made it.
    settings.TASKS = working_queue
    settings.FORWARD_SWEEP_GRACE_SECONDS = 0
    call_command("outbox_sweep", verbosity=0)
    run_worker()

    assert refreshed(submission).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1


# --- the sweep ----------------------------------------------------------------------------
def test_the_sweep_keeps_exactly_one_schedule_however_often_it_is_asked(sandbox):
    for _ in range(3):
        submission_create(provider="storehub", data=storehub_data())
    sweep_ensure_scheduled()
    call_command("outbox_sweep", verbosity=0)

    assert waiting_sweeps().count() == 1


def test_a_sweep_scheduled_in_a_transaction_that_rolls_back_is_scheduled_again(sandbox, run_worker):
    from django.db import transaction

    submission = submission_create(provider="storehub", data=storehub_data())
    with pytest.raises(RuntimeError), transaction.atomic():
        submission_forward(submission_id=submission.pk)
        assert waiting_sweeps().count() == 1
        raise RuntimeError("the transaction fails: the forward's claim and the sweep go")
    assert waiting_sweeps().count() == 0

    # Nothing believes a sweep waits: the next piece of work schedules one.
    run_worker()
    assert waiting_sweeps().count() == 1


def test_a_sweep_run_that_fails_leaves_its_successor_scheduled(
    sandbox, run_worker, monkeypatch, settings
):
    settings.FORWARD_SWEEP_INTERVAL_SECONDS = 0
    sweep_ensure_scheduled()

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away mid-sweep")

    monkeypatch.setattr(recovery, "_recover_expired_leases", broken)
    run_worker(max_tasks=1)

    assert DBTaskResult.objects.filter(task_path=SWEEP_TASK, status="FAILED").count() == 1
    assert waiting_sweeps().count() == 1


def test_a_killed_sweep_is_replaced_and_extra_sweeps_are_removed(sandbox, run_worker, settings):
    settings.FORWARD_SWEEP_INTERVAL_SECONDS = 0
    sweep_ensure_scheduled()
    # A worker killed while it ran the sweep leaves the task "running" for ever, and nothing
    # waiting. The next piece of work a worker claims (or cron's outbox_sweep) puts one back.
    waiting_sweeps().update(status="RUNNING")
    assert waiting_sweeps().count() == 0
    submission_create(provider="storehub", data=storehub_data())
    run_worker(max_tasks=1)
    assert waiting_sweeps().count() == 1

    # Older versions could leave several waiting; a sweep run brings them back to one.
    for _ in range(3):
        outbox_sweep_task.enqueue()
    assert waiting_sweeps().count() == 4
    run_worker(max_tasks=2)

    assert waiting_sweeps().count() == 1


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite serialises every writing transaction"
)
def test_several_workers_asking_at_once_schedule_one_sweep():
    barrier = threading.Barrier(4)

    def ask():
        barrier.wait()
        try:
            sweep_ensure_scheduled()
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert waiting_sweeps().count() == 1


def test_the_sweep_requeues_the_oldest_requests_first(sandbox, settings, monkeypatch):
    settings.FORWARD_SWEEP_GRACE_SECONDS = 0
    created = [submission_create(provider="storehub", data=storehub_data()) for _ in range(3)]
    DBTaskResult.objects.filter(task_path="tickets.tasks.submission_forward").delete()
    Submission.objects.filter(pk=created[0].pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    monkeypatch.setattr(recovery, "SWEEP_BATCH", 1)

    assert outbox_sweep()["forwards_requeued"] == 1

    [queued] = DBTaskResult.objects.filter(task_path="tickets.tasks.submission_forward")
    assert queued.args_kwargs["args"] == [created[0].pk]


# --- the outbound path --------------------------------------------------------------------
class Watcher(http.server.BaseHTTPRequestHandler):
    """A loopback server standing for an internal address: it counts who reaches it."""

    hits: list[str] = []

    def do_GET(self):
        Watcher.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"secret")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def internal_address():
    Watcher.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Watcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/latest/meta-data/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("provider", ["storehub", "onecloud"])
def test_a_redirect_is_refused_and_nothing_is_fetched(
    sandbox, run_worker, internal_address, provider
):
    sandbox.script(provider, f"redirect:{internal_address}")
    submission = submission_create(provider=provider, data=DATA[provider]())

    run_worker()

    submission = refreshed(submission)
    assert Watcher.hits == []
    assert submission.status == Status.HELD
    assert submission.last_error_class == ErrorClass.CONFIGURATION
    assert "redirects are never followed" in submission.last_error
    call = submission.calls.filter(kind=ProviderCall.Kind.TICKET).get()
    assert call.http_status == 307
    assert "secret" not in call.response


def test_credentials_in_a_provider_url_are_never_stored(sandbox, settings, run_worker):
    url = settings.TICKET_PROVIDERS["storehub"]["OPTIONS"]["url"]
    with_credentials = url.replace("http://", "http://portal:hunter2@")
    set_provider_options(settings, "storehub", url=with_credentials)
    sandbox.script("storehub", "500")
    submission = submission_create(provider="storehub", data=storehub_data())

    run_worker()

    calls = list(refreshed(submission).calls.values_list("url", "message", "response"))
    assert len(calls) == 2
    for stored in calls:
        assert "hunter2" not in str(stored)
    assert calls[0][0] == url + "/api/ticket/create"


def test_a_onecloud_token_refused_with_a_401_is_dropped_and_a_new_one_fetched(
    sandbox, run_worker, settings
):
    settings.FORWARD_CONFIG_RETRY_SECONDS = 0
    sandbox.script("onecloud", "401")
    submission = submission_create(provider="onecloud", data=onecloud_data())

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    # The first forward's token was refused; the next forward fetched another.
    assert sandbox.endpoints("onecloud").tokens_issued == 2
    assert submission.calls.filter(kind=ProviderCall.Kind.TOKEN).count() == 2


def test_an_over_quota_401_keeps_the_token(sandbox, run_worker, settings):
    set_provider_options(settings, "onecloud", time_zone=time_zone_at_noon())
    sandbox.script("onecloud", "quota")
    first = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()
    assert refreshed(first).status == Status.RETRYING

    second = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()

    assert refreshed(second).status == Status.SENT
    assert sandbox.endpoints("onecloud").tokens_issued == 1


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


# --- two real workers ---------------------------------------------------------------------
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


# --- one form token, two contents ---------------------------------------------------------
def test_one_form_token_with_two_contents_is_two_requests_both_forwarded(sandbox, run_worker):
    token = uuid.uuid4()
    first = submission_create(provider="storehub", data=storehub_data(), form_token=token)
    again = submission_create(provider="storehub", data=storehub_data(), form_token=token)
    edited = submission_create(
        provider="storehub", data=storehub_data(issue="*Printer jam"), form_token=token
    )

    run_worker()

    assert again.pk == first.pk != edited.pk
    assert Submission.objects.count() == 2
    assert set(Submission.objects.values_list("status", flat=True)) == {Status.SENT}
    issues = sorted(request["body"]["Ticket"]["Issue"] for request in sandbox.created("storehub"))
    assert issues == ["*Onsite Support", "*Printer jam"]
