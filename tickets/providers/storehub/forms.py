"""The StoreHub on-site service form: the documented Ticket and Appointment fields and limits."""

from crispy_forms.layout import Fieldset
from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.forms.base import SubmissionForm
from tickets.forms.fields import (
    CustomerEmailField,
    LongTextField,
    PhoneNumberField,
    latitude_field,
    longitude_field,
    whatsapp_updates_field,
)
from tickets.forms.layout import LocationFieldset
from tickets.providers.storehub.choices import STATE_CHOICES, Priority, StoreHubService


class StoreHubForm(SubmissionForm):
    # Field names are the portal's; client.py maps them to StoreHub's Ticket and Appointment.
    staff_labels = {
        "name": _("Name"),
        "receive_sms": _("SMS updates"),
        "whatsapp_updates": _("WhatsApp updates"),
        "remark": _("Description"),
    }

    name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = PhoneNumberField(
        label=_("Phone number"),
        help_text=_("Mobile or landline, for example %(national)s or %(international)s."),
    )
    email = CustomerEmailField(
        label=_("E-mail"),
        max_length=100,
        required=False,
    )
    whatsapp_updates = whatsapp_updates_field()
    receive_sms = forms.BooleanField(
        label=_("Send me SMS updates about this visit"), required=False, initial=False
    )
    store_name = forms.CharField(
        label=_("Shop name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    dealer_reseller = forms.CharField(
        label=_("Dealer or reseller"),
        max_length=50,
        required=False,
        help_text=_("If you bought your system through a dealer, their name."),
    )
    address = LongTextField(
        label=_("Shop address"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "street-address"}),
    )
    state = forms.ChoiceField(label=_("State"), choices=[("", _("Choose a state")), *STATE_CHOICES])
    latitude = latitude_field(
        error_messages={"required": _("Tap the map where your shop is, or type its latitude.")}
    )
    longitude = longitude_field(
        error_messages={"required": _("Tap the map where your shop is, or type its longitude.")}
    )
    service_id = forms.TypedChoiceField(
        label=_("Service"),
        coerce=int,
        choices=[("", _("Choose a service")), *StoreHubService.choices],
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=Priority.choices,
        initial=Priority.NORMAL,
        widget=forms.RadioSelect,
    )
    issue = forms.CharField(
        label=_("Issue"),
        max_length=500,
        help_text=_("In a few words, for example: receipt printer not printing."),
    )
    remark = LongTextField(
        label=_("Describe your issue"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def layout_fields(self) -> list:
        return [
            Fieldset(
                _("About you"), "name", "phone", *self.whatsapp_fields(), "email", "receive_sms"
            ),
            Fieldset(_("Your shop"), "store_name", "dealer_reseller", "address", "state"),
            LocationFieldset(_("Where is your shop?"), "latitude", "longitude"),
            Fieldset(_("The visit"), "service_id", "priority", "issue", "remark"),
        ]
