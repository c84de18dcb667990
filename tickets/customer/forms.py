"""The "Find my request" forms: the reference and phone number, then the code sent."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets.customer.access import CODE_DIGITS, normalized_reference


class FindRequestForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference"),
        max_length=20,
        help_text=_("From your receipt or the status page, for example REQ-7EB8RK."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        help_text=_("The one you gave in the request."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_reference(self) -> str:
        reference = normalized_reference(self.cleaned_data["reference"])
        if not reference:
            raise ValidationError(_("A reference looks like REQ-7EB8RK."))
        return reference


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        min_length=CODE_DIGITS,
        max_length=CODE_DIGITS,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = gettext("The %(digits)d digits we sent.") % {
            "digits": CODE_DIGITS
        }
