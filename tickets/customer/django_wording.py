"""Django's own messages that its Malay catalogue gets wrong ("sepalingnya", "karater", "fial"),
or that say "field" in another word than the portal's (docs/glossary.md: "medan", "bidang").

Marked here so that makemessages keeps them in the portal's catalogues, which Django reads before
its own (LOCALE_PATHS); the Indonesian ones are Django's wording, kept alongside.
"""

from django.utils.translation import gettext_lazy, ngettext_lazy

CORRECTED = (
    gettext_lazy("This field is required."),
    ngettext_lazy(
        "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    ngettext_lazy(
        "Ensure this filename has at most %(max)d character (it has %(length)d).",
        "Ensure this filename has at most %(max)d characters (it has %(length)d).",
        "max",
    ),
)
