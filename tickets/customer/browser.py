"""The customer's browser, known by a random cookie of its own and nothing else.

The cookie holds no personal data; it is given with the first form page the browser opens. The
database keeps only a keyed hash of it (``Submission.browser_key``), so that a copy of the
database cannot be used to pose as a customer's browser.
"""

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

COOKIE_NAME = "portal_browser"
# Well beyond the day over which a request sent again by mistake is recognised.
COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
KEY_SALT = "tickets.customer.browser"


def browser_cookie(request: HttpRequest) -> tuple[str, bool]:
    """The cookie this browser sent, or a new one to give it; and whether it is new."""
    value = request.COOKIES.get(COOKIE_NAME, "")
    if 16 <= len(value) <= 64:
        return value, False
    return secrets.token_urlsafe(24), True


def browser_key(cookie: str) -> str:
    return salted_hmac(KEY_SALT, cookie, algorithm="sha256").hexdigest()


def remember_browser(response: HttpResponse, cookie: str) -> HttpResponse:
    """Send (or renew) the browser's cookie with ``response``."""
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=COOKIE_MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
