"""WhatsApp, the customer's second channel beside e-mail, through Meta's WhatsApp Cloud API.

``client`` speaks the API (one template message per call, every failure classed as the
providers' are); ``webhook`` checks what Meta sends back (statuses, replies); ``sandbox`` is a
fake of both sides for ``make run`` and the tests; the service that queues and sends the
messages and takes in the webhook's news is ``tickets.services.whatsapp``.
"""

from django.conf import settings

# Meta's names for the portal's languages, in the template's language object.
TEMPLATE_LANGUAGES = {"en": "en", "ms": "ms", "id": "id"}


def is_on() -> bool:
    """Whether customers are offered WhatsApp updates: the number and the token are set."""
    return bool(settings.WHATSAPP["PHONE_NUMBER_ID"] and settings.WHATSAPP["ACCESS_TOKEN"])


def missing_settings() -> list[str]:
    """The settings WhatsApp still needs, by environment variable, once it is on."""
    if not is_on():
        return []
    missing = [
        f"WHATSAPP_TEMPLATE_{kind.upper()}"
        for kind, name in settings.WHATSAPP["TEMPLATES"].items()
        if not name
    ]
    for name in ("APP_SECRET", "VERIFY_TOKEN"):
        if not settings.WHATSAPP[name]:
            missing.append(f"WHATSAPP_{name}")
    return missing
