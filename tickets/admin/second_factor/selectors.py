"""What a staff member's second factor is made of, read from django-otp's devices."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential


def has_second_factor(*, user: AbstractBaseUser) -> bool:
    """Whether the account has any confirmed device: an app, a passkey or recovery codes."""
    return user_has_device(user, confirmed=True)


def authenticator_app(*, user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def passkeys(*, user: AbstractBaseUser) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk"))


def recovery_codes_left(*, user: AbstractBaseUser) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def with_second_factor(users: QuerySet) -> QuerySet:
    """The accounts, each with ``has_second_factor``: the staff list's column, in its query."""
    has_one = [
        Exists(model.objects.filter(user=OuterRef("pk"), confirmed=True))
        for model in (TOTPDevice, StaticDevice, WebAuthnCredential)
    ]
    return users.annotate(has_second_factor=has_one[0] | has_one[1] | has_one[2])
