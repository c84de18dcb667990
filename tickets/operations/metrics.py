"""``/metrics``: delivery figures for Prometheus, for operators only.

Read from the database at each scrape, not counted in memory: the web runs as several processes
(and machines), and the database is where every one of them writes. Every figure is a gauge of
now or of a window that slides (the last hour, the last day), so that a purge of old requests
never looks like a counter going backwards.

The endpoint exists only when ``METRICS_TOKEN`` is set, and answers only to
``Authorization: Bearer <METRICS_TOKEN>``; anyone else gets 401, and without the setting every
caller gets 404. Like /healthz it is answered before host validation and the HTTPS redirect
(``HealthCheckMiddleware``): scrapers call a machine by its address.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tickets.delivery import reports
from tickets.delivery.reports import submissions_needing_attention
from tickets.models import OutgoingEmail, ProviderCall, Submission, WhatsAppMessage
from tickets.operations.health import CHECKS, health_report
from tickets.operations.operator import operator_token_given
from tickets.providers import enabled_providers

QUANTILES = (50, 95)
WHATSAPP_NOT_SENT = (
    WhatsAppMessage.State.QUEUED,
    WhatsAppMessage.State.HELD,
    WhatsAppMessage.State.FAILED,
    WhatsAppMessage.State.WITHHELD,
)


class DeliveryCollector:
    """The figures an operator alerts on: what is stored, what waits and for how long, how
    long tickets take, and how calls to the providers and e-mails fare."""

    def collect(self):
        now = timezone.now()

        stored = GaugeMetricFamily(
            "portal_submissions",
            "Requests stored, by provider and delivery status.",
            labels=["provider", "status"],
        )
        rows = Submission.objects.values_list("provider", "status").annotate(n=Count("pk"))
        for provider, status, count in rows.order_by():
            stored.add_metric([provider, status], count)
        yield stored

        depth = GaugeMetricFamily(
            "portal_queue_depth",
            "Requests not delivered yet (queued, on the wire, retrying, held), by provider.",
            labels=["provider"],
        )
        oldest = GaugeMetricFamily(
            "portal_queue_oldest_waiting_seconds",
            "How long the oldest request not delivered yet has waited, by provider.",
            labels=["provider"],
        )
        queue = reports.queue_now(now=now)
        for provider in self._providers(queue):
            waiting, seconds = queue.get(provider, (0, None))
            depth.add_metric([provider], waiting)
            oldest.add_metric([provider], seconds or 0.0)
        yield depth
        yield oldest

        to_ticket = GaugeMetricFamily(
            "portal_time_to_ticket_seconds",
            "Seconds from request to ticket of the requests made in the last 24 hours, by "
            "provider, as quantiles (nearest rank).",
            labels=["provider", "quantile"],
        )
        tickets = GaugeMetricFamily(
            "portal_tickets_last_day",
            "Requests made in the last 24 hours that have their ticket, by provider.",
            labels=["provider"],
        )
        times = reports.times_to_ticket(since=now - timedelta(days=1))
        for provider in self._providers(times):
            seconds = times.get(provider, [])
            tickets.add_metric([provider], len(seconds))
            for q in QUANTILES:
                value = reports.percentile(seconds, q)
                if value is not None:
                    to_ticket.add_metric([provider, f"{q / 100:g}"], value)
        yield to_ticket
        yield tickets

        calls = GaugeMetricFamily(
            "portal_provider_calls_last_hour",
            "Calls to the providers in the last hour, by provider, kind and result class.",
            labels=["provider", "kind", "error_class"],
        )
        rows = (
            ProviderCall.objects.filter(started_at__gte=now - timedelta(hours=1))
            .values_list("submission__provider", "kind", "error_class")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for provider, kind, error_class, count in rows:
            calls.add_metric([provider, kind, error_class], count)
        yield calls

        emails = GaugeMetricFamily(
            "portal_emails_not_sent",
            "E-mails not sent: waiting (queued), given up (failed), or withheld from a recipient "
            "who has not confirmed (withheld).",
            labels=["state"],
        )
        email_oldest = GaugeMetricFamily(
            "portal_email_oldest_waiting_seconds",
            "How long the oldest e-mail waiting to be sent has waited.",
        )
        rows = (
            OutgoingEmail.objects.exclude(state=OutgoingEmail.State.SENT)
            .values_list("state")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
            .order_by()
        )
        by_state = {state: (count, first) for state, count, first in rows}
        for state in (
            OutgoingEmail.State.QUEUED,
            OutgoingEmail.State.FAILED,
            OutgoingEmail.State.WITHHELD,
        ):
            emails.add_metric([state], by_state.get(state, (0, None))[0])
        first_queued = by_state.get(OutgoingEmail.State.QUEUED, (0, None))[1]
        email_oldest.add_metric([], (now - first_queued).total_seconds() if first_queued else 0.0)
        yield emails
        yield email_oldest

        whatsapp = GaugeMetricFamily(
            "portal_whatsapp_messages_not_sent",
            "WhatsApp messages not sent: waiting (queued), held for the settings (held), given "
            "up (failed), or withheld from a number that has not confirmed (withheld).",
            labels=["state"],
        )
        rows = (
            WhatsAppMessage.objects.filter(state__in=WHATSAPP_NOT_SENT)
            .values_list("state")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts = dict(rows)
        for state in WHATSAPP_NOT_SENT:
            whatsapp.add_metric([state], counts.get(state, 0))
        yield whatsapp

        yield GaugeMetricFamily(
            "portal_needs_attention",
            "Requests waiting for a person: failed, held, rejected, or a possible duplicate.",
            value=submissions_needing_attention().count(),
        )

        problems = GaugeMetricFamily(
            "portal_health_problem",
            "1 when /healthz finds this problem now (cache_down: the rate limit is off), else 0.",
            labels=["problem"],
        )
        found = set(health_report()["problems"])
        for check in CHECKS:
            problems.add_metric([check], int(check in found))
        yield problems

    @staticmethod
    def _providers(figures: dict) -> list[str]:
        """The enabled providers (a zero is a figure too), then any other with figures."""
        enabled = [provider.alias for provider in enabled_providers()]
        return enabled + sorted(set(figures) - set(enabled))


registry = CollectorRegistry(auto_describe=False)
registry.register(DeliveryCollector())


def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponse(status=404)
    if not operator_token_given(request):
        response = HttpResponse(
            "A bearer token is needed.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
