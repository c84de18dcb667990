"""Setting up, passing and resetting a staff member's second factor.

Every check of a code goes through django-otp's devices, so wrong codes are throttled per device
(1, 2, 4, 8... seconds locked after each wrong one in a row, ``OTP_*_THROTTLE_FACTOR``).
"""

import logging
import math
import re
import secrets
from base64 import b32encode

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

logger = logging.getLogger(__name__)

RECOVERY_CODE_COUNT = 10
# An authenticator app's code: six digits. Anything else typed is tried as a recovery code, so a
# wrong recovery code never locks the app (nor the other way round).
APP_CODE = re.compile(r"\d{6}")


class SecondFactorRefused(ValidationError):
    """The code was wrong, or came while the device is locked after wrong ones."""


def second_factor_due(request: HttpRequest) -> bool:
    """Whether this signed-in staff member must pass a second factor before the console opens."""
    user = request.user
    return bool(
        settings.STAFF_SECOND_FACTOR_REQUIRED
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and not user.is_verified()
    )


def authenticator_app_key() -> str:
    """A new secret for an authenticator app, as TOTPDevice keeps it (hex, 20 bytes)."""
    return secrets.token_hex(20)


def authenticator_app_link(*, user: AbstractBaseUser, key: str) -> str:
    """The otpauth:// address an app reads from the QR code, naming the console and the user."""
    return TOTPDevice(user=user, key=key).config_url


def authenticator_app_typed_key(key: str) -> str:
    """The secret as typed into an app by hand, in groups of four letters."""
    text = b32encode(bytes.fromhex(key)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def authenticator_app_confirm(
    *, request: HttpRequest, user: AbstractBaseUser, key: str, code: str
) -> TOTPDevice:
    """Keep the app whose code proves it holds ``key``, in place of any earlier app, and count
    this session as having passed the second factor."""
    totp = TOTP(bytes.fromhex(key))
    if not (APP_CODE.fullmatch(_normalised(code)) and totp.verify(int(_normalised(code)), 1)):
        raise SecondFactorRefused(
            _("That code is not the one the app shows. Type the six digits it shows now."),
            code="wrong_code",
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        # last_t: the code just typed cannot be used again to sign in.
        device = TOTPDevice.objects.create(
            user=user, key=key, name="Authenticator app", confirmed=True, last_t=totp.t()
        )
    otp_login(request, device)
    logger.info("staff member %s set up an authenticator app", user.pk)
    return device


def recovery_codes_renew(*, user: AbstractBaseUser) -> list[str]:
    """New recovery codes, each good once; the old ones stop working."""
    codes = [StaticToken.random_token() for _unused in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    logger.info("staff member %s made new recovery codes", user.pk)
    return codes


def second_factor_check(*, request: HttpRequest, user: AbstractBaseUser, code: str) -> Device:
    """Pass the second factor with an app's code or a recovery code (which is then used up)."""
    code = _normalised(code)
    model = TOTPDevice if APP_CODE.fullmatch(code) else StaticDevice
    locked_until = None
    accepted = None
    # The devices are locked for the check, so two tries at once cannot both count as one.
    with transaction.atomic():
        for device in model.objects.devices_for_user(user).select_for_update():
            allowed, why = device.verify_is_allowed()
            if not allowed:
                locked_until = why and why.get("locked_until")
                break
            if device.verify_token(code):
                accepted = device
                break
    # Outside the transaction: a wrong code's count is kept when the refusal is raised.
    if accepted is not None:
        otp_login(request, accepted)
        return accepted
    if locked_until is not None:
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
        raise SecondFactorRefused(
            ngettext(
                "Too many wrong codes. Wait %(seconds)d second, then try again.",
                "Too many wrong codes. Wait %(seconds)d seconds, then try again.",
                seconds,
            )
            % {"seconds": seconds},
            code="locked",
        )
    logger.info("staff member %s typed a wrong second-factor code", user.pk)
    raise SecondFactorRefused(_("That code is not right. Try again."), code="wrong_code")


def passkey_remove(*, user: AbstractBaseUser, passkey_id: int) -> bool:
    """Remove one of the staff member's own passkeys (a lost or replaced one)."""
    removed, _unused = WebAuthnCredential.objects.filter(user=user, pk=passkey_id).delete()
    return bool(removed)


def second_factor_reset(*, user: AbstractBaseUser) -> None:
    """Forget every device of ``user`` (a lost phone): the next sign-in sets up a new one, and
    any session that passed with an old device is asked again."""
    with transaction.atomic():
        for model in (TOTPDevice, StaticDevice, WebAuthnCredential):
            model.objects.filter(user=user).delete()
    logger.info("the second factor of staff member %s was reset", user.pk)


def _normalised(code: str) -> str:
    """What staff type, as the devices keep it: no spaces or dashes, lower case."""
    return re.sub(r"[\s-]", "", code or "").lower()
