"""``/healthz``: is the database answering, and is the forwarding queue moving?

For load balancers and monitoring: counts and ages only, never personal data.
"""

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .selectors import forwarding_queue_stats


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        queue = forwarding_queue_stats()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "queue": queue})
