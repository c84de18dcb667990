"""The customer's pages. Thin views: forms validate, services decide."""

import json
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from tickets.channels import whatsapp_chat_url, whatsapp_is_on
from tickets.customer.access import access_code_ask, access_code_check
from tickets.customer.browser import browser_cookie, browser_key, remember_browser
from tickets.customer.forms import AccessCodeForm, FindRequestForm
from tickets.customer.intake import AlreadySent, submission_create
from tickets.customer.offline import OFFLINE_TEMPLATE, service_worker_script
from tickets.customer.page_cache import empty_form_page
from tickets.customer.proof_of_work import FIELD as PROOF_FIELD
from tickets.customer.proof_of_work import challenge_new
from tickets.customer.rate_limit import form_post_wait
from tickets.customer.shared_computer import (
    not_kept,
    shared_computer_chosen,
    shared_find_asked,
    shared_find_opened,
    shared_request,
    shared_request_note,
)
from tickets.customer.status_text import contact_text, customer_status_text, next_step_text
from tickets.customer.volume import any_volume_is_unusual, code_request_allowed, volume_is_unusual
from tickets.delivery.email import CONFIRM_PARAMETER, email_recipient_confirm
from tickets.forms.base import issue_form_token
from tickets.models import WAITING_ON_STAFF_STATUSES, AccessCode, Submission
from tickets.operations.client_address import client_ip
from tickets.providers import TicketProvider, enabled_providers, provider_or_none

logger = logging.getLogger(__name__)

# The slowest pace at which the status page asks again: every few seconds while a delivery is
# under way, every minute while the request waits for staff (which can take hours).
STATUS_POLL_SECONDS = 5
STATUS_POLL_SECONDS_WAITING_ON_STAFF = 60
# Before that, the page asks at these ages of the request (seconds since it was stored), not of
# the page, so a phone whose page arrived late asks at once: the worker looks for work every
# 0.2 s and a provider that answers at once takes tens of milliseconds more, so numbers exist
# 0.05-0.25 s after storing (`make bench`); a busy worker takes seconds, so the asks thin out
# towards the steady pace instead of jumping to it. Ten asks in the first 30 s in all.
STATUS_FIRST_ASKS_SECONDS = (0.3, 0.6, 1.2, 2.4, 4.2)


# The portal's colours, as portal.css and the icons (scripts/make_icons.py) have them.
THEME_COLOUR = "#0d6efd"
BACKGROUND_COLOUR = "#ffffff"


@require_safe
def web_app_manifest(request: HttpRequest) -> JsonResponse:
    """What a phone needs to put the portal on its home screen, named in the page's language."""
    name = _("Support portal")
    icons = [
        {"src": static(f"icons/{kind}-{size}.png"), "sizes": f"{size}x{size}",
         "type": "image/png", "purpose": purpose}
        for kind, purpose in (("icon", "any"), ("icon-maskable", "maskable"))
        for size in (192, 512)
    ]  # fmt: skip
    manifest = {
        "name": f"{name} · {settings.OPERATOR_NAME}" if settings.OPERATOR_NAME else name,
        "short_name": name,
        "lang": request.LANGUAGE_CODE,
        "start_url": reverse("tickets:landing"),
        "scope": reverse("tickets:landing"),
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }
    response = JsonResponse(manifest, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


@never_cache
@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, at the root so that its scope is the whole portal (``offline``)."""
    response = HttpResponse(service_worker_script(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def offline_page(request: HttpRequest, language: str) -> HttpResponse:
    """What a page never seen shows with no signal: kept by the service worker per language."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        # Without the request: no language switcher and no token, which offline could not use.
        response = HttpResponse(render_to_string(OFFLINE_TEMPLATE))
    response["Content-Language"] = language
    return response


@never_cache
@require_safe
def send_tokens(request: HttpRequest) -> JsonResponse:
    """A fresh CSRF token and form token for a form the phone kept, fetched just before it sends.

    The form token is fetched once per send and kept with it, so the same send tried again is
    still one request on the server.
    """
    response = JsonResponse({"csrf_token": get_token(request), "form_token": issue_form_token()})
    return _with_browser_cookie(request, response)


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    providers = enabled_providers()
    if len(providers) == 1:
        # Nothing to choose between: straight to the only form.
        return redirect("tickets:form", alias=providers[0].alias)
    # Find my request needs the phone number given in a request: offered if a form asks it.
    find_offered = any(provider.form().asks_for_phone for provider in providers)
    return render(
        request, "tickets/landing.html", {"providers": providers, "find_offered": find_offered}
    )


@require_safe
def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tickets/privacy.html",
        {
            "providers": enabled_providers(),
            "retention_days": settings.RETENTION_DAYS,
            "whatsapp_on": whatsapp_is_on(),
        },
    )


# Never cached: coming back to the form after a successful send fetches it again, with a fresh
# form token, so an edited request sent from it is a new request. (A form sent twice unchanged
# is still one request: the service compares the token *and* the content.)
@never_cache
@require_http_methods(["GET", "POST"])
def submission_form(request: HttpRequest, alias: str) -> HttpResponse:
    provider = provider_or_none(alias)
    if provider is None:
        raise Http404
    other_providers = len(enabled_providers()) > 1
    context = {
        "provider": provider,
        "other_providers": other_providers,
        "photo_max_side": settings.PHOTO_MAX_SIDE_PX,
        "photo_target_bytes": settings.PHOTO_TARGET_BYTES,
        "attachment_max_bytes": settings.ATTACHMENT_MAX_BYTES,
        # Ticked again on a form the server sends back (errors, a rate limit, a repeat).
        "shared_computer": shared_computer_chosen(request),
    }
    # During unusual volume the page asks the browser for a proof of work (``volume``).
    unusual = volume_is_unusual(provider=alias)
    if request.method == "POST":
        if unusual:
            # Made only if the form is shown again (a stored request is redirected).
            context["proof_challenge"] = lazy(_proof_challenge, str)()
        wait = form_post_wait(request)
        if wait is not None:
            return _rate_limited(request, provider, context, wait)
        form = provider.form(request.POST, request.FILES, kept_uploads_owner=client_ip(request))
        if form.looks_like_a_bot():
            # Refused silently: the bot sees an ordinary thank-you and learns nothing.
            logger.info("%s form: honeypot filled, nothing stored", alias)
            return render(request, "tickets/received.html")
        if form.is_valid():
            # A browser seen for the first time has sent nothing before: no need to look.
            cookie, first_time = browser_cookie(request)
            try:
                submission = submission_create(
                    provider=alias,
                    data=form.submission_data(),
                    files=form.submission_files(),
                    form_token=form.token,
                    language=request.LANGUAGE_CODE,
                    browser_key=browser_key(cookie),
                    allow_repeat=form.sent_again_on_purpose() or first_time,
                    proof=request.POST.get(PROOF_FIELD, ""),
                )
            except AlreadySent as repeat:
                form.prepare_to_send_again()
                context["already_sent"] = repeat.earlier
            except ValidationError:
                # The form and the service disagree about a field: a bug of ours, not the
                # customer's. Say so plainly instead of failing with a server error.
                logger.exception("%s form passed validation but the service refused it", alias)
                form.add_error(None, _("We could not store your request. Please try again."))
            else:
                if context["shared_computer"]:
                    shared_request_note(request, submission=submission)
                return remember_browser(_stored(request, submission), cookie)
    else:

        def render_empty(slots: dict) -> str:
            form = provider.form()
            form.initial["form_token"] = slots["form_token_slot"]
            return render_to_string(
                "tickets/form.html", {"form": form, **context, **slots}, request
            )

        # Rendered once per provider and language; each request gets its own tokens in it.
        page = empty_form_page(
            request,
            key=(alias, id(provider), other_providers),
            render=render_empty,
            proof_challenge=_proof_challenge if unusual else None,
        )
        if page is None:
            if unusual:
                context["proof_challenge"] = _proof_challenge()
            page = render(request, "tickets/form.html", {"form": provider.form(), **context})
        # The browser gets its cookie with the form: a first send whose answer the line lost
        # is then still known as this browser's when it is sent again.
        return _with_browser_cookie(request, page)
    return render(request, "tickets/form.html", {"form": form, **context})


def _proof_challenge() -> str:
    """A fresh proof-of-work challenge, as the page's script reads it."""
    return json.dumps(challenge_new(), separators=(",", ":"))


def _with_browser_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    cookie, new = browser_cookie(request)
    return remember_browser(response, cookie) if new else response


def _rate_limited(
    request: HttpRequest, provider: TicketProvider, context: dict, wait: int
) -> HttpResponse:
    """The form again, as it was typed, with when it may be sent: nothing is checked or kept."""
    typed = {name: value for name, value in request.POST.items() if name != "form_token"}
    response = render(
        request,
        "tickets/form.html",
        {**context, "form": provider.form(initial=typed), "retry_minutes": max(1, wait // 60)},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def _stored(request: HttpRequest, submission: Submission) -> HttpResponse:
    """The answer to a stored request: its status page, or where it is for a background send."""
    if request.accepts("text/html"):
        return redirect("tickets:status", public_id=submission.public_id)
    # The form's script sent it in the background (Accept: application/json) and goes there
    # itself, once it has noted the request on the phone.
    status_url = reverse("tickets:status", kwargs={"public_id": submission.public_id})
    return JsonResponse({"reference": submission.reference, "status_url": status_url}, status=201)


def _status_context(submission: Submission) -> dict:
    provider = provider_or_none(submission.provider)
    headline, explanation = customer_status_text(submission, provider=provider)
    poll_seconds = (
        STATUS_POLL_SECONDS_WAITING_ON_STAFF
        if submission.status in WAITING_ON_STAFF_STATUSES
        else STATUS_POLL_SECONDS
    )
    return {
        "reference": submission.reference,
        "status": submission.status,
        "headline": headline,
        "explanation": explanation,
        "next_step": next_step_text(status=submission.status, provider=provider),
        "contact": contact_text(submission.status),
        "ticket_id": submission.ticket_id,
        "case_number": submission.case_number,
        "final": submission.is_final,
        "poll_seconds": poll_seconds,
        "poll_in_ms": _next_ask_in_ms(submission, poll_seconds),
    }


def _next_ask_in_ms(submission: Submission, poll_seconds: int) -> int:
    """When the page should ask again, by the request's age: soon while it is fresh."""
    age = max((timezone.now() - submission.created_at).total_seconds(), 0.0)
    if poll_seconds == STATUS_POLL_SECONDS:
        for ask_at in STATUS_FIRST_ASKS_SECONDS:
            if ask_at > age:
                return round((ask_at - age) * 1000)
    return poll_seconds * 1000


@never_cache
@require_safe
def submission_status(request: HttpRequest, public_id) -> HttpResponse:
    submission = get_object_or_404(Submission, public_id=public_id)
    token = request.GET.get(CONFIRM_PARAMETER)
    if token is not None:
        # Opened from an e-mail: the address is confirmed, and the page's address is kept
        # without the token (bookmarks, shared links and the history do not carry it).
        email_recipient_confirm(submission=submission, token=token)
        return redirect("tickets:status", public_id=submission.public_id)
    provider = provider_or_none(submission.provider)
    shared = shared_request(request, submission=submission)
    response = render(
        request,
        "tickets/status.html",
        {
            "submission": submission,
            "provider": provider,
            "time_zone": provider.customer_time_zone if provider else "",
            "summary": provider.request_summary(submission) if provider else "",
            "state": _status_context(submission),
            # Opened with a code of "Find my request": the customer knows the way back.
            "found_by_code": request.session.get(FOUND_SESSION_KEY) == str(submission.public_id),
            # Sent or found on a shared computer: the page keeps nothing and shows no details.
            "shared_computer": shared,
            "findable": bool(submission.phone and provider and provider.form().asks_for_phone),
            # The same for every request that asked for WhatsApp: whether its number has
            # written already is not this page's to tell.
            "whatsapp_chat_url": (
                whatsapp_chat_url(submission.reference) if submission.whatsapp_opt_in_at else ""
            ),
        },
    )
    return not_kept(response) if shared else response


@never_cache
@require_safe
def submission_status_json(request: HttpRequest, public_id) -> JsonResponse:
    submission = get_object_or_404(Submission, public_id=public_id)
    return JsonResponse(_status_context(submission))


# The reference a "Find my request" asked for, while its code is awaited.
FIND_SESSION_KEY = "find_reference"
# The request a code of "Find my request" opened last in this browser.
FOUND_SESSION_KEY = "found_request"


@never_cache
@require_http_methods(["GET", "POST"])
def find_request(request: HttpRequest) -> HttpResponse:
    """The reference and phone number of a request; a code goes to where the request says."""
    form = FindRequestForm(request.POST or None)
    shared = {"shared_computer": shared_computer_chosen(request)}
    # Its codes go out by e-mail and WhatsApp: during unusual volume it asks for a proof of work.
    proof = (
        {"proof_challenge": lazy(_proof_challenge, str)()}
        if any_volume_is_unusual(providers=[provider.alias for provider in enabled_providers()])
        else {}
    )
    if request.method == "POST":
        wait = form_post_wait(request, scope="find")
        if wait is not None:
            context = {"form": form, "retry_minutes": max(1, wait // 60), **proof, **shared}
            return render(request, "tickets/find.html", context, status=429)
        if form.is_valid() and not code_request_allowed(
            unusual=bool(proof), proof=request.POST.get(PROOF_FIELD, "")
        ):
            context = {"form": form, "proof_missing": True, **proof, **shared}
            return render(request, "tickets/find.html", context)
        if form.is_valid():
            # The code will open in this browser only: it gets its cookie now if it had none.
            cookie, new = browser_cookie(request)
            access_code_ask(**form.cleaned_data, browser_key=browser_key(cookie))
            # The same next page whether or not anything matched: nothing is revealed.
            request.session[FIND_SESSION_KEY] = form.cleaned_data["reference"]
            shared_find_asked(request, chosen=shared["shared_computer"])
            response = redirect("tickets:find-code")
            return remember_browser(response, cookie) if new else response
    return render(request, "tickets/find.html", {"form": form, **proof, **shared})


@never_cache
@require_http_methods(["GET", "POST"])
def find_request_code(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(FIND_SESSION_KEY)
    if not reference:
        return redirect("tickets:find")
    form = AccessCodeForm(request.POST or None)
    code_context = {"reference": reference, "code_minutes": AccessCode.LIFETIME_SECONDS // 60}
    if request.method == "POST":
        wait = form_post_wait(request, scope="find")
        if wait is not None:
            context = {**code_context, "form": form, "retry_minutes": max(1, wait // 60)}
            return render(request, "tickets/find_code.html", context, status=429)
        if form.is_valid():
            cookie, _new = browser_cookie(request)
            submission = access_code_check(
                reference=reference, code=form.cleaned_data["code"], browser_key=browser_key(cookie)
            )
            if submission is not None:
                del request.session[FIND_SESSION_KEY]
                request.session[FOUND_SESSION_KEY] = str(submission.public_id)
                shared_find_opened(request, submission=submission)
                return redirect("tickets:status", public_id=submission.public_id)
            form.add_error(
                "code",
                _(
                    "That code is not right, or it has expired. Check the message, or ask "
                    "for a new code."
                ),
            )
    return render(request, "tickets/find_code.html", {**code_context, "form": form})
