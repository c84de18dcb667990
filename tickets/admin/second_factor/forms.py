"""The one field staff type: a code."""

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        error_messages={"required": _("Type the code.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class AppCodeForm(CodeForm):
    """Setting up an app: its six digits."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.update({"inputmode": "numeric", "pattern": "[0-9 ]*"})
