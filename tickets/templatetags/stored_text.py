"""``{{ value|in_language }}``: a sentence the portal stored in English (marked with
``gettext_noop`` where it is written, e.g. why a message was not sent), shown in the reader's
language; any other text (a mail server's or Meta's words) as it was stored."""

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def in_language(value: str) -> str:
    return gettext(value) if value else value
