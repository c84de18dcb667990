"""The staff console's detail page: one submission's summary, its customer, its map, and one
timeline of everything that happened to it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.support.console import change_url, correct_url, make, refreshed, run_action
from tests.support.factories import add_attempts, enable_only, onecloud_data, png_upload
from tickets.customer.intake import submission_create
from tickets.models import Correction, ErrorClass, OutgoingEmail, Status


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
    assert page.count('class="event event-call"') == 2
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
    # A first look fills what Django caches once per process (content types), so that the count
    # is the page's own whichever tests this process ran before.
    admin_client.get(change_url(submission))

    with django_assert_max_num_queries(9):
        response = admin_client.get(change_url(submission))

    assert response.text.count('class="event event-call"') == rows


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


@pytest.mark.django_db
def test_the_page_leads_with_who_what_where_status_and_ticket(admin_client):
    submission = make(
        status=Status.SENT,
        issue="Receipt printer not printing",
        ticket_id="1000",
        case_number="STOREHUB1000-CA228430",
    )
    add_attempts(submission, 1)

    page = admin_client.get(change_url(submission)).content.decode()

    summary = page[page.index('class="request-summary"') : page.index('class="console-timeline"')]
    for fact in (
        "Ahmad Ibrahim",
        "Receipt printer not printing",
        "StoreHub",
        "status-sent",
        "STOREHUB1000-CA228430 (#1000)",
    ):
        assert fact in summary
    assert page.index('class="request-summary"') < page.index('class="event event-call"')


@pytest.mark.django_db
def test_one_timeline_holds_everything_that_happened_newest_first(admin_client):
    submission = make(status=Status.FAILED)
    add_attempts(submission, 2)
    run_action(admin_client, "cancel", submission, confirm_cancel="yes", reason="Wrong shop")
    OutgoingEmail.objects.create(
        submission=submission, kind=OutgoingEmail.Kind.RECEIPT, to="a@example.my", language="en"
    )

    page = admin_client.get(change_url(submission)).content.decode()

    timeline = page[page.index('class="console-timeline"') :]
    kinds = re.findall(r'class="event event-(\w+)"', timeline)
    # Two calls, the arrival, the cancel, and two e-mails: the receipt and the closing.
    assert sorted(kinds) == ["call", "call", "email", "email", "staff", "status"]
    times = re.findall(r'<p class="event-head"><time datetime="([^"]+)"', timeline)
    assert times == sorted(times, reverse=True)
    assert "Wrong shop" in timeline
    # Shown once, though the admin's log and the staff history both record a cancel.
    assert timeline.count("Wrong shop") == 1


@pytest.mark.django_db
def test_a_resend_by_staff_shows_in_the_timeline_in_the_readers_language(admin_client):
    failed = make(status=Status.FAILED)

    run_action(admin_client, "resend_now", failed)
    page = admin_client.get(change_url(failed), HTTP_ACCEPT_LANGUAGE="ms").content.decode()

    staff_action = page.split('class="event event-staff"')[1]
    assert "admin" in staff_action
    assert "Dihantar semula oleh kakitangan." in staff_action


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "duplicate", "offered"),
    [
        (Status.SENT, False, set()),
        (Status.FAILED, False, {"resend_now", "cancel"}),
        (Status.SENDING, False, {"cancel"}),
        (Status.SENT, True, {"mark_duplicate_checked"}),
        (Status.CANCELLED, False, {"reopen"}),
        (Status.CANCELLED, True, {"mark_duplicate_checked"}),
    ],
)
def test_the_detail_offers_only_the_actions_that_apply(admin_client, status, duplicate, offered):
    # A cancelled request flagged as a duplicate got a ticket after the cancel: no reopening.
    extra = [{"ticket_id": "1001", "case_number": "", "at": "2026-11-30T10:00:00+00:00"}]
    submission = make(
        status=status, possible_duplicate=duplicate, extra_tickets=extra if duplicate else []
    )

    page = admin_client.get(change_url(submission)).content.decode()

    changing = {"resend_now", "cancel", "reopen", "mark_duplicate_checked"}
    shown = {name for name in changing if f'value="{name}"' in page}
    assert shown == offered


@pytest.mark.django_db
def test_possible_duplicate_warns_only_when_it_is_one(admin_client):
    fine = admin_client.get(change_url(make(status=Status.SENT))).content.decode()
    doubtful = admin_client.get(
        change_url(make(status=Status.SENT, possible_duplicate=True))
    ).content.decode()

    assert "may have reached the provider without an answer" not in fine
    assert "may have reached the provider without an answer" in doubtful


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "staff_words", "customer_words"),
    [
        ("storehub", ["Name", "SMS updates", "Description"], ["Your name", "Describe your issue"]),
        ("onecloud", ["Name", "Description"], ["Full name", "Describe your request"]),
    ],
)
def test_the_detail_and_the_correction_form_use_staff_words(
    admin_client, provider, staff_words, customer_words
):
    submission = make(provider=provider, status=Status.FAILED)

    detail = admin_client.get(change_url(submission)).content.decode()
    correction = admin_client.get(change_url(submission).replace("change/", "correct/"))

    labels = re.findall(r"<dt>([^<]+)</dt>", detail)
    form_labels = [str(field.label) for field in correction.context["form"]]
    for word in staff_words:
        assert word in labels
        assert word in form_labels
    for word in customer_words:
        assert word not in labels
        assert word not in form_labels
