"""Form fields shared by both forms: e-mail addresses, phone numbers, coordinates, long text and
uploads."""

from decimal import ROUND_HALF_UP, Decimal

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from tickets.forms.image_metadata import strip_metadata
from tickets.forms.uploads import KeptUpload, check_upload, read_kept_upload

# A phone is stored in at most 16 digits once normalised (Submission.phone, and the strictest
# provider's limit); what people type has spaces, dashes and a plus ("+60 (12) 345-6789" is 17),
# so the browser allows a little more.
PHONE_MAX_DIGITS = 16
PHONE_TYPED_MAX_LENGTH = 24
# How a number of each country a form reads is written, nationally and internationally: a form's
# help and error give these examples (phonenumbers' own for any other country), each one a number
# that form takes.
PHONE_EXAMPLES = {
    "MY": ("012-345 6789", "+60 12-345 6789"),
    "ID": ("0812-3456-7890", "+62 812-3456-7890"),
}
# A number of a country a form also serves, but does not read national numbers of, needs its code.
PHONE_ALSO_TAKEN = {
    "MY": _("A Malaysian number needs +60, such as %(example)s."),
    "ID": _("An Indonesian number needs +62, such as %(example)s."),
}
COORDINATE_STEP = Decimal("0.000001")  # 6 decimals: about 11 cm, as each provider's README.md allow


def phone_examples(region: str) -> tuple[str, str]:
    """A mobile number of ``region`` as typed there and as typed from abroad."""
    if region in PHONE_EXAMPLES:
        return PHONE_EXAMPLES[region]
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return PHONE_EXAMPLES["MY"]
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return national, international


class LongTextField(forms.CharField):
    """A textarea whose limit counts a line break once, as the browser's maxlength does."""

    widget = forms.Textarea

    def to_python(self, value):
        # Browsers count a line break as one character but send it as CRLF (two), so a text
        # the browser let through could otherwise fail the server's limit.
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


class CustomerEmailField(forms.EmailField):
    """An everyday address (name@example.com): the quoted local parts RFC 5322 allows
    (``"a,b"@example.com``) pass Django's check, but mail servers and providers refuse them."""

    widget = forms.EmailInput(attrs={"autocomplete": "email"})

    def to_python(self, value):
        value = super().to_python(value)
        if value and any(character in value for character in '",;<>\\ '):
            raise ValidationError(validate_email.message, code="invalid")
        return value


class PhoneNumberField(forms.CharField):
    """A phone number as typed, stored as digits with the country code and no plus.

    ``region``: the country of a number typed without its code ("0812..." in Indonesia);
    ``PHONE_DEFAULT_REGION`` unless given. ``also``: other countries the form serves, whose
    numbers are taken with their country code. ``help_text`` may hold ``%(national)s`` and
    ``%(international)s``: the examples of ``region``, filled in as the page is drawn; the
    help then says how to type numbers of the ``also`` countries too, as the error does.
    """

    widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"})
    default_error_messages = {
        "invalid": _("Enter a phone number such as %(national)s or %(international)s."),
        "too_long": _("This phone number is too long (at most %(max)d digits)."),
    }

    def __init__(
        self, *, region: str | None = None, also: tuple[str, ...] = (), help_text="", **kwargs
    ):
        self.region = region
        self.also = also
        words = help_text
        shown = lazy(lambda: self.with_examples(words), str)() if words else ""
        super().__init__(help_text=shown, **kwargs)

    def reads_as(self) -> str:
        """The country of a number typed without its code on this field (a setting, read as
        the form is used)."""
        return self.region or settings.PHONE_DEFAULT_REGION

    def with_examples(self, text) -> str:
        """``text`` with this field's examples in it, then how to type the ``also`` countries'."""
        national, international = phone_examples(self.reads_as())
        words = [str(text) % {"national": national, "international": international}]
        words += [
            str(PHONE_ALSO_TAKEN[country]) % {"example": phone_examples(country)[1]}
            for country in self.also
        ]
        return " ".join(words)

    def invalid_message(self) -> str:
        """What to type instead of a number this field does not take: examples it takes."""
        return self.with_examples(self.error_messages["invalid"])

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs["maxlength"] = str(PHONE_TYPED_MAX_LENGTH)
        return attrs

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        if len(value) > PHONE_TYPED_MAX_LENGTH * 2:
            raise ValidationError(self.invalid_message(), code="invalid")
        try:
            number = phonenumbers.parse(value, self.reads_as())
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(self.invalid_message(), code="invalid") from exc
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(self.invalid_message(), code="invalid")
        digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
        if len(digits) > PHONE_MAX_DIGITS:
            raise ValidationError(
                self.error_messages["too_long"], code="too_long", params={"max": PHONE_MAX_DIGITS}
            )
        return digits


def whatsapp_updates_field() -> forms.BooleanField:
    """The customer's opt-in to WhatsApp updates, as Meta requires it: unticked, next to the
    phone number it goes to (``SubmissionForm`` drops it while WhatsApp is off)."""
    return forms.BooleanField(
        label=_("Send me updates on WhatsApp"),
        help_text=_(
            "The receipt and the ticket number, to the phone number above. They start once you "
            "write to us on WhatsApp: the page after you send has a button that opens WhatsApp "
            "with your reference written. Reply STOP to end them."
        ),
        required=False,
        initial=False,
    )


class CoordinateField(forms.DecimalField):
    """Latitude or longitude in decimal degrees, rounded to 6 decimals."""

    def __init__(self, *, limit: int, invalid_message, range_message, **kwargs):
        kwargs.setdefault("widget", forms.NumberInput(attrs={"inputmode": "decimal"}))
        super().__init__(min_value=-limit, max_value=limit, **kwargs)
        # One clear sentence for every way a value can be wrong (text, NaN, out of range).
        self.error_messages.update(
            {"invalid": invalid_message, "min_value": range_message, "max_value": range_message}
        )

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        # More decimals than 6 is a finer position than anyone can tap: round, do not refuse.
        return value.quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)


def latitude_field(**kwargs) -> CoordinateField:
    return CoordinateField(
        limit=90,
        label=_("Latitude"),
        invalid_message=_("Enter the latitude as a number of degrees, such as 3.157300."),
        range_message=_("Latitude must be between -90 and 90 degrees."),
        **kwargs,
    )


def longitude_field(**kwargs) -> CoordinateField:
    return CoordinateField(
        limit=180,
        label=_("Longitude"),
        invalid_message=_("Enter the longitude as a number of degrees, such as 101.712200."),
        range_message=_("Longitude must be between -180 and 180 degrees."),
        **kwargs,
    )


# --- uploads ------------------------------------------------------------------------------
class KeptToken(str):
    """The signed token of a file kept from an earlier, failed submission of the form."""


def kept_field_name(name: str) -> str:
    return f"{name}_kept"


class KeepableFileInput(forms.FileInput):
    """A file input that also reads back the "keep the file you chose" checkbox.

    ``kept`` is set on a form's own copy of the widget when a valid file is being kept.
    """

    kept: KeptUpload | None = None

    def value_from_datadict(self, data, files, name):
        upload = files.get(name)
        if upload:
            return upload  # a newly chosen file replaces the kept one
        token = data.get(kept_field_name(name))
        return KeptToken(token) if token else None

    def value_omitted_from_data(self, data, files, name):
        return name not in files and kept_field_name(name) not in data


class UploadField(forms.FileField):
    """An optional file, checked by size, extension and content; a picture loses its metadata."""

    widget = KeepableFileInput

    def __init__(self, *, allowed: dict[str, str], **kwargs):
        self.allowed = allowed
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)
        self.error_messages["max_length"] = _("This file name is too long (at most 255 letters).")

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        extensions = ",".join(f".{extension}" for extension in sorted(self.allowed))
        attrs["accept"] = ",".join([extensions, *sorted(set(self.allowed.values()))])
        return attrs

    def to_python(self, data):
        # Pictures leave this field without their metadata however they came: checked first,
        # then stripped. A kept one was stripped when it was kept, so stripping it again finds
        # nothing to remove and hands back the same file.
        if isinstance(data, KeptToken):
            kept, upload = read_kept_upload(data)
            upload = strip_metadata(upload, upload.content_type)
            upload.kept = kept
            return upload
        upload = super().to_python(data)
        if upload is not None:
            upload.content_type = check_upload(upload, self.allowed)
            upload = strip_metadata(upload, upload.content_type)
        return upload
