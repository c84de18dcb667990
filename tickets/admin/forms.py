"""The "correct and resend" form: the provider form's own customer fields, and a reason."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.models import Submission
from tickets.providers import TicketProvider, get_provider


class CorrectionFormBase(forms.Form):
    note = forms.CharField(
        label=_("Why"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept with the correction: what was wrong, and what the provider said."),
        max_length=2000,
    )


def correction_form_class(provider: TicketProvider) -> type[forms.Form]:
    """A form with exactly the customer's fields, limits and choices of the provider's form."""
    fields = provider.form_class.customer_fields(provider=provider)
    attrs = {**fields, "field_order": [*fields, "note"]}
    return type(f"{type(provider).__name__}CorrectionForm", (CorrectionFormBase,), attrs)


def correction_initial(submission: Submission) -> dict:
    provider = get_provider(submission.provider)
    data = submission.customer_data
    initial = {name: data.get(name) for name in provider.form_class.customer_field_names()}
    if initial.get("phone"):
        # Stored without the plus; shown with it so that it reads back as the same number.
        initial["phone"] = "+" + initial["phone"]
    return initial
