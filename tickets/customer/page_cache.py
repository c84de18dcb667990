"""The empty form page, rendered once per provider, language and process.

Almost all of the form page is the same for every visitor in a language; rendering it (the
crispy layout above all) was most of its cost. So the page is rendered once with placeholders
where the per-request values go, and each request only puts in its own: the CSRF token (which
also sets the CSRF cookie, as rendering would) and a fresh form token. The customer pages use no
CSP nonce. A form with errors (a POST) is always rendered in full.

The rendered pages are dropped whenever a setting changes (the registry, the storage of static
files, the languages...) and are not kept at all in DEBUG, where templates are edited live.
"""

import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

from tickets.forms.base import issue_form_token

# Placeholders no visitor can type: random per process, plain letters and digits (nothing that
# HTML escaping would change).
CSRF_SLOT = "csrfslot" + secrets.token_hex(16)
FORM_TOKEN_SLOT = "formtokenslot" + secrets.token_hex(16)

_pages: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    _pages.clear()


def empty_form_page(
    request: HttpRequest, *, key: tuple, render: Callable[[dict], str]
) -> HttpResponse | None:
    """The empty form page for this request, or None when it must be rendered in full.

    ``render(extra_context)`` renders the page; ``extra_context`` carries the placeholders.
    ``key`` names everything else the page depends on (provider, registry, other services).
    """
    if settings.DEBUG or request.GET:
        return None
    full_key = (*key, get_language())
    page = _pages.get(full_key)
    if page is None:
        page = render({"csrf_token": CSRF_SLOT, "form_token_slot": FORM_TOKEN_SLOT})
        if CSRF_SLOT not in page or FORM_TOKEN_SLOT not in page:
            return None  # the template changed shape: render it in full, and say nothing
        _pages[full_key] = page
    body = page.replace(CSRF_SLOT, get_token(request)).replace(FORM_TOKEN_SLOT, issue_form_token())
    return HttpResponse(body)
