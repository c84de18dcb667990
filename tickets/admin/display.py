"""How statuses and personal data look in the staff console."""

from django.utils.html import format_html
from django.utils.safestring import SafeString

from tickets.models import Status

# An icon and a word for each status, so the colour is never the only signal. The icons are
# hidden from screen readers, which read the word.
STATUS_ICONS = {
    Status.QUEUED: "\u25f7",  # ◷ waiting
    Status.SENDING: "\u279c",  # ➜ on its way
    Status.RETRYING: "\u21bb",  # ↻ will try again
    Status.HELD: "\u2016",  # ‖ paused
    Status.SENT: "\u2713",  # ✓
    Status.REJECTED: "\u2298",  # ⊘ refused
    Status.FAILED: "\u2715",  # ✕
    Status.CANCELLED: "\u2013",  # en dash: stopped
}
# U+FE0E asks for the text form of the sign, not a colour emoji.
WARNING_ICON = "\u26a0\ufe0e"


def status_badge(status: str, *, possible_duplicate: bool = False) -> SafeString:
    label = Status(status).label if status in Status.values else status
    badge = format_html(
        '<span class="status-badge status-{}"><span aria-hidden="true">{}</span> {}</span>',
        status,
        STATUS_ICONS.get(status, "?"),
        label,
    )
    if possible_duplicate:
        badge += format_html(
            ' <span class="status-badge status-duplicate">'
            '<span aria-hidden="true">{}</span> possible duplicate</span>',
            WARNING_ICON,
        )
    return badge


def masked_email(email: str) -> str:
    """``agung@email.com`` as ``a***@email.com``: enough to tell customers apart in a list."""
    if not email:
        return ""
    local, at, domain = email.partition("@")
    if not at:
        return local[:1] + "***"
    return f"{local[:1]}***@{domain}"
