"""``/metrics``: delivery figures for an operator's Prometheus, refused to everyone else."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.models import OutgoingEmail, Submission, WhatsAppMessage

TOKEN = "a-scrape-token-of-some-length-0123456789"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def run() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        samples = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
        return samples

    return run


@pytest.mark.django_db(transaction=True)
def test_a_scrape_reads_the_figures_of_a_real_run(scrape, sandbox, settings, run_worker):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    for _ in range(2):
        submission_create(provider="storehub", data=storehub_data())
    run_worker()
    sandbox.script("storehub", "500")
    submission_create(provider="storehub", data=storehub_data())
    run_worker()
    waiting = submission_create(provider="storehub", data=storehub_data())
    Submission.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    samples = scrape()

    def value(name, **labels):
        return samples[name, tuple(sorted(labels.items()))]

    assert value("portal_submissions", provider="storehub", status="sent") == 2
    assert value("portal_submissions", provider="storehub", status="failed") == 1
    assert value("portal_queue_depth", provider="storehub") == 1
    assert value("portal_queue_depth", provider="onecloud") == 0
    assert 300 <= value("portal_queue_oldest_waiting_seconds", provider="storehub") < 400
    assert value("portal_tickets_last_day", provider="storehub") == 2
    p50 = value("portal_time_to_ticket_seconds", provider="storehub", quantile="0.5")
    p95 = value("portal_time_to_ticket_seconds", provider="storehub", quantile="0.95")
    assert 0 <= p50 <= p95 < 60
    calls = {
        labels: count
        for (name, labels), count in samples.items()
        if name == "portal_provider_calls_last_hour"
    }
    by_class = {}
    for labels, count in calls.items():
        error_class = dict(labels)["error_class"]
        by_class[error_class] = by_class.get(error_class, 0) + count
    assert by_class["transient"] == 1
    assert by_class["success"] >= 2
    assert value("portal_needs_attention") == 1
    # Every e-mail of the run went out.
    assert value("portal_emails_not_sent", state="queued") == 0
    assert value("portal_email_oldest_waiting_seconds") == 0


@pytest.mark.django_db
def test_e_mails_waiting_and_given_up_are_counted(scrape):
    now = timezone.now()
    for state, minutes_ago in (("queued", 10), ("queued", 1), ("failed", 60), ("sent", 120)):
        email = OutgoingEmail.objects.create(
            kind="receipt", to="a@example.my", language="ms", state=state
        )
        OutgoingEmail.objects.filter(pk=email.pk).update(
            created_at=now - timedelta(minutes=minutes_ago)
        )

    samples = scrape()

    assert samples["portal_emails_not_sent", (("state", "queued"),)] == 2
    assert samples["portal_emails_not_sent", (("state", "failed"),)] == 1
    assert 600 <= samples["portal_email_oldest_waiting_seconds", ()] < 700


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"bearer{TOKEN}"],
)
def test_the_public_is_refused(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"portal_" not in response.content


@pytest.mark.django_db
def test_without_a_token_set_there_is_no_endpoint(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_a_scraper_calling_by_address_over_http_is_answered(client, settings):
    """Like /healthz: before ALLOWED_HOSTS and the HTTPS redirect."""
    settings.METRICS_TOKEN = TOKEN
    settings.ALLOWED_HOSTS = ["portal.example.my"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get(
        "/metrics", HTTP_HOST="10.0.0.5:8000", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )

    assert response.status_code == 200


@pytest.mark.django_db
def test_whatsapp_messages_waiting_held_and_given_up_are_counted(scrape):
    submission = Submission.objects.create(provider="storehub", name="Ahmad", phone="60123456789")
    for state in ("queued", "held", "held", "failed", "read"):
        WhatsAppMessage.objects.create(
            submission=submission,
            kind="receipt",
            to="60123456789",
            language="ms",
            template="portal_receipt",
            state=state,
        )

    samples = scrape()

    assert samples["portal_whatsapp_messages_not_sent", (("state", "queued"),)] == 1
    assert samples["portal_whatsapp_messages_not_sent", (("state", "held"),)] == 2
    assert samples["portal_whatsapp_messages_not_sent", (("state", "failed"),)] == 1
