"""Meta's webhook: the subscription check (a GET with the verify token) and the signature of
every POST (``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>``),
both compared in constant time. Nothing unsigned is read."""

import hashlib
import hmac

from django.conf import settings

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value Meta sends with ``body`` (the sandbox and the tests sign with it)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None) -> bool:
    secret = settings.WHATSAPP["APP_SECRET"]
    if not secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def verify_token_is_valid(token: str | None) -> bool:
    expected = settings.WHATSAPP["VERIFY_TOKEN"]
    return bool(expected and token) and hmac.compare_digest(token.encode(), expected.encode())
