"""``/healthz``: is the portal doing its job? ``/healthz/web``: can this web process serve?

``/healthz`` is for monitoring: HTTP 503 when the database does not answer, when a forward that
is due has waited longer than ``HEALTH_MAX_FORWARD_DELAY_SECONDS`` (the queue is stuck), when an
e-mail has waited longer than ``HEALTH_MAX_EMAIL_DELAY_SECONDS`` or one was given up since the
mail server last took one (it refuses or cannot be reached: customers get no receipts, staff no
alerts), when no worker has started a task for ``HEALTH_MAX_WORKER_SILENCE_SECONDS`` (the
sweep runs every minute, so a live worker is always seen), or when the cache does not answer
(``cache_down``: the forms still take requests, without a rate limit). Anyone reads only the
status and each problem in a general word (``CHECKS``); the counts, ages and exact problems go
to a caller with the operator's token, and to ``/metrics``. ``/healthz/web`` is for
load balancers and container health checks: it says only whether this process and its database
answer, so that a stuck worker does not take the web processes (and the customers' forms) out of
service.
Counts and ages only, never personal data.
"""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tickets.cache import cache_reachable
from tickets.delivery.reports import (
    email_queue_stats,
    forwarding_queue_stats,
    seconds_since_a_worker_was_seen,
)
from tickets.operations.operator import operator_token_given

# Every problem /healthz can find, and the general word anyone may read for it: a stranger
# must not learn when the cache (and with it the forms' rate limit) is down.
CHECKS = {
    "database": "database",
    "queue_stuck": "degraded",
    "mail_stuck": "degraded",
    "no_worker": "degraded",
    "cache_down": "degraded",
}


def health_report() -> dict:
    """Every check's finding, with its counts and ages (for operators: /metrics and /healthz
    with the token)."""
    try:
        queue = forwarding_queue_stats()
        emails = email_queue_stats()
        worker_silence = seconds_since_a_worker_was_seen()
    except DatabaseError:
        return {"status": "error", "database": "unreachable", "problems": ["database"]}
    problems = []
    cache_state = "ok" if cache_reachable() else "unreachable"
    if cache_state != "ok":
        problems.append("cache_down")
    if queue["overdue_seconds"] > settings.HEALTH_MAX_FORWARD_DELAY_SECONDS:
        problems.append("queue_stuck")
    if (
        emails["oldest_waiting_seconds"] > settings.HEALTH_MAX_EMAIL_DELAY_SECONDS
        or emails["given_up_since_last_sent"]
    ):
        problems.append("mail_stuck")
    if worker_silence is None or worker_silence > settings.HEALTH_MAX_WORKER_SILENCE_SECONDS:
        problems.append("no_worker")
    return {
        "status": "error" if problems else "ok",
        "database": "ok",
        "cache": cache_state,
        "queue": queue,
        "emails": emails,
        "worker_last_seen_seconds_ago": worker_silence,
        "problems": problems,
    }


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    status = 503 if report["problems"] else 200
    if operator_token_given(request):
        return JsonResponse(report, status=status)
    general = sorted({CHECKS[problem] for problem in report["problems"]})
    return JsonResponse({"status": report["status"], "problems": general}, status=status)


@never_cache
@require_GET
def healthz_web(request: HttpRequest) -> JsonResponse:
    # Probed every few seconds by every load balancer: one round trip, no statistics.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
