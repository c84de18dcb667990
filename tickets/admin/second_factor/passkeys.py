"""Passkeys (WebAuthn, through django-otp-webauthn) for the console's host.

A passkey is bound to the host name the console is opened at, and each ceremony is checked
against the origin of the request it came in. The host is one ALLOWED_HOSTS accepts and the
scheme is https behind the TLS proxy (SECURE_PROXY_SSL_HEADER), so a page on another origin
can neither ask for a passkey of this host nor pass off its answer as this origin's.
"""

from django.http import HttpRequest
from django.http.request import split_domain_port
from django_otp_webauthn.helpers import WebAuthnHelper


def relying_party_id(request: HttpRequest) -> str:
    """The host name without its port: the WebAuthn "relying party ID"."""
    host, _port = split_domain_port(request.get_host())
    return host


class PasskeyHelper(WebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        return [f"{self.request.scheme}://{self.request.get_host()}"]
