"""The words of each WhatsApp template, as the operator has Meta approve them in en, ms and id
(docs/operations.md): ``{{1}}``, ``{{2}}``... stand for the values ``service.template_parameters``
fills in. Meta holds the approved words and the portal sends only the values; these are the
words the catalogues translate, for the operator to submit and for the sandbox to show each
message as the customer reads it."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_noop

TEMPLATE_TEXTS = {
    "receipt": gettext_noop("We have your request {{1}} for {{2}}. Follow it at {{3}}"),
    "ticket_number": gettext_noop("Your request {{1}} has ticket number {{2}}. Details: {{3}}"),
    "rejected": gettext_noop(
        "Your request {{1}} needs a correction; our staff will follow it up: {{2}}"
    ),
    "cancelled": gettext_noop("Your request {{1}} was closed by our staff: {{2}}"),
    "reopened": gettext_noop(
        "Your request {{1}} goes ahead after all: our staff reopened it and it is being sent. "
        "Please do not send a new request. {{2}}"
    ),
    # Meta's own words for an authentication template, in every language it offers.
    "access_code": gettext_noop("{{1}} is your verification code."),
}


def template_kind(name: str) -> str | None:
    """The message kind whose template is named ``name`` in the settings, or None."""
    for kind, configured in settings.WHATSAPP["TEMPLATES"].items():
        if configured == name:
            return kind
    return None


def message_text(kind: str, *, language: str, parameters: list[str]) -> str:
    """The message ``kind`` as the customer reads it: its words in ``language``, the values in
    their places."""
    with translation.override(language):
        text = translation.gettext(TEMPLATE_TEXTS[kind])
    for number, value in enumerate(parameters, start=1):
        text = text.replace(f"{{{{{number}}}}}", value)
    return text
