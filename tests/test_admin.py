"""The staff console: find the submissions that did not arrive, and rescue them."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import (
    add_attempts,
    enable_only,
    onecloud_data,
    png_upload,
    set_provider_options,
    stored_submission,
    storehub_data,
)
from tickets.admin.forms import correction_initial
from tickets.models import Correction, ErrorClass, Status, Submission
from tickets.selectors import submission_staff_summary
from tickets.services.intake import submission_create
from tickets.services.staff import submission_correct, submission_mark_duplicate_checked

CHANGELIST = "admin:tickets_submission_changelist"
EXPORT = "admin:tickets_submission_export"


# --- helpers ------------------------------------------------------------------------------
def make(provider: str = "storehub", status: str = Status.QUEUED, **overrides) -> Submission:
    """A stored submission, without queueing a forward: the console only reads it."""
    return stored_submission(provider, status=status, **overrides)


def changelist(client, **params):
    return client.get(reverse(CHANGELIST), params)


def listed_references(response) -> set[str]:
    return {submission.reference for submission in response.context["cl"].result_list}


def change_url(submission: Submission) -> str:
    return reverse("admin:tickets_submission_change", args=[submission.pk])


def correct_url(submission: Submission) -> str:
    return reverse("admin:tickets_submission_correct", args=[submission.pk])


def run_action(client, action: str, *submissions: Submission):
    return client.post(
        reverse(CHANGELIST),
        {
            "action": action,
            "_selected_action": [s.pk for s in submissions],
            "index": 0,
            "select_across": 0,
        },
    )


def refreshed(submission: Submission) -> Submission:
    submission.refresh_from_db()
    return submission


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def form_data(submission: Submission, **changes) -> dict:
    """What the correction form posts: every field as shown, with ``changes`` applied."""
    data = {}
    for name, value in {**correction_initial(submission), **changes}.items():
        if value is None:
            data[name] = ""
        elif isinstance(value, bool):
            data[name] = "true" if value else "false"
        else:
            data[name] = str(value)
    return data


@pytest.fixture
def viewer_client(client, django_user_model):
    """A staff member who may only look: the "view submission" permission and nothing else."""
    viewer = django_user_model.objects.create_user(
        username="viewer", password="a-long-test-password", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client.force_login(viewer)
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- the list -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_list_shows_status_as_words_and_masks_the_email(admin_client):
    failed = make(status=Status.FAILED, email="ahmad_ibrahim@gmail.com", forward_count=8)
    sent = make(status=Status.SENT, ticket_id="999", case_number="STOREHUB0999-CA1")

    response = changelist(admin_client)

    assert response.status_code == 200
    page = response.content.decode()
    assert {failed.reference, sent.reference} <= listed_references(response)
    # The status is a word and an icon, not only a colour.
    assert 'class="status-badge status-failed"' in page
    assert "Failed</span>" in page
    assert "STOREHUB0999-CA1 (#999)" in page
    # Enough to tell customers apart, not their whole address or phone.
    assert "a***@gmail.com" in page
    assert "ahmad_ibrahim@gmail.com" not in page
    assert "60123456789" not in page


@pytest.mark.django_db
def test_the_list_filters_by_status_provider_date_and_needs_attention(admin_client):
    failed = make(status=Status.FAILED)
    held = make(status=Status.HELD)
    rejected = make("onecloud", status=Status.REJECTED)
    duplicate = make(status=Status.SENT, possible_duplicate=True)
    fine = make("onecloud", status=Status.SENT)
    old = make(status=Status.SENT)
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    assert listed_references(changelist(admin_client, status__exact="failed")) == {failed.reference}
    assert listed_references(changelist(admin_client, provider__exact="onecloud")) == {
        rejected.reference,
        fine.reference,
    }
    assert listed_references(changelist(admin_client, attention="yes")) == {
        failed.reference,
        held.reference,
        rejected.reference,
        duplicate.reference,
    }
    assert listed_references(changelist(admin_client, attention="duplicate")) == {
        duplicate.reference
    }
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    since = str(midnight - timedelta(days=7))
    recent = listed_references(changelist(admin_client, created_at__gte=since))
    assert old.reference not in recent
    assert fine.reference in recent


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "field"),
    [
        ("REQ-", "reference"),
        ("515090", "ticket_id"),
        ("CA109193B", "case_number"),
        ("siti", "name"),
        ("siti.aminah@example.my", "email"),
        ("+60 19-876 5432", "phone"),
        ("019-876 5432", "phone"),
    ],
)
def test_the_list_is_searchable_by_reference_ticket_name_email_and_phone(admin_client, term, field):
    wanted = make(
        name="Siti Aminah",
        email="siti.aminah@example.my",
        phone="60198765432",
        ticket_id="515090",
        case_number="STOREHUB0999-CA109193B",
        status=Status.SENT,
    )
    other = make(ticket_id="5150901", case_number="STOREHUB1000-CA1", status=Status.SENT)
    if field == "reference":
        term = wanted.reference

    found = listed_references(changelist(admin_client, q=term))

    assert wanted.reference in found
    assert other.reference not in found


@pytest.mark.django_db
def test_the_summary_counts_by_status_for_today_and_the_last_seven_days(admin_client):
    make(status=Status.SENT)
    make(status=Status.FAILED)
    last_week = make(status=Status.SENT)
    last_month = make(status=Status.FAILED)
    Submission.objects.filter(pk=last_week.pk).update(created_at=timezone.now() - timedelta(days=3))
    Submission.objects.filter(pk=last_month.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )

    summary = submission_staff_summary()
    counts = {row.status: (row.today, row.recent) for row in summary.by_status}

    assert counts[Status.SENT] == (1, 2)
    assert counts[Status.FAILED] == (1, 1)
    # An old failure nobody handled still needs someone.
    assert summary.attention.failed == 2
    page = changelist(admin_client).content.decode()
    assert 'class="console-banner" role="alert"' in page
    assert "2 failed" in page


@pytest.mark.django_db
def test_no_banner_when_nothing_needs_attention(admin_client):
    make(status=Status.SENT)

    assert "console-banner" not in changelist(admin_client).content.decode()


@pytest.mark.django_db
def test_a_failing_provider_configuration_is_shown_to_superusers_only(
    admin_client, viewer_client, settings
):
    set_provider_options(settings, "storehub", url="")
    make(status=Status.HELD, last_error="STOREHUB_URL is not set.")

    superuser_page = changelist(admin_client).content.decode()
    viewer_page = changelist(viewer_client).content.decode()

    assert "Provider settings" in superuser_page
    assert "StoreHub</strong>: STOREHUB_URL is not set." in superuser_page
    # Everybody sees that submissions are held; only superusers see the settings.
    assert "1 held" in viewer_page
    assert "Provider settings" not in viewer_page


# --- the detail ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_detail_shows_customer_fields_the_map_and_every_call(admin_client):
    submission = make(
        status=Status.RETRYING,
        latitude=Decimal("3.157300"),
        longitude=Decimal("101.712200"),
        remark="The printer in the back office",
    )
    add_attempts(submission, 2)

    response = admin_client.get(change_url(submission))

    assert response.status_code == 200
    page = response.content.decode()
    for value in ("Ahmad Ibrahim", "60123456789", "ahmad_ibrahim@gmail.com", "KL Branch"):
        assert value in page
    assert "The printer in the back office" in page
    # Labels and choices as the provider's form words them, not stored codes.
    assert "Shop name" in page
    assert "iOS hardware installation (on-site deployment) (1)" in page
    # The map: data attributes for the static script, a link to a map site.
    assert 'id="submission-map"' in page
    assert 'data-lat="3.157300" data-lng="101.712200"' in page
    assert 'data-icon-path="/static/vendor/leaflet/images/"' in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert "/static/tickets/admin-submission-map.js" in page
    assert (
        "https://www.openstreetmap.org/?mlat=3.157300&amp;mlon=101.712200"
        "#map=17/3.157300/101.712200"
    ) in page
    # Every call: request (secrets already removed), response, error class, next retry.
    assert page.count('class="attempt"') == 2
    assert "&quot;Authorization&quot;: &quot;***&quot;" in page
    assert "Unexpected error" in page
    assert "error-class-transient" in page
    assert "Next retry" in page
    # Nothing inline for the strict Content-Security-Policy to refuse.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert 'style="' not in page


@pytest.mark.django_db
def test_the_detail_is_read_only_for_everyone(admin_client):
    submission = make(status=Status.FAILED)

    page = admin_client.get(change_url(submission)).content.decode()
    response = admin_client.post(change_url(submission), {"name": "Changed"})

    assert 'name="name"' not in page
    assert response.status_code == 403
    assert refreshed(submission).name == "Ahmad Ibrahim"


@pytest.mark.django_db
def test_attachments_download_through_the_admin_only(admin_client, client, media):
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    [attachment] = submission.attachments.all()
    download = reverse("admin:tickets_submission_attachment", args=[submission.pk, attachment.pk])
    other = make("onecloud")

    page = admin_client.get(change_url(submission)).content.decode()
    response = admin_client.get(download)

    assert download in page
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="brochure.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == attachment.file.open("rb").read()
    # Not through another submission's address, and never as a public media URL.
    wrong = reverse("admin:tickets_submission_attachment", args=[other.pk, attachment.pk])
    assert admin_client.get(wrong).status_code == 404
    assert client.get(f"/media/{attachment.file.name}").status_code == 404
    assert admin_client.get(f"/media/{attachment.file.name}").status_code == 404


# --- actions ------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_resend_moves_a_failed_submission_to_sent(admin_client, sandbox, settings, run_worker):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    sandbox.script("storehub", "500")
    submission = submission_create(provider="storehub", data=storehub_data())
    run_worker()
    assert refreshed(submission).status == Status.FAILED

    response = run_action(admin_client, "resend_now", submission)
    assert response.status_code == 302
    assert refreshed(submission).status == Status.QUEUED
    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.ticket_id
    assert len(sandbox.created("storehub")) == 1


@pytest.mark.django_db
def test_resend_skips_a_sent_submission_and_says_so(admin_client):
    sent = make(status=Status.SENT)

    response = run_action(admin_client, "resend_now", sent)

    assert refreshed(sent).status == Status.SENT
    shown = [str(m) for m in response.wsgi_request._messages]
    assert "0 submissions queued to send now." in shown
    assert any("1 skipped" in message for message in shown)


@pytest.mark.django_db
def test_cancel_stops_a_submission_that_is_not_sent(admin_client):
    retrying = make(status=Status.RETRYING)
    sent = make(status=Status.SENT)

    run_action(admin_client, "cancel", retrying, sent)

    assert refreshed(retrying).status == Status.CANCELLED
    assert refreshed(sent).status == Status.SENT


@pytest.mark.django_db
def test_resend_from_the_detail_page(admin_client):
    failed = make(status=Status.FAILED)

    admin_client.post(
        change_url(failed),
        {"CHANGE_FORM-action": "resend_now", "_selected_action": [failed.pk], "index": 0},
    )

    assert refreshed(failed).status == Status.QUEUED


@pytest.mark.django_db
def test_a_checked_duplicate_leaves_the_attention_list_with_a_record(admin_client, admin_user):
    duplicate = make(status=Status.SENT, possible_duplicate=True)

    run_action(admin_client, "mark_duplicate_checked", duplicate)

    assert not refreshed(duplicate).possible_duplicate
    correction = Correction.objects.get(submission=duplicate)
    assert correction.changes == {"possible_duplicate": [True, False]}
    assert correction.changed_by == admin_user
    assert listed_references(changelist(admin_client, attention="yes")) == set()


@pytest.mark.django_db(transaction=True)
def test_a_rejected_submission_is_corrected_recorded_and_resent(
    admin_client, admin_user, sandbox, run_worker
):
    sandbox.script("storehub", "-10000")
    submission = submission_create(provider="storehub", data=storehub_data())
    run_worker()
    submission = refreshed(submission)
    assert submission.status == Status.REJECTED

    form_page = admin_client.get(correct_url(submission)).content.decode()
    assert 'name="phone"' in form_page
    assert 'name="subject"' not in form_page  # a OneCloud field
    assert "Invalid parameter" in form_page  # why the provider refused it
    response = admin_client.post(
        correct_url(submission),
        {**form_data(submission, phone="012-999 8888"), "note": "Customer gave a wrong number."},
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(submission)
    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.phone == "60129998888"
    correction = Correction.objects.get(submission=submission)
    assert correction.changes == {"phone": ["60123456789", "60129998888"]}
    assert correction.changed_by == admin_user
    assert correction.note == "Customer gave a wrong number."
    assert sandbox.created("storehub")[0]["body"]["Ticket"]["Phone"] == "60129998888"
    assert "Customer gave a wrong number." in admin_client.get(change_url(submission)).text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "change", "error"),
    [
        ("onecloud", {"email": "not-an-email"}, "Enter a valid email address."),
        ("onecloud", {"latitude": "95"}, "Latitude must be between -90 and 90 degrees."),
        ("storehub", {"phone": "call me"}, "Enter a phone number such as"),
        ("storehub", {"state": "Atlantis"}, "Select a valid choice."),
        ("storehub", {"name": ""}, "This field is required."),
        # The limits are the provider form's own: StoreHub takes an e-mail of 100 at most.
        ("storehub", {"email": "a" * 92 + "@kedai.my"}, "at most 100 characters"),
        ("storehub", {"service_id": "4"}, "Select a valid choice."),
        ("onecloud", {"subject": "s" * 201}, "at most 200 characters"),
    ],
)
def test_the_correction_form_shows_errors_and_changes_nothing(
    admin_client, provider, change, error
):
    rejected = make(provider, status=Status.REJECTED)
    before = correction_initial(rejected)

    response = admin_client.post(
        correct_url(rejected), {**form_data(rejected, **change), "note": "typo"}
    )

    assert response.status_code == 200
    assert error in response.text
    assert correction_initial(refreshed(rejected)) == before
    assert not Correction.objects.exists()


@pytest.mark.django_db
def test_a_sent_submission_cannot_be_corrected(admin_client):
    sent = make(status=Status.SENT)

    detail = admin_client.get(change_url(sent)).content.decode()
    response = admin_client.post(
        correct_url(sent), {**form_data(sent, name="Someone Else"), "note": "no"}
    )

    assert correct_url(sent) not in detail
    assert response.status_code == 302
    assert refreshed(sent).name == "Ahmad Ibrahim"


# --- the correction service ---------------------------------------------------------------
@pytest.mark.django_db
def test_submission_correct_records_only_what_changed_and_queues_it(admin_user):
    rejected = make(status=Status.REJECTED, forward_count=1)

    corrected = submission_correct(
        submission=rejected,
        changes={"address": "1 Jalan Baru", "state": "Kuala Lumpur", "latitude": "3.1"},
        note="Address was incomplete.",
        user=admin_user,
    )

    assert corrected.status == Status.QUEUED
    assert corrected.forward_count == 0
    correction = corrected.corrections.get()
    assert correction.changes == {
        "address": ["23, Jalan Ampang, Taman KLCC, 55000 KL", "1 Jalan Baru"],
        "latitude": ["3.157300", "3.1"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "status", "changes", "message"),
    [
        ("storehub", Status.SENT, {"name": "X"}, "cannot be corrected"),
        ("storehub", Status.SENDING, {"name": "X"}, "cannot be corrected"),
        ("storehub", Status.CANCELLED, {"name": "X"}, "cannot be corrected"),
        ("storehub", Status.REJECTED, {"subject": "X"}, "not used by StoreHub: subject"),
        ("storehub", Status.REJECTED, {"status": "sent"}, "not used by StoreHub: status"),
        ("storehub", Status.REJECTED, {"name": "Ahmad Ibrahim"}, "Nothing was changed"),
        ("storehub", Status.REJECTED, {"name": ""}, "Missing required fields: name"),
        ("storehub", Status.REJECTED, {"latitude": None}, "Missing required fields: lat"),
        ("onecloud", Status.REJECTED, {"email": "not-an-email"}, "email"),
        ("onecloud", Status.REJECTED, {"latitude": None}, "both latitude and longitude"),
        ("onecloud", Status.REJECTED, {"latitude": "north"}, "must be a decimal number"),
    ],
)
def test_submission_correct_refuses_what_it_must(admin_user, provider, status, changes, message):
    submission = make(provider, status=status)
    name = submission.name

    with pytest.raises(ValidationError, match=message):
        submission_correct(submission=submission, changes=changes, note="", user=admin_user)

    assert refreshed(submission).status == status
    assert refreshed(submission).name == name
    assert not Correction.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_check_is_done_once(admin_user):
    submission = make(status=Status.SENT, possible_duplicate=True)

    assert submission_mark_duplicate_checked(submission=submission, user=admin_user)
    assert not submission_mark_duplicate_checked(submission=submission, user=admin_user)
    assert Correction.objects.count() == 1


# --- CSV export ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_export_streams_the_filtered_list_as_csv(admin_client):
    failed = make(status=Status.FAILED, name="Ahmad Ibrahim", ticket_id="")
    make(status=Status.SENT, ticket_id="1")
    make("onecloud", status=Status.FAILED)

    response = admin_client.get(
        reverse(EXPORT), {"status__exact": "failed", "provider__exact": "storehub"}
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="submissions-')
    header, *rows = csv_rows(response)
    assert header[:4] == ["reference", "created_at", "provider", "status"]
    assert [row[0] for row in rows] == [failed.reference]
    row = dict(zip(header, rows[0], strict=True))
    assert row["status"] == "failed"
    assert row["provider"] == "StoreHub"
    assert row["email"] == "ahmad_ibrahim@gmail.com"
    # Every provider form's own fields follow, empty where the provider does not ask for them.
    assert (row["issue"], row["service_id"], row["receive_sms"]) == ("*Onsite Support", "1", "yes")
    assert row["subject"] == ""


@pytest.mark.django_db
def test_the_export_button_carries_the_filters_and_search(admin_client):
    page = changelist(admin_client, status__exact="failed", q="Ahmad").content.decode()

    assert f'href="{reverse(EXPORT)}?q=Ahmad&amp;status__exact=failed"' in page


@pytest.mark.django_db
@pytest.mark.parametrize("formula", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"])
def test_the_export_defuses_spreadsheet_formulas(admin_client, formula):
    make(name=formula)

    header, row = csv_rows(admin_client.get(reverse(EXPORT)))

    assert dict(zip(header, row, strict=True))["name"] == "'" + formula


@pytest.mark.django_db
def test_the_export_action_exports_the_selected_rows(admin_client):
    chosen, _other = make(), make()

    response = run_action(admin_client, "export_selected_csv", chosen)

    assert [row[0] for row in csv_rows(response)[1:]] == [chosen.reference]


# --- permissions --------------------------------------------------------------------------
@pytest.mark.django_db
def test_view_only_staff_can_look_but_not_resend_cancel_or_correct(viewer_client):
    failed = make(status=Status.FAILED)
    tasks_before = DBTaskResult.objects.count()

    listing = changelist(viewer_client)
    detail = viewer_client.get(change_url(failed))

    assert listing.status_code == 200
    assert detail.status_code == 200
    choices = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "export_selected_csv" in choices
    assert {"resend_now", "cancel", "mark_duplicate_checked"}.isdisjoint(choices)
    assert 'value="resend_now"' not in listing.text
    assert 'value="resend_now"' not in detail.text
    assert correct_url(failed) not in detail.text
    # Refused on the server, not only hidden.
    run_action(viewer_client, "resend_now", failed)
    run_action(viewer_client, "cancel", failed)
    viewer_client.post(
        change_url(failed),
        {"CHANGE_FORM-action": "resend_now", "_selected_action": [failed.pk], "index": 0},
    )
    assert viewer_client.get(correct_url(failed)).status_code == 403
    assert (
        viewer_client.post(
            correct_url(failed), {**form_data(failed, name="X"), "note": "x"}
        ).status_code
        == 403
    )
    assert refreshed(failed).status == Status.FAILED
    assert refreshed(failed).name == "Ahmad Ibrahim"
    assert DBTaskResult.objects.count() == tasks_before
    # Looking includes exporting.
    assert viewer_client.get(reverse(EXPORT)).status_code == 200


@pytest.mark.django_db
def test_staff_without_the_view_permission_see_nothing(client, django_user_model, media):
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    [attachment] = submission.attachments.all()
    stranger = django_user_model.objects.create_user(username="stranger", is_staff=True)
    client.force_login(stranger)

    for url in (
        reverse(CHANGELIST),
        change_url(submission),
        reverse(EXPORT),
        reverse("admin:tickets_submission_attachment", args=[submission.pk, attachment.pk]),
    ):
        assert client.get(url).status_code == 403, url


@pytest.mark.django_db
@pytest.mark.parametrize("logged_in_customer", [False, True])
def test_anonymous_or_non_staff_users_reach_no_admin_page_or_file(
    client, django_user_model, media, logged_in_customer
):
    if logged_in_customer:
        client.force_login(django_user_model.objects.create_user(username="customer"))
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    [attachment] = submission.attachments.all()
    login = reverse("admin:login")

    for url in (
        reverse("admin:index"),
        reverse(CHANGELIST),
        change_url(submission),
        correct_url(submission),
        reverse(EXPORT),
        reverse("admin:tickets_submission_attachment", args=[submission.pk, attachment.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
    assert client.get(f"/media/{attachment.file.name}").status_code == 404
    assert run_action(client, "resend_now", submission).status_code == 302
    assert refreshed(submission).status == Status.QUEUED


# --- bounded queries ----------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 60])
def test_the_list_costs_the_same_queries_for_5_or_60_rows(
    admin_client, django_assert_max_num_queries, rows
):
    for i in range(rows):
        submission = make(status=Status.FAILED if i % 2 else Status.SENT)
        add_attempts(submission, 2)

    with django_assert_max_num_queries(7):
        response = changelist(admin_client, q="Ahmad", attention="yes")

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == min(rows // 2, 50)


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 60])
def test_the_detail_costs_the_same_queries_for_5_or_60_attempts(
    admin_client, django_assert_max_num_queries, rows, media
):
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    add_attempts(submission, rows)
    Correction.objects.create(submission=submission, changes={"name": ["a", "b"]}, note="n")

    with django_assert_max_num_queries(8):
        response = admin_client.get(change_url(submission))

    assert response.text.count('class="attempt"') == rows


@pytest.mark.django_db
def test_a_provider_taken_out_of_the_settings_leaves_its_requests_readable(
    admin_client, client, settings
):
    submission = make("onecloud", status=Status.SENT, ticket_id="515091")
    enable_only(settings, "storehub")

    detail = admin_client.get(change_url(submission))
    status = client.get(reverse("tickets:status", args=[submission.public_id]))

    assert detail.status_code == 200
    assert "Subscribe to onebox" in detail.text
    assert status.status_code == 200
    assert "515091" in status.text
    assert admin_client.get(correct_url(submission)).status_code == 302


def test_the_detail_says_when_the_next_try_is_and_why(admin_client):
    waiting = make(
        status=Status.RETRYING,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        last_error_class=ErrorClass.RATE_LIMITED,
        last_error="StoreHub error -10004: Too many request",
    )

    page = admin_client.get(change_url(waiting)).content.decode()

    assert "next try" in page.lower()
    assert "Rate-limited or over quota: StoreHub error -10004: Too many request" in page


def test_the_detail_shows_a_duplicate_ticket_at_the_provider(admin_client):
    sent = make(
        status=Status.SENT,
        ticket_id="1000",
        possible_duplicate=True,
        extra_tickets=[{"ticket_id": "1001", "case_number": "", "at": "2026-11-24T10:00:00"}],
    )

    page = admin_client.get(change_url(sent)).content.decode()

    assert "duplicate ticket at the provider" in page.lower()
    assert "1001 (besides 1000)" in page
