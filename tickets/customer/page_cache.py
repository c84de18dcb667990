"""The empty form page, rendered once per provider, language and process.

Almost all of the form page is the same for every visitor in a language; rendering it (the
crispy layout above all) was most of its cost. So the page is rendered once with placeholders
where the per-request values go, and each request only puts in its own: the CSRF token (which
also sets the CSRF cookie, as rendering would), a fresh form token and, during unusual volume, a
fresh proof-of-work challenge. The customer pages use no CSP nonce. A form with errors (a POST)
is always rendered in full.

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
from django.utils.html import escape
from django.utils.translation import get_language

from tickets.forms.base import issue_form_token

# Placeholders no visitor can type: random per process, plain letters and digits (nothing that
# HTML escaping would change).
CSRF_SLOT = "csrfslot" + secrets.token_hex(16)
FORM_TOKEN_SLOT = "formtokenslot" + secrets.token_hex(16)
PROOF_SLOT = "proofslot" + secrets.token_hex(16)

_pages: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_pages(**kwargs) -> None:
    _pages.clear()


def empty_form_page(
    request: HttpRequest,
    *,
    key: tuple,
    render: Callable[[dict], str],
    proof_challenge: Callable[[], str] | None = None,
) -> HttpResponse | None:
    """The empty form page for this request, or None when it must be rendered in full.

    ``render(extra_context)`` renders the page; ``extra_context`` carries the placeholders.
    ``key`` names everything else the page depends on (provider, registry, other services).
    ``proof_challenge()``, when given, is the page's challenge (``extra_context``'s
    ``proof_challenge`` is its placeholder).
    """
    if settings.DEBUG or request.GET:
        return None
    full_key = (*key, get_language(), proof_challenge is not None)
    page = _pages.get(full_key)
    if page is None:
        slots = {"csrf_token": CSRF_SLOT, "form_token_slot": FORM_TOKEN_SLOT}
        if proof_challenge is not None:
            slots["proof_challenge"] = PROOF_SLOT
        page = render(slots)
        if CSRF_SLOT not in page or FORM_TOKEN_SLOT not in page:
            return None  # the template changed shape: render it in full, and say nothing
        _pages[full_key] = page
    body = page.replace(CSRF_SLOT, get_token(request)).replace(FORM_TOKEN_SLOT, issue_form_token())
    if proof_challenge is not None:
        body = body.replace(PROOF_SLOT, escape(proof_challenge()))
    return HttpResponse(body)
