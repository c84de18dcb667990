"""What every request meets before a view: a size cap, a per-client rate limit for the public
forms (lifted, not failed, while the cache is down), and a body that must arrive whole.

A request whose body ends before its Content-Length, or a multipart body without its closing
boundary, is answered 400 before any view or CSRF check reads it: a view never sees part of a
request, so nothing of one is stored or forwarded. A view exempt from the CSRF check (Meta's
webhook) gets its body unparsed, to read as raw bytes.
"""

import logging
import threading
from io import IOBase

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from tickets.delivery.database import OUTAGE_ERRORS, database_answers
from tickets.operations.client_address import from_a_trusted_proxy

logger = logging.getLogger(__name__)


def content_length(request: HttpRequest) -> int:
    """The Content-Length the client announced; 0 when absent or not a number, as in Django."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestSizeLimitMiddleware:
    """Refuse an oversized body before Django reads it, with a page that says what to do."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = content_length(request)
        # The staff console too: anyone can post to its login page, and a file in the body would
        # be spooled to the disk whatever the view does with it.
        if length > settings.REQUEST_MAX_BYTES:
            logger.info("request of %d bytes refused on %s", length, request.path)
            return render(
                request,
                "413.html",
                {"limit_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)},
                status=413,
            )
        return self.get_response(request)


class HealthCheckMiddleware:
    """Answer /healthz and /metrics before host validation and the HTTPS redirect.

    Load balancers, container health checks and Prometheus call them by IP over plain HTTP,
    which ALLOWED_HOSTS and SECURE_SSL_REDIRECT would otherwise refuse.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            from tickets.operations.health import healthz

            return healthz(request)
        if request.path == "/healthz/web":
            from tickets.operations.health import healthz_web

            return healthz_web(request)
        if request.path == "/metrics":
            from tickets.operations.metrics import metrics

            return metrics(request)
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """``Permissions-Policy: settings.PERMISSIONS_POLICY`` on every response (Django has no
    setting for it)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class DatabaseOutageMiddleware:
    """A request the database cannot serve right now is answered 503 with a page that says so
    (a standalone page: it needs no database), not a server error. The form's script takes a
    503 for a dropped line and sends the request saved on the phone again by itself.

    The outage is logged once when this process first meets it and once when it is over, with
    the number of requests answered 503 meanwhile; never the paths (a status page's path is
    the customer's link)."""

    # 503s this process has answered in the current outage; 0 when there is none.
    answered_in_outage = 0
    counting = threading.Lock()

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.answered_in_outage and response.status_code != 503 and database_answers():
            with self.counting:
                answered = DatabaseOutageMiddleware.answered_in_outage
                DatabaseOutageMiddleware.answered_in_outage = 0
            if answered:
                logger.warning(
                    "the database answers again: %d requests were answered 503 meanwhile",
                    answered,
                )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OUTAGE_ERRORS) or database_answers():
            return None
        with self.counting:
            DatabaseOutageMiddleware.answered_in_outage += 1
            first = DatabaseOutageMiddleware.answered_in_outage == 1
        if first:
            logger.error("the database cannot be reached: requests are answered 503 until it is")
        response = render(request, "503.html", status=503)
        response["Retry-After"] = "30"
        # Logged above, once per outage: Django would log each 503 again with its path.
        response._has_been_logged = True
        return response


class UntrustedForwardedForMiddleware:
    """Say once, loudly, when requests come through a proxy the settings do not trust.

    With DEBUG off and TRUSTED_PROXY_COUNT=0 behind a load balancer, every customer looks like
    one client: the form rate limit and the admin lockout then hit everyone at once. The same
    happens when the proxy connects from an address TRUSTED_PROXY_NETWORKS does not name.
    """

    warned = False

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not UntrustedForwardedForMiddleware.warned
            and not settings.DEBUG
            and request.META.get("HTTP_X_FORWARDED_FOR")
        ):
            peer = request.META.get("REMOTE_ADDR", "")
            if not settings.TRUSTED_PROXY_COUNT:
                UntrustedForwardedForMiddleware.warned = True
                logger.warning(
                    "Requests carry X-Forwarded-For but TRUSTED_PROXY_COUNT is 0: every client "
                    "looks like the proxy, so rate limits and lockouts hit all customers at "
                    "once. Set TRUSTED_PROXY_COUNT to the number of proxies in front of the "
                    "portal."
                )
            elif not from_a_trusted_proxy(peer):
                UntrustedForwardedForMiddleware.warned = True
                logger.warning(
                    "Requests carry X-Forwarded-For from %s, which TRUSTED_PROXY_NETWORKS does "
                    "not name: if that is your proxy, every client looks like it, so rate limits "
                    "and lockouts hit all customers at once. Add its address to "
                    "TRUSTED_PROXY_NETWORKS.",
                    peer,
                )
        return self.get_response(request)


# --- a body that arrives whole -------------------------------------------------------------
class IncompleteRequestBody(MultiPartParserError):
    """The request body ended early, or a multipart body lacks its closing boundary.

    A MultiPartParserError, not an OSError: Django answers it with 400 and marks the form as
    unparsable, where an OSError would become UnreadablePostError, which CsrfViewMiddleware
    swallows, leaving a view to handle a half-read form as if it were empty.
    """


class CompleteBodyStream(IOBase):
    """Django's stream over wsgi.input, counting bytes, raising when the body is incomplete.

    Memory stays bounded: only the last few bytes are kept, for the closing-boundary check. So a
    multipart body must end with its closing boundary (and at most a line break): an epilogue
    after it, which RFC 2046 allows and no browser sends, is refused too.
    """

    def __init__(self, stream: IOBase, *, length: int, closing_boundary: bytes | None) -> None:
        self._stream = stream
        self._length = length
        self._closing_boundary = closing_boundary
        self._received = 0
        self._tail = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        data = self._guarded(self._stream.read, size)
        everything_asked = size is None or size < 0
        self._account(data, at_end=everything_asked or (not data and size != 0))
        return data

    def readline(self, size: int | None = -1, /) -> bytes:
        line = self._guarded(self._stream.readline, size)
        self._account(line, at_end=not line and size != 0)
        return line

    def close(self) -> None:
        self._stream.close()
        super().close()

    def _guarded(self, read, size: int | None) -> bytes:
        try:
            return read(size)
        except OSError as exc:
            # A connection reset mid-body is the same failure as one closed mid-body.
            raise IncompleteRequestBody(
                f"connection lost after {self._received} of {self._length} bytes"
            ) from exc

    def _account(self, data: bytes, *, at_end: bool) -> None:
        """Count ``data``; ``at_end`` when the read says the stream has nothing more to give."""
        if self._received == self._length:
            return  # checked already; later reads past the end return b""
        self._received += len(data)
        if self._closing_boundary is not None:
            keep = len(self._closing_boundary) + 2
            self._tail = (self._tail + data[-keep:])[-keep:]
        if self._received < self._length:
            if at_end:
                raise IncompleteRequestBody(
                    f"request body ended after {self._received} of {self._length} bytes"
                )
            return
        if self._closing_boundary is not None and not self._tail.endswith(
            (self._closing_boundary, self._closing_boundary + b"\r\n")
        ):
            raise IncompleteRequestBody("multipart body does not end with its closing boundary")


# Bodies Django parses into request.POST.
FORM_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class CompleteBodyMiddleware:
    """Answer 400, with a page saying so, to a request whose body did not arrive whole.

    A form is parsed here, before the CSRF check reads it, so that a connection dropped
    mid-upload (the client sent part of Content-Length, then closed) is never taken for a
    complete form whose file is missing. A view exempt from the CSRF check reads its body itself,
    as raw bytes if it likes (Meta's signed webhook): nothing parses it before, and a body that
    ends early still fails its read.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = content_length(request)
        if length > 0:
            request._stream = CompleteBodyStream(
                request._stream, length=length, closing_boundary=_closing_boundary(request)
            )
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if (
            request.method != "POST"
            or request.content_type not in FORM_CONTENT_TYPES
            or content_length(request) <= 0
            or getattr(view_func, "csrf_exempt", False)
        ):
            return None
        try:
            request.POST  # noqa: B018 (parsing reads the whole body through the stream)
        except IncompleteRequestBody as exc:
            logger.info("incomplete request body on %s: %s", request.path, exc)
            return render(request, "400_incomplete.html", status=400)
        return None


def _closing_boundary(request: HttpRequest) -> bytes | None:
    """``--<boundary>--`` for a multipart body; None for any other body, or a broken boundary
    (which Django's parser refuses on its own)."""
    if request.content_type != "multipart/form-data":
        return None
    try:
        boundary = request.content_params.get("boundary", "").encode("ascii")
    except UnicodeEncodeError:
        return None
    return b"--" + boundary + b"--" if boundary else None
