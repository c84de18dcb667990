"""What the second-factor tests share: a staff member, signing in, and an app's codes."""

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "a-long-test-password"
SETUP = "/admin/second-factor/setup/"
VERIFY = "/admin/second-factor/"


def make_staff(django_user_model, username: str = "staff", *, superuser: bool = True):
    if superuser:
        return django_user_model.objects.create_superuser(
            username, f"{username}@example.com", PASSWORD
        )
    return django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)


def sign_in(client, username: str = "staff", next_page: str = "/admin/"):
    """The password, through the console's own sign-in page (and django-axes)."""
    return client.post(
        "/admin/login/", {"username": username, "password": PASSWORD, "next": next_page}
    )


def app_code(key_hex: str, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for this key now (or ``steps_ahead`` 30 s on)."""
    return f"{totp(bytes.fromhex(key_hex), t0=-30 * steps_ahead):06d}"


def give_app(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
