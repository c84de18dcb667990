"""The staff console's list: find the submissions that did not arrive, and what needs someone."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.support.console import changelist, listed_references, make
from tests.support.factories import add_attempts, set_provider_options
from tickets.admin.selectors import submission_staff_summary
from tickets.models import Status, Submission


@pytest.mark.django_db
def test_the_list_shows_status_as_words_age_and_no_contact_details(admin_client):
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
    # How long ago it came in, for an agent to take the oldest first.
    assert 'class="field-waiting_since"><span title=' in page
    # The name tells customers apart; the address and phone stay on the detail page.
    assert "ahmad_ibrahim@gmail.com" not in page
    assert "60123456789" not in page


@pytest.mark.django_db
def test_the_console_is_headed_by_the_operators_name_in_the_staff_language(admin_client):
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ms", follow=True).content.decode()

    assert f'<div id="site-name"><a href="/admin/">{settings.OPERATOR_NAME}</a></div>' in page
    assert "Django" not in page.split("<body", 1)[1].split("</header>", 1)[0]
    assert "Permintaan sokongan" in page  # the app's name, in Malay


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
@pytest.mark.parametrize(
    "term", ["Kedai Runcit", "printer", "runcit maju", "maju print", "Rosak MESIN", "Ali kedai"]
)
def test_the_list_finds_a_request_by_what_the_customer_wrote(admin_client, term):
    # Any order, across the fields, in any case: the shop, the issue, the remark, the name.
    wanted = make(
        name="Ali bin Abu",
        store_name="Kedai Runcit Maju",
        issue="Receipt printer not printing",
        remark="Mesin rosak sejak pagi",
    )
    other = make(store_name="Kopi Corner", issue="Card terminal offline", remark="Tiada rangkaian")

    found = listed_references(changelist(admin_client, q=term))

    assert wanted.reference in found
    assert other.reference not in found


@pytest.mark.django_db
def test_words_of_the_request_match_from_their_start_on_postgresql(admin_client):
    """PostgreSQL searches the request's words by full text: a word typed finds words that begin
    with it, not any run of letters inside one; SQLite matches plain text."""
    wanted = make(store_name="Kedai Runcit Maju", issue="Receipt printer not printing")

    inside_a_word = listed_references(changelist(admin_client, q="uncit"))
    # Full-text operators typed by chance are words apart, not a broken query.
    punctuation = changelist(admin_client, q="printer!! & | maju:* (")

    assert punctuation.status_code == 200
    if connection.vendor == "postgresql":
        assert wanted.reference not in inside_a_word
        assert wanted.reference in listed_references(punctuation)
    else:
        assert wanted.reference in inside_a_word


@pytest.mark.django_db
def test_signing_in_lands_on_the_requests(admin_client):
    home = admin_client.get("/admin/")

    assert home.status_code == 302
    assert home["Location"] == "/admin/tickets/submission/"


def test_the_console_home_still_asks_strangers_to_sign_in(client):
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


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
