"""How submissions look in the staff console: statuses, personal data, calls, map, fields, and
the one timeline of everything that happened to a request."""

import json
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from tickets.models import Status
from tickets.providers import provider_label, provider_or_none

MAP_ZOOM = 17

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
    Status.CHECKING: "?",  # a person decides
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
            '<span aria-hidden="true">{}</span> {}</span>',
            WARNING_ICON,
            _("possible duplicate"),
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


def customer_details(submission) -> list[dict]:
    """The customer's fields as staff read them: the provider form's labels, choices as words.

    A submission whose provider is no longer configured shows its fields by name.
    """
    data = submission.customer_data
    provider = provider_or_none(submission.provider)
    if provider is None:
        return [
            {"name": name, "label": name, "value": _display(value)}
            for name, value in data.items()
            if value not in (None, "")
        ]
    rows = []
    for name, field in provider.form_class.customer_fields(provider=provider).items():
        value = data.get(name)
        choices = dict(getattr(field, "choices", None) or ())
        if value in choices:
            label = str(choices[value])
            value = label if label == str(value) else f"{label} ({value})"
        rows.append({"name": name, "label": field.label or name, "value": _display(value)})
    return rows


def whatsapp_consent(submission) -> dict | None:
    """On which form and in which language the customer agreed to WhatsApp updates."""
    if not submission.whatsapp_opt_in_at:
        return None
    alias, _sep, language = submission.whatsapp_opt_in.partition(":")
    try:
        language_name = get_language_info(language)["name_local"]
    except KeyError:
        language_name = language
    return {"form": provider_label(alias), "language": language_name}


def staff_history(submission, corrections) -> list:
    """Each correction, cancel, reopen and duplicate check, its ``rows`` the changes in words:
    (the staff's label of the field, before, after)."""
    labels = {"status": _("Status"), "possible_duplicate": _("Possible duplicate")}
    provider = provider_or_none(submission.provider)
    if provider is not None:
        fields = provider.form_class.customer_fields(provider=provider)
        labels.update({name: str(field.label or name) for name, field in fields.items()})
    for correction in corrections:
        correction.rows = [
            (labels.get(name, name), _history_value(name, before), _history_value(name, after))
            for name, (before, after) in correction.changes.items()
        ]
    return corrections


def _history_value(name: str, value) -> str:
    if name == "status" and value in Status.values:
        return Status(value).label
    return _display(value)


def _display(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def map_context(submission) -> dict | None:
    if submission.latitude is None or submission.longitude is None:
        return None
    lat, lng = str(submission.latitude), str(submission.longitude)
    return {
        "lat": lat,
        "lng": lng,
        "zoom": MAP_ZOOM,
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "osm_url": (
            f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lng})}"
            f"#map={MAP_ZOOM}/{lat}/{lng}"
        ),
    }


def pretty(text_or_data) -> str:
    """JSON indented for reading; anything else as it came."""
    if isinstance(text_or_data, str):
        try:
            text_or_data = json.loads(text_or_data)
        except ValueError:
            return text_or_data
    return json.dumps(text_or_data, indent=2, ensure_ascii=False, sort_keys=False)


def timeline_entry(call) -> dict:
    return {
        "attempt": call,
        "error_badge": format_html(
            '<span class="error-class error-class-{}">{}</span>',
            call.error_class,
            call.get_error_class_display(),
        ),
        "request": pretty(call.request) if call.request else "",
        "response": pretty(call.response) if call.response else "",
    }


def attachment_rows(submission, attachments) -> list[dict]:
    """Each file with its download link and the label of the form field it came in."""
    provider = provider_or_none(submission.provider)
    labels = {}
    if provider is not None:
        labels = {
            name: provider.form_class.base_fields[name].label
            for name in provider.form_class.upload_field_names()
        }
    return [
        {
            "attachment": attachment,
            "role": labels.get(attachment.role, attachment.role),
            "url": reverse(
                "admin:tickets_submission_attachment", args=[submission.pk, attachment.pk]
            ),
        }
        for attachment in attachments
    ]


# What the list shows of a request's subject or issue: enough to tell requests apart at a glance.
ABOUT_LENGTH = 60
# A staff action logged by the admin this close to a correction by the same person is that
# correction (the action records both), so the timeline shows it once.
SAME_ACTION = timedelta(seconds=10)
# The statuses a request ends in after its last call, shown as that call's outcome.
ENDED_BY_DELIVERY = {Status.FAILED, Status.REJECTED, Status.HELD}


def request_about(submission, *, length: int | None = ABOUT_LENGTH) -> str:
    """What the request is about, in the customer's words (a subject, an issue), shortened."""
    provider = provider_or_none(submission.provider)
    about = provider.request_summary(submission) if provider is not None else ""
    return Truncator(about).chars(length) if length else about


def timeline(
    submission, *, calls, corrections, log_entries, emails, whatsapp_messages
) -> list[dict]:
    """Everything that happened to ``submission``, newest first: one entry each for its arrival,
    every call to the provider, each status it was moved to, each staff action, every e-mail and
    WhatsApp message. Each entry has ``kind`` (its template's name), ``at`` and what it shows.

    ``corrections`` come from ``staff_history`` (with their ``rows``).
    """
    entries = [
        _entry(
            "status",
            submission.created_at,
            badge=status_badge(Status.QUEUED),
            text=_("Received from the customer."),
        ),
    ]
    if submission.whatsapp_opt_in_at:
        entries.append(
            _entry("consent", submission.whatsapp_opt_in_at, consent=whatsapp_consent(submission))
        )
    entries += [_entry("call", call.started_at, **timeline_entry(call)) for call in calls]
    if submission.sent_at:
        entries.append(
            _entry(
                "status",
                submission.sent_at,
                badge=status_badge(Status.SENT),
                text=_("Ticket %(number)s made at the provider.")
                % {"number": submission.customer_ticket_number},
            )
        )
    if submission.status in ENDED_BY_DELIVERY:
        entries.append(
            _entry(
                "status",
                submission.updated_at,
                badge=status_badge(submission.status),
                text=submission.last_error,
            )
        )
    entries += [_staff_entry(correction) for correction in corrections]
    entries += [
        _entry("staff", log.action_time, who=log.user, note=log.get_change_message(), rows=[])
        for log in log_entries
        if not _recorded_as_correction(log, corrections)
    ]
    entries += [_entry("email", email.created_at, message=email) for email in emails]
    entries += [
        _entry("whatsapp", message.created_at, message=message) for message in whatsapp_messages
    ]
    # Newest first; of two at the same moment, the later-listed one happened later.
    return [
        entry
        for _position, entry in sorted(
            enumerate(entries), key=lambda pair: (pair[1]["at"], pair[0]), reverse=True
        )
    ]


def _entry(kind: str, at: datetime, **shown) -> dict:
    template = f"admin/tickets/submission/timeline/{kind}.html"
    return {"kind": kind, "template": template, "at": at, **shown}


def _staff_entry(correction) -> dict:
    status = correction.changes.get("status")
    return _entry(
        "staff",
        correction.changed_at,
        who=correction.changed_by,
        note=correction.note,
        moved=(status_badge(status[0]), status_badge(status[1])) if status else None,
        rows=[
            row
            for row, name in zip(correction.rows, correction.changes, strict=True)
            if name != "status"
        ],
    )


def _recorded_as_correction(log, corrections) -> bool:
    return any(
        correction.changed_by_id == log.user_id
        and abs(correction.changed_at - log.action_time) <= SAME_ACTION
        for correction in corrections
    )
