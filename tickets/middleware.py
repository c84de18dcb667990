"""Abuse protection for the public forms: a request size cap and a per-client rate limit."""

import ipaddress
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

# Paths the limits leave alone: staff pages (django-axes guards the login) and the health probe.
EXEMPT_PREFIXES = ("/admin/", "/healthz", "/static/")


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address, trusting X-Forwarded-For only as far as our own proxies append.

    ``None`` when there is no valid address (django-axes also calls this, sometimes without a
    request, and stores the answer in an IP address column).
    """
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class RequestSizeLimitMiddleware:
    """Refuse an oversized body before Django reads it, with a page that says what to do."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES and not request.path.startswith("/admin/"):
            logger.info("request of %d bytes refused on %s", length, request.path)
            return render(
                request,
                "413.html",
                {"limit_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)},
                status=413,
            )
        return self.get_response(request)


class FormRateLimitMiddleware:
    """At most FORM_RATE_LIMIT form posts per client per window; GETs are never limited."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and not request.path.startswith(EXEMPT_PREFIXES):
            window = settings.FORM_RATE_LIMIT_WINDOW_SECONDS
            bucket = int(time.time() // window)
            key = f"form-rate:{client_ip(request) or 'unknown'}:{bucket}"
            # add() then incr() is atomic on Redis and on the local-memory cache.
            cache.add(key, 0, timeout=window + 5)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add() and incr()
                count = 1
            if count > settings.FORM_RATE_LIMIT:
                logger.warning("form rate limit reached on %s", request.path)
                retry_after = int(window - time.time() % window) + 1
                response = render(
                    request, "429.html", {"retry_minutes": max(1, retry_after // 60)}, status=429
                )
                response["Retry-After"] = str(retry_after)
                return response
        return self.get_response(request)


class HealthCheckMiddleware:
    """Answer /healthz before host validation and the HTTPS redirect.

    Load balancers and container health checks call it by IP over plain HTTP, which
    ALLOWED_HOSTS and SECURE_SSL_REDIRECT would otherwise refuse.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            from .health import healthz

            return healthz(request)
        if request.path == "/healthz/web":
            from .health import healthz_web

            return healthz_web(request)
        return self.get_response(request)


class UntrustedForwardedForMiddleware:
    """Say once, loudly, when requests come through a proxy the settings do not trust.

    With DEBUG off and TRUSTED_PROXY_COUNT=0 behind a load balancer, every customer looks like
    one client: the form rate limit and the admin lockout then hit everyone at once.
    """

    warned = False

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not UntrustedForwardedForMiddleware.warned
            and not settings.DEBUG
            and not settings.TRUSTED_PROXY_COUNT
            and request.META.get("HTTP_X_FORWARDED_FOR")
        ):
            UntrustedForwardedForMiddleware.warned = True
            logger.warning(
                "Requests carry X-Forwarded-For but TRUSTED_PROXY_COUNT is 0: every client "
                "looks like the proxy, so rate limits and lockouts hit all customers at once. "
                "Set TRUSTED_PROXY_COUNT to the number of proxies in front of the portal."
            )
        return self.get_response(request)
