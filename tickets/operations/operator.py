"""Who may read the operator's details: a caller with ``Authorization: Bearer <METRICS_TOKEN>``.

/metrics answers only to it; /healthz gives it the details behind its general words.
"""

import hmac

from django.conf import settings
from django.http import HttpRequest


def operator_token_given(request: HttpRequest) -> bool:
    """True when ``METRICS_TOKEN`` is set and the request carries it (compared in constant time)."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
