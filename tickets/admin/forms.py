"""The "correct and resend" form: the customer fields of one provider, and a reason."""

from django import forms
from django.forms.models import model_to_dict

from tickets.choices import STATE_CHOICES, StoreHubService, onecloud_category_choices
from tickets.forms.fields import PhoneNumberField, latitude_field, longitude_field
from tickets.models import Provider, Submission
from tickets.services import CUSTOMER_FIELDS, REQUIRED_FIELDS


class CorrectionFormBase(forms.Form):
    note = forms.CharField(
        label="Why",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept with the correction: what was wrong, and what the provider said.",
        max_length=2000,
    )


def correction_form_class(provider: str) -> type[forms.Form]:
    """A form with exactly the fields the provider takes, validated like the model fields."""
    names = CUSTOMER_FIELDS[provider]
    fields = forms.fields_for_model(Submission, fields=names)
    # The same rules as the customer's form: a phone typed any way is stored as digits with the
    # country code; coordinates in range, rounded to 6 decimals.
    fields["latitude"] = latitude_field(required=False)
    fields["longitude"] = longitude_field(required=False)
    if "phone" in fields:
        fields["phone"] = PhoneNumberField(label="Phone", required=False)
    # The documented lists, as on the customer's form, instead of free text.
    if provider == Provider.ONECLOUD:
        fields["category"] = forms.ChoiceField(
            label="Category", choices=[("", "---------"), *onecloud_category_choices()]
        )
    if provider == Provider.STOREHUB:
        fields["state"] = forms.ChoiceField(
            label="State", choices=[("", "---------"), *STATE_CHOICES]
        )
        fields["service_id"] = forms.TypedChoiceField(
            label="Service", choices=[("", "---------"), *StoreHubService.choices], coerce=int
        )
    for name in REQUIRED_FIELDS[provider]:
        fields[name].required = True
    attrs = {**fields, "field_order": [*names, "note"]}
    return type(f"{provider.title()}CorrectionForm", (CorrectionFormBase,), attrs)


def correction_initial(submission: Submission) -> dict:
    initial = model_to_dict(submission, fields=CUSTOMER_FIELDS[submission.provider])
    if initial.get("phone"):
        # Stored without the plus; shown with it so that it reads back as the same number.
        initial["phone"] = "+" + initial["phone"]
    return initial
