"""Recipients who did not ask: the public forms send to whatever address or number is typed in,
so a message goes only where its owner wants it.

An e-mail address or a WhatsApp number is a ``Recipient``, known by a keyed digest only (the
address itself stays on the messages staff read, and on the request). Until its owner confirms it
is theirs, however many requests name it, it hears of one request a day on its channel:

- by e-mail, the e-mails of the first request whose e-mail goes that day (its receipt and its
  ticket number: a customer who never opens a link still gets both), or one code to find a
  request when nothing else went that day;
- on WhatsApp, no update template at all, and one code a day that "Find my request" asked for.

The outbox decides for each message as a worker claims it (``outbox.MessageOutbox``); a message
not let through is *withheld*, with the reason staff read. Confirming is what the owner does
anyway: opening the status link of an e-mail (the link carries ``status_link_token``), or writing
to the business on WhatsApp (Meta's webhook reports the message). Then every message of theirs
flows, those withheld in the last day included (``RELEASED_KINDS``).
"""

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from tickets.models import Recipient, Submission

Channel = Recipient.Channel

# Why a message was withheld (shown to staff in their language: ``in_language``).
EMAIL_DAY_USED = gettext_noop(
    "Not sent: the recipient has not confirmed this address (by opening a link from our "
    "e-mails), and another request's e-mails have already gone to it today."
)
WHATSAPP_UNCONFIRMED = gettext_noop(
    "Not sent: the number has not written to the business on WhatsApp yet, so it has not "
    "confirmed that it wants these messages."
)
WHATSAPP_CODE_DAY_USED = gettext_noop(
    "Not sent: the number has not written to the business on WhatsApp yet, and its one code a "
    "day has already gone."
)
# Withheld messages that go once their recipient confirms (a code has expired by then).
RELEASED_KINDS = ("receipt", "ticket_number", "rejected", "cancelled", "reopened")
ACCESS_CODE = "access_code"
# Mailboxes that ignore dots in the local part: the same inbox under many spellings.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def recipient_digest(*, channel: str, address: str) -> str:
    """The keyed digest of an address as its mailbox or phone reads it: ``A.Gung+x@Gmail.com``
    and ``agung@gmail.com`` are one inbox, and one recipient."""
    return _keyed(f"recipient:{channel}:{_normalized(channel, address)}")


def _normalized(channel: str, address: str) -> str:
    if channel != Channel.EMAIL:
        return "".join(character for character in address if character.isdigit())
    local, _at, domain = address.strip().lower().rpartition("@")
    local = local.partition("+")[0]
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def _keyed(message: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def recipient_get(*, channel: str, address: str, lock: bool = False) -> Recipient:
    """The recipient of ``address`` on ``channel``, written the first time it is named;
    ``lock``: locked for the current transaction."""
    digest = recipient_digest(channel=channel, address=address)
    recipients = Recipient.objects.select_for_update() if lock else Recipient.objects
    recipient = recipients.filter(channel=channel, digest=digest).first()
    if recipient is not None:
        return recipient
    try:
        with transaction.atomic():
            Recipient.objects.create(channel=channel, digest=digest)
    except IntegrityError:
        pass  # named by another request at the same moment
    return recipients.get(channel=channel, digest=digest)


def recipient_withholds(
    *, recipient: Recipient, kind: str, message_id: int, submission_id: int | None, now: datetime
) -> str:
    """Why ``recipient`` (locked) may not have the message ``message_id`` of ``kind``, about the
    request ``submission_id``, now, or "" when it may: confirmed, the day's one message (taken
    by this one, if still free), or another update of the request that took the day. A code is
    never such an update: each code is asked for anew, so a stranger could ask for many."""
    if recipient.confirmed_at is not None or recipient.allowance_message_id == message_id:
        return ""
    if recipient.channel == Channel.WHATSAPP and kind != ACCESS_CODE:
        return WHATSAPP_UNCONFIRMED
    used = recipient.allowance_used_at
    if used is not None and used > now - Recipient.DAY:
        if kind != ACCESS_CODE and recipient.allowance_submission_id == submission_id:
            return ""
        return EMAIL_DAY_USED if recipient.channel == Channel.EMAIL else WHATSAPP_CODE_DAY_USED
    recipient.allowance_used_at, recipient.allowance_message_id = now, message_id
    recipient.allowance_submission_id = None if kind == ACCESS_CODE else submission_id
    recipient.save(
        update_fields=["allowance_used_at", "allowance_message_id", "allowance_submission_id"]
    )
    return ""


def recipient_confirm(*, channel: str, address: str, now: datetime) -> Recipient | None:
    """Mark ``address`` as confirmed by its owner, locked for the current transaction; None when
    it already was (nothing withheld waits for it)."""
    recipient = recipient_get(channel=channel, address=address, lock=True)
    if recipient.confirmed_at is not None:
        return None
    recipient.confirmed_at = now
    recipient.save(update_fields=["confirmed_at"])
    return recipient


def recipients_erase(*, email: str = "", phone: str = "") -> int:
    """Forget the confirmation of a customer's address and number (erasure on request)."""
    deleted = 0
    for channel, address in ((Channel.EMAIL, email), (Channel.WHATSAPP, phone)):
        if address:
            digest = recipient_digest(channel=channel, address=address)
            deleted += Recipient.objects.filter(channel=channel, digest=digest).delete()[0]
    return deleted


def status_link_token(submission: Submission) -> str:
    """What the status link in the request's e-mails carries: proof that whoever opens it read an
    e-mail sent to the request's address (the form's sender never sees it)."""
    digest = recipient_digest(channel=Channel.EMAIL, address=submission.email)
    return _keyed(f"status-link:{submission.public_id}:{digest}")[:32]


def status_link_token_is_valid(submission: Submission, token: str) -> bool:
    if not (submission.email and token):
        return False
    return hmac.compare_digest(status_link_token(submission).encode(), token.encode())
