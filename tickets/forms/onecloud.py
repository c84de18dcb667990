"""The OneCloud support form: the documented "Tiket - Create" fields and limits, nothing else."""

from crispy_forms.layout import Field, Fieldset
from django import forms
from django.utils.translation import gettext_lazy as _

from ..choices import onecloud_category_choices
from ..models import Provider
from .base import SubmissionForm
from .fields import LongTextField, UploadField, latitude_field, longitude_field
from .layout import LocationFieldset
from .uploads import DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS


class OneCloudForm(SubmissionForm):
    provider = Provider.ONECLOUD
    title = _("OneCloud support")
    summary = _(
        "Questions, requests, complaints or problems with your OneCloud service. "
        "Add a picture or a document if it helps explain."
    )

    name = forms.CharField(
        label=_("Full name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        help_text=_("The support team replies to this address."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            ("", _("Choose a category")),
            *onecloud_category_choices(),
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

    def layout_fields(self) -> list:
        return [
            Fieldset(_("About you"), "name", "email"),
            Fieldset(_("Your request"), "category", "subject", "content"),
            Fieldset(
                _("Files (optional)"),
                Field("attachment", template="tickets/_file_field.html"),
                Field("file", template="tickets/_file_field.html"),
            ),
            LocationFieldset(_("Location (optional)"), "latitude", "longitude"),
        ]
