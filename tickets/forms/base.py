"""What both request forms share: the form token, kept uploads, the data handed to the service."""

import copy
import uuid
from typing import ClassVar

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout
from django import forms
from django.core import signing
from django.forms import BoundField
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from tickets.channels import whatsapp_is_on
from tickets.forms.fields import KeptToken, UploadField, kept_field_name
from tickets.forms.layout import LocationFieldset
from tickets.forms.uploads import keep_upload, read_kept_upload
from tickets.models import WHATSAPP_UPDATES

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
    """A customer's request to one provider: the one definition of that provider's fields.

    A provider's package subclasses it with the documented fields, limits and choices, and
    ``layout_fields()``. The staff correction form, the admin detail, the CSV export and the
    service's checks all read the fields from here. A field's name is the key under which its
    value is stored (``Submission`` column or ``details``) and handed to the provider's client.
    """

    # Fields of the form itself, not of the customer's request.
    FORM_MACHINERY = ("form_token", "website")
    # Labels that speak to the customer ("Your name") and read wrongly to staff, who see the
    # same fields in the console: field name -> the staff's label.
    staff_labels: ClassVar[dict[str, str]] = {}
    # The button that sends a request the browser already sent, as a new one on purpose.
    SEND_AGAIN = "send_again"

    # autocomplete=off: a browser must not restore an old token into a page fetched anew.
    form_token = forms.CharField(
        widget=forms.HiddenInput(attrs={"autocomplete": "off"}), required=False
    )
    # A honeypot: hidden from people (off-screen, out of the tab order, hidden from screen
    # readers) but filled in by bots that fill every field. See ``looks_like_a_bot``.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, provider, kept_uploads_owner: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider = provider
        # The client address files kept for this form count against (KEPT_UPLOADS_PER_CLIENT).
        self.kept_uploads_owner = kept_uploads_owner
        self.configure_fields(self.fields, provider=provider)
        if not whatsapp_is_on():
            self.fields.pop(WHATSAPP_UPDATES, None)
        self.token = read_form_token(self.data.get("form_token")) if self.is_bound else None
        if self.token is None:
            # The empty form gets its token here; a form posted with a forged or missing one is
            # shown again with a fresh token, so that sending it again works.
            fresh = issue_form_token()
            self.initial = {**self.initial, "form_token": fresh}
            if self.is_bound:
                self.data = self.data.copy()
                self.data["form_token"] = fresh

    @cached_property
    def helper(self) -> FormHelper:
        # Built when the form is rendered: a form sent without errors never is.
        return self._build_helper()

    # --- the fields, as the rest of the portal reads them -----------------------------------
    @classmethod
    def configure_fields(cls, fields: dict[str, forms.Field], *, provider) -> None:
        """Set what depends on the provider's options (choices from settings) on ``fields``.

        Called for the customer's form and for the staff correction form built from it.
        """

    @classmethod
    def customer_fields(cls, *, provider) -> dict[str, forms.Field]:
        """Fresh copies of the customer fields, configured for ``provider``, in form order, with
        the staff's labels.

        What the staff correction form, the admin detail and the CSV export are built from.
        """
        fields = {name: copy.deepcopy(cls.base_fields[name]) for name in cls.customer_field_names()}
        cls.configure_fields(fields, provider=provider)
        for name, label in cls.staff_labels.items():
            fields[name].label = label
        return fields

    @classmethod
    def upload_field_names(cls) -> list[str]:
        return [name for name, f in cls.base_fields.items() if isinstance(f, UploadField)]

    @classmethod
    def customer_field_names(cls) -> list[str]:
        """The fields a submission stores, in the form's order (files apart)."""
        skipped = {*cls.FORM_MACHINERY, *cls.upload_field_names()}
        return [name for name in cls.base_fields if name not in skipped]

    @classmethod
    def required_field_names(cls) -> list[str]:
        return [name for name in cls.customer_field_names() if cls.base_fields[name].required]

    # --- what the view hands to submission_create -----------------------------------------
    def looks_like_a_bot(self) -> bool:
        return bool(self.is_bound and self.data.get("website"))

    def sent_again_on_purpose(self) -> bool:
        return bool(self.is_bound and self.data.get(self.SEND_AGAIN))

    def prepare_to_send_again(self) -> None:
        """Offer this valid form back, to be sent as a new request if the customer wants one.

        A fresh token, so that sending it again is not taken for the request already made;
        its files kept, so that they need not be chosen again.
        """
        self.data = self.data.copy()
        self.data["form_token"] = issue_form_token()
        self._offer_kept_uploads()

    def submission_data(self) -> dict:
        # Only the fields this form asked for: the WhatsApp opt-in is not, while WhatsApp is off.
        return {
            name: self.cleaned_data[name]
            for name in self.customer_field_names()
            if name in self.cleaned_data
        }

    def submission_files(self) -> dict:
        names = self.upload_field_names()
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data[name]}

    # --- validation -----------------------------------------------------------------------
    def whatsapp_fields(self) -> list[str]:
        """The WhatsApp opt-in for a layout, while WhatsApp is on."""
        return [WHATSAPP_UPDATES] if WHATSAPP_UPDATES in self.fields else []

    def clean(self):
        cleaned_data = super().clean()
        wants_whatsapp = cleaned_data.get(WHATSAPP_UPDATES)
        if wants_whatsapp and not cleaned_data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Give the phone number the WhatsApp updates should go to."))
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
        for name in self.upload_field_names():
            widget = self.fields[name].widget
            upload = self.cleaned_data.get(name)
            if upload is not None:
                kept = getattr(upload, "kept", None) or keep_upload(
                    upload, upload.content_type, owner=self.kept_uploads_owner
                )
                if kept is None:
                    continue
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

    # What the page around the form offers follows from the layout, not from the provider's
    # name: a field declared but left out of ``layout_fields()`` is not asked for.
    @property
    def asks_for_phone(self) -> bool:
        """Whether the form asks for a phone number (a field named ``phone``). "Find my
        request" finds a request by its reference and phone number, so it is offered only
        beside a form that asks for one."""
        return any(pointer.name == "phone" for pointer in self.helper.layout.get_field_names())

    @property
    def has_map(self) -> bool:
        """Whether the form has a ``LocationFieldset``: only then does its page load the map
        library and the script that draws the map."""
        return bool(self.helper.layout.get_layout_objects(LocationFieldset, greedy=True))

    def _build_helper(self) -> FormHelper:
        helper = FormHelper(self)
        helper.form_method = "post"
        helper.form_id = "request-form"
        # novalidate: every error comes from the server, in the page's language, through the
        # error summary; the browser's own bubbles would speak the browser's language.
        # maxlength and the input types stay, for the keyboard and the limits as one types.
        # data-bound: what the server sends back (errors, a request already sent) is newer than
        # the draft kept on the phone, which then must not be put back over it.
        helper.attrs = {
            "data-submit-once": "true",
            "novalidate": "",
            "data-bound": "true" if self.is_bound else "false",
        }
        helper.layout = Layout(
            "form_token",
            Div("website", css_class="hp-field", aria_hidden="true"),
            *self.layout_fields(),
            StrictButton(
                _("Send request"),
                type="submit",
                css_class="btn-primary btn-lg w-100 mt-2",
                data_sending_text=_("Sending…"),
                data_waiting_text=_("Waiting for signal"),
            ),
        )
        return helper
