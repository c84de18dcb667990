"""django-otp-webauthn's own texts that a staff member may see (a passkey refused, shown by its
script), which it has no Malay or Indonesian for. Named here, word for word, so that
``scripts/messages.sh`` puts them in the portal's catalogue, which Django reads first. Its
script's texts are in locale/*/LC_MESSAGES/djangojs.po, served by its own JavaScript catalogue."""

from django.utils.translation import gettext_noop as _

LIBRARY_TEXTS = (
    _("Error processing WebAuthn request."),
    _("Malformed request. JSON not parsable."),
    _(
        "State is missing or invalid. Please begin the operation first before trying to "
        "complete it."
    ),
    _("Unprocessable Entity"),
    _("Passwordless login is disabled."),
    _("This user account is marked as disabled."),
    _("This Passkey has been marked as disabled."),
    _("The Passkey you tried to use was not found. Perhaps it was removed?"),
    _(
        "The Passkey you tried to use does not belong to the currently logged-in user. Try "
        "using a different Passkey or logout first to use this Passkey."
    ),
    _("Authentication required."),
    _("User is not verified."),
    _(
        "You must verify your identity first with an existing MFA device before you can "
        "register a new passkey."
    ),
)
