"""The proof of work asked of browsers during unusual volume (``volume``): ALTCHA's challenge
format, PBKDF2/SHA-256, created and checked with the ``altcha`` library and solved by the page
itself in Web Workers (``static/tickets/proof_of_work.js`` driving the worker vendored from
ALTCHA's widget), with nothing to see or tick and no call to anyone else.

A challenge is signed with ``PROOF_OF_WORK_KEY`` (a key derived from ``SECRET_KEY`` when it is
empty), expires after ``LIFETIME``, and its solution is accepted once: the signature of each
accepted one is kept (``SpentProof``) until it has expired anyway. The server picks the counter
the browser must reach (ALTCHA's deterministic mode), so the work is about the same for every
customer, and a check is two HMACs, not a key derivation.
"""

import secrets
from datetime import UTC, datetime, timedelta

import altcha
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.crypto import salted_hmac

from tickets.models import SpentProof

# The form field that carries the solution (the name ALTCHA's widget gives it).
FIELD = "altcha"
ALGORITHM = "PBKDF2/SHA-256"
# PBKDF2 iterations per try, and the tries the browser makes (the counter it must reach, split
# between its workers): from the page's first byte to the answer, 0.4 to 0.7 s (p50) at
# Chromium's 4x CPU slow-down for a mid-range phone, 0.3 s without it (`make bench`).
COST = 500
COUNTER_MIN = 150
COUNTER_MAX = 450
# Long enough for a customer who takes their time over the form: the page solves it on load.
LIFETIME = timedelta(hours=2)


def _keys() -> tuple[str, str]:
    """The key that signs challenges, and the one that signs their derived keys."""
    base = (
        settings.PROOF_OF_WORK_KEY or salted_hmac(__name__, "key", algorithm="sha256").hexdigest()
    )
    derived = salted_hmac(__name__, "derived-key", secret=base, algorithm="sha256")
    return base, derived.hexdigest()


def challenge_new() -> dict:
    """A fresh signed challenge, as the page's script and the ``altcha`` library read it."""
    challenge_key, derived_key_key = _keys()
    challenge = altcha.create_challenge(
        algorithm=ALGORITHM,
        cost=COST,
        counter=COUNTER_MIN + secrets.randbelow(COUNTER_MAX - COUNTER_MIN + 1),
        expires_at=datetime.now(UTC) + LIFETIME,
        hmac_secret=challenge_key,
        hmac_key_secret=derived_key_key,
    )
    return challenge.to_dict()


def proof_accepted(payload: str) -> bool:
    """Whether ``payload`` (the form's ``altcha`` field) solves a challenge of ours that has not
    expired and was not accepted before; accepting it spends it."""
    if not payload or len(payload) > 4096:
        return False
    challenge_key, derived_key_key = _keys()
    try:
        parsed = altcha.Payload.from_base64(payload)
    except (ValueError, KeyError, TypeError):
        return False
    result = altcha.verify_solution(parsed, challenge_key, hmac_key_secret=derived_key_key)
    if not result.verified:
        return False
    expires_at = datetime.fromtimestamp(parsed.challenge.parameters.expires_at, tz=UTC)
    try:
        with transaction.atomic():
            SpentProof.objects.create(
                signature=parsed.challenge.signature[:128], expires_at=expires_at
            )
    except IntegrityError:
        return False  # sent before: a solution is worth one request
    return True
