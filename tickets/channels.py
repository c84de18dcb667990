"""The ways the portal reaches a customer besides the status page: e-mail always, and WhatsApp
once its number and token are set. The forms that offer the opt-in, the delivery that sends and
the system checks all ask here."""

from urllib.parse import urlencode

from django.conf import settings


def whatsapp_is_on() -> bool:
    """Whether customers are offered WhatsApp updates: the number and the token are set."""
    return bool(settings.WHATSAPP["PHONE_NUMBER_ID"] and settings.WHATSAPP["ACCESS_TOKEN"])


def whatsapp_missing_settings() -> list[str]:
    """The settings WhatsApp still needs, by environment variable, once it is on."""
    if not whatsapp_is_on():
        return []
    missing = [
        f"WHATSAPP_TEMPLATE_{kind.upper()}"
        for kind, name in settings.WHATSAPP["TEMPLATES"].items()
        if not name
    ]
    for name in ("APP_SECRET", "VERIFY_TOKEN", "BUSINESS_NUMBER"):
        if not settings.WHATSAPP[name]:
            missing.append(f"WHATSAPP_{name}")
    return missing


def whatsapp_chat_url(text: str) -> str:
    """WhatsApp's click-to-chat link to the business number, with ``text`` written in the
    message (a customer's first message confirms their number); "" while WhatsApp is off or
    the number is not set."""
    number = settings.WHATSAPP["BUSINESS_NUMBER"]
    if not (whatsapp_is_on() and number):
        return ""
    return f"https://wa.me/{number}?{urlencode({'text': text})}"
