"""What both request forms share: the form token, kept uploads, the data handed to the service."""

import uuid

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout
from django import forms
from django.core import signing
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from .fields import KeptToken, UploadField, kept_field_name
from .uploads import keep_upload, read_kept_upload

FORM_TOKEN_SALT = "tickets.form-token"  # noqa: S105 (a signing salt, not a secret)


def issue_form_token() -> str:
    """A new form token (uuid4), signed so that a client cannot choose or guess one."""
    return signing.dumps(str(uuid.uuid4()), salt=FORM_TOKEN_SALT)


def read_form_token(signed: str | None) -> uuid.UUID | None:
    # No max_age: a token only ever finds the submission its own form created, so an old one
    # (a tab left open over the weekend) is as safe as a new one.
    if not signed:
        return None
    try:
        return uuid.UUID(signing.loads(signed, salt=FORM_TOKEN_SALT))
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        return None


class SubmissionForm(forms.Form):
    """A customer's request to one provider; field names are Submission field names.

    Subclasses declare the documented fields and ``layout_fields()``; ``title`` and ``summary``
    present the service on the landing page and above the form.
    """

    provider: str
    title: str
    summary: str
    # The landing page lists form classes; a template must not instantiate them.
    do_not_call_in_templates = True

    form_token = forms.CharField(widget=forms.HiddenInput, required=False)
    # A honeypot: hidden from people (off-screen, out of the tab order, hidden from screen
    # readers) but filled in by bots that fill every field. See ``looks_like_a_bot``.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = read_form_token(self.data.get("form_token")) if self.is_bound else None
        if self.token is None:
            # The empty form gets its token here; a form posted with a forged or missing one is
            # shown again with a fresh token, so that sending it again works.
            fresh = issue_form_token()
            self.initial = {**self.initial, "form_token": fresh}
            if self.is_bound:
                self.data = self.data.copy()
                self.data["form_token"] = fresh
        self.helper = self._build_helper()

    # --- what the view hands to submission_create -----------------------------------------
    @property
    def upload_names(self) -> list[str]:
        return [name for name, field in self.fields.items() if isinstance(field, UploadField)]

    def looks_like_a_bot(self) -> bool:
        return bool(self.is_bound and self.data.get("website"))

    def submission_data(self) -> dict:
        excluded = {"form_token", "website", *self.upload_names}
        return {key: value for key, value in self.cleaned_data.items() if key not in excluded}

    def submission_files(self) -> dict:
        return {
            name: self.cleaned_data[name] for name in self.upload_names if self.cleaned_data[name]
        }

    # --- validation -----------------------------------------------------------------------
    def clean(self):
        cleaned_data = super().clean()
        if self.is_bound and self.token is None:
            self.add_error(
                None,
                _(
                    "This form could not be matched to the page we sent. Your details are "
                    "kept below: please check them and send the form again."
                ),
            )
        cleaned_data["form_token"] = self.token
        return cleaned_data

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self._errors:
            self._offer_kept_uploads()

    def _offer_kept_uploads(self) -> None:
        """Keep each valid file so that fixing another field does not mean choosing it again."""
        for name in self.upload_names:
            widget = self.fields[name].widget
            upload = self.cleaned_data.get(name)
            if upload is not None:
                kept = getattr(upload, "kept", None) or keep_upload(upload, upload.content_type)
            else:
                # The newly chosen file was refused: still offer the one kept before, if any.
                token = self.data.get(kept_field_name(name))
                if not token:
                    continue
                try:
                    kept, _upload = read_kept_upload(KeptToken(token))
                except forms.ValidationError:
                    continue
            widget.kept = kept

    # --- presentation ---------------------------------------------------------------------
    def field_problems(self) -> list[tuple[BoundField, str]]:
        """Each visible field with an error, and its first message, for the summary on top."""
        return [(field, field.errors[0]) for field in self.visible_fields() if field.errors]

    def layout_fields(self) -> list:
        raise NotImplementedError

    def _build_helper(self) -> FormHelper:
        helper = FormHelper(self)
        helper.form_method = "post"
        helper.attrs = {"data-submit-once": "true"}
        helper.layout = Layout(
            "form_token",
            Div("website", css_class="hp-field", aria_hidden="true"),
            *self.layout_fields(),
            StrictButton(
                _("Send request"),
                type="submit",
                css_class="btn-primary btn-lg w-100 mt-2",
                data_sending_text=_("Sending…"),
            ),
        )
        return helper
