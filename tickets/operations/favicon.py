"""``/favicon.ico``: the portal's icon (``static/favicon.ico``), where browsers ask for it
whatever the page says. The staff console links it; the customer's pages name none, so a slow
connection spends no request on it."""

from functools import cache

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

ICON = "favicon.ico"
# The icon changes only with a release.
MAX_AGE_SECONDS = 86400


@cache
def _icon_bytes() -> bytes | None:
    # Collected (production) or straight from static/ (development and tests).
    if staticfiles_storage.exists(ICON):
        with staticfiles_storage.open(ICON) as handle:
            return handle.read()
    found = finders.find(ICON)
    if not found:
        return None
    with open(found, "rb") as handle:
        return handle.read()


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    icon = _icon_bytes()
    if icon is None:
        raise Http404
    response = HttpResponse(icon, content_type="image/x-icon")
    response["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}"
    return response
