"""The OneCloud support form: the documented "Tiket - Create" fields and limits, nothing else."""

from crispy_forms.layout import Field, Fieldset
from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.forms.base import SubmissionForm
from tickets.forms.fields import (
    CustomerEmailField,
    LongTextField,
    PhoneNumberField,
    UploadField,
    latitude_field,
    longitude_field,
    whatsapp_updates_field,
)
from tickets.forms.layout import LocationFieldset
from tickets.forms.uploads import DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS

# The default categories, so that their labels can be translated; the value sent stays the
# configured English word. A category added in the settings shows as configured.
KNOWN_CATEGORY_LABELS = {
    "Request": _("Request"),
    "Question": _("Question"),
    "Complaint": _("Complaint"),
    "Problem": _("Problem"),
}


def category_choices(categories: list[str]) -> list[tuple[str, str]]:
    return [(category, KNOWN_CATEGORY_LABELS.get(category, category)) for category in categories]


class OneCloudForm(SubmissionForm):
    # Field names are the portal's; client.py maps them to OneCloud's keys (fullName, contact...).
    staff_labels = {
        "name": _("Name"),
        "phone": _("Phone number"),
        "whatsapp_updates": _("WhatsApp updates"),
        "content": _("Description"),
    }

    name = forms.CharField(
        label=_("Full name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = CustomerEmailField(
        label=_("E-mail"),
        max_length=254,
        help_text=_("The support team replies to this address."),
    )
    # Not OneCloud's: kept here for WhatsApp updates, never sent to OneCloud.
    phone = PhoneNumberField(
        label=_("Phone number (optional)"),
        help_text=_("For WhatsApp updates, for example %(national)s or %(international)s."),
        required=False,
        # OneCloud's customers are in Indonesia and Malaysia: "0812..." is read as Indonesian.
        region="ID",
        also=("MY",),
    )
    whatsapp_updates = whatsapp_updates_field()
    subject = forms.CharField(label=_("Subject"), max_length=200)
    category = forms.ChoiceField(label=_("Category"))
    content = LongTextField(
        label=_("Describe your request"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachment = UploadField(
        label=_("Picture"),
        required=False,
        allowed=IMAGE_EXTENSIONS,
        help_text=_("Optional. A JPEG or PNG picture, such as a screenshot or a photo."),
    )
    file = UploadField(
        label=_("Document"),
        required=False,
        allowed=DOCUMENT_EXTENSIONS,
        help_text=_(
            "Optional. Word, Excel, PowerPoint, PDF, CSV or text file, or a JPEG or PNG picture."
        ),
    )
    latitude = latitude_field(required=False)
    longitude = longitude_field(required=False)

    @classmethod
    def configure_fields(cls, fields, *, provider) -> None:
        # The categories are a setting, read when the form is made, never at import.
        fields["category"].choices = [
            ("", _("Choose a category")),
            *category_choices(provider.categories),
        ]

    def clean(self):
        cleaned_data = super().clean()
        latitude, longitude = cleaned_data.get("latitude"), cleaned_data.get("longitude")
        # OneCloud's coordinate is one "lat,long" value: both halves or neither.
        if latitude is None and longitude is not None and "latitude" not in self.errors:
            self.add_error("latitude", _("Give the latitude too, or leave both empty."))
        if longitude is None and latitude is not None and "longitude" not in self.errors:
            self.add_error("longitude", _("Give the longitude too, or leave both empty."))
        return cleaned_data

    def phone_fields(self) -> list[str]:
        """The phone number is asked only for WhatsApp updates: not while WhatsApp is off."""
        return ["phone", *self.whatsapp_fields()] if self.whatsapp_fields() else []

    def layout_fields(self) -> list:
        return [
            Fieldset(_("About you"), "name", "email", *self.phone_fields()),
            Fieldset(_("Your request"), "category", "subject", "content"),
            Fieldset(
                _("Files (optional)"),
                Field("attachment", template="tickets/_file_field.html"),
                Field("file", template="tickets/_file_field.html"),
            ),
            LocationFieldset(_("Location (optional)"), "latitude", "longitude"),
        ]
