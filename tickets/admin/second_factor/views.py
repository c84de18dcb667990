"""The second-factor pages: pass it, set it up, recovery codes, one's own devices.

They open to a signed-in staff member who has not passed the second factor yet (the console's
other pages do not: ``tickets.admin.site``). Every page that changes a device asks for a session
that has passed it, except setting up the first one.
"""

from functools import wraps

import segno
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django_otp_webauthn.templatetags.otp_webauthn import get_configuration as passkey_configuration

from tickets.admin.second_factor import selectors, services
from tickets.admin.second_factor.forms import AppCodeForm, CodeForm

# The app's secret while it is being set up: kept in the session, not in the database, until
# a code proves the app holds it.
NEW_APP_KEY = "second_factor_new_app_key"


def staff_signed_in(view):
    """A staff member past the password; the console's own checks do not apply here."""

    @wraps(view)
    def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return csrf_protect(never_cache(inner))


def second_factor_passed(view):
    """Only a session that passed the second factor may change devices."""

    @wraps(view)
    def inner(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_verified():
            return redirect_to_second_factor(request)
        return view(request, *args, **kwargs)

    return staff_signed_in(inner)


def redirect_to_second_factor(
    request: HttpRequest, then: str | None = None
) -> HttpResponseRedirect:
    """To the code page, or to setting one up for an account that has none; then back to the
    page asked for (or ``then``)."""
    has_one = selectors.has_second_factor(user=request.user)
    url = reverse("second_factor:verify" if has_one else "second_factor:setup")
    return redirect_to_login(then or request.get_full_path(), url)


def next_url(request: HttpRequest) -> str:
    """Where to go once done: the page asked for, if it is on this site; else the console."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if safe else reverse("admin:index")


def _render(request, template: str, title: str, **context) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "subtitle": None,
        "next": next_url(request),
        # What django-otp-webauthn's script reads: its addresses and the CSRF token.
        "passkey_config": passkey_configuration(request),
        **context,
    }
    return TemplateResponse(request, f"admin/second_factor/{template}", context)


@staff_signed_in
def verify_view(request: HttpRequest) -> HttpResponse:
    """The code page: an app's code, a passkey or a recovery code."""
    if request.user.is_verified():
        return redirect(next_url(request))
    user = request.user
    if not selectors.has_second_factor(user=user):
        return redirect_to_second_factor(request, then=next_url(request))
    form = CodeForm(request.POST or None, initial={"next": next_url(request)})
    if request.method == "POST" and form.is_valid():
        try:
            services.second_factor_check(request=request, user=user, code=form.cleaned_data["code"])
        except services.SecondFactorRefused as exc:
            form.add_error("code", exc)
        else:
            return redirect(next_url(request))
    return _render(
        request,
        "verify.html",
        _("Second factor"),
        form=form,
        has_app=selectors.authenticator_app(user=user) is not None,
        has_passkeys=bool(selectors.passkeys(user=user)),
    )


@staff_signed_in
def setup_view(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app (or a passkey): the first device, or a new phone's app."""
    user = request.user
    if not user.is_verified() and selectors.has_second_factor(user=user):
        # A password alone never adds a device to an account that has one.
        return redirect_to_second_factor(request)
    first = not selectors.has_second_factor(user=user)
    key = request.session.get(NEW_APP_KEY) or services.authenticator_app_key()
    request.session[NEW_APP_KEY] = key
    form = AppCodeForm(request.POST or None, initial={"next": next_url(request)})
    if request.method == "POST" and form.is_valid():
        try:
            services.authenticator_app_confirm(
                request=request, user=user, key=key, code=form.cleaned_data["code"]
            )
        except services.SecondFactorRefused as exc:
            form.add_error("code", exc)
        else:
            del request.session[NEW_APP_KEY]
            if selectors.recovery_codes_left(user=user) == 0:
                return _recovery_codes_page(request, services.recovery_codes_renew(user=user))
            messages.success(request, _("The authenticator app is set up."))
            return redirect("second_factor:devices")
    link = services.authenticator_app_link(user=user, key=key)
    return _render(
        request,
        "setup.html",
        _("Set up your second factor") if first else _("Set up an authenticator app"),
        form=form,
        first=first,
        # segno's own SVG of the link: no script, no outside address.
        qr_code=mark_safe(segno.make(link, error="m").svg_inline(scale=5, omitsize=True)),  # noqa: S308
        secret=services.authenticator_app_typed_key(key),
    )


@require_POST
@second_factor_passed
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown this once (the old ones stop working)."""
    return _recovery_codes_page(request, services.recovery_codes_renew(user=request.user))


def _recovery_codes_page(request: HttpRequest, codes: list[str]) -> TemplateResponse:
    return _render(request, "recovery_codes.html", _("Your recovery codes"), codes=codes)


@second_factor_passed
def devices_view(request: HttpRequest) -> HttpResponse:
    """One's own second factor: the app, passkeys (add, remove), recovery codes left."""
    user = request.user
    if request.method == "POST" and request.POST.get("remove_passkey", "").isdigit():
        if services.passkey_remove(user=user, passkey_id=int(request.POST["remove_passkey"])):
            messages.success(request, _("The passkey is removed."))
        return redirect("second_factor:devices")
    return _render(
        request,
        "devices.html",
        _("Your second factor"),
        app=selectors.authenticator_app(user=user),
        passkeys=selectors.passkeys(user=user),
        recovery_codes_left=selectors.recovery_codes_left(user=user),
    )
