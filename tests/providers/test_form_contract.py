"""What every provider's customer form must do, held to the contract its tests declare.

Each provider's test package declares ``FORM_CONTRACT`` in its ``form_contract.py``
(``tests/providers/<alias>/``), written out from the provider's API document: the required
fields, text limits, choices and upload types.
This suite runs for every provider in ``settings.TICKET_PROVIDERS``, as test_contract.py does for
the clients; a provider without a contract fails here, it is never skipped. Its valid request is
the one its test package declares (``tests/providers/__init__.py``). The provider's own quirks
stay in its ``test_form.py``.
"""

import importlib
import re

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from tests.providers import PROVIDERS
from tests.support.factories import CUSTOMER_DATA, form_post
from tests.support.pages import error_html_next_to, errors_of, form_url
from tickets.models import Submission
from tickets.providers import get_provider

CONTRACT_KEYS = {"required", "text_limits", "choices", "uploads"}

pytestmark = pytest.mark.django_db


def declared_contract(alias: str) -> dict | None:
    """The provider's ``FORM_CONTRACT``, or None when its test package declares none."""
    module_name = f"tests.providers.{alias}.form_contract"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (f"tests.providers.{alias}", module_name):
            raise
        return None
    return getattr(module, "FORM_CONTRACT", None)


def contract_of(alias: str) -> dict:
    contract = declared_contract(alias)
    if contract is None:
        pytest.fail(
            f"{alias!r} is in TICKET_PROVIDERS, but tests/providers/{alias}/form_contract.py "
            "declares no FORM_CONTRACT: write its form's required fields, text limits, choices "
            "and uploads there, as the provider's API document gives them.",
            pytrace=False,
        )
    return contract


def declared(kind: str) -> list:
    """One case (alias, field, declared value) per item of ``kind`` in every declared contract."""
    cases = []
    for alias in PROVIDERS:
        items = (declared_contract(alias) or {}).get(kind) or {}
        if not isinstance(items, dict):
            items = dict.fromkeys(sorted(items))
        cases += [
            pytest.param(alias, name, value, id=f"{alias}-{name}") for name, value in items.items()
        ]
    return cases


def form_field(alias: str, name: str) -> forms.Field:
    return get_provider(alias).form().fields[name]


def customer_fields(alias: str) -> dict[str, forms.Field]:
    """The fields a customer fills in (files included), as the form offers them."""
    form = get_provider(alias).form()
    return {name: field for name, field in form.fields.items() if name not in form.FORM_MACHINERY}


def email_of_length(length: int) -> str:
    # Domain labels of at most 63 characters, as an address must have.
    head, tail = "a" * 64 + "@", ".com"
    rest, labels = length - len(head) - len(tail), []
    while rest > 63:
        labels.append("b" * 62)
        rest -= 63
    return head + ".".join([*labels, "b" * rest]) + tail


def text_of_length(field: forms.Field, length: int) -> str:
    """A valid value of ``length`` characters as the browser counts them."""
    if isinstance(field, forms.EmailField):
        return email_of_length(length)
    if isinstance(field.widget, forms.Textarea):
        # Lines as a customer types them: the browser counts each break once but sends CRLF.
        lines = max(length // 10 - 1, 0)
        return (("x" * 9 + "\n") * lines + "x" * (length - 10 * lines)).replace("\n", "\r\n")
    return "x" * length


def offered_values(html: str, name: str) -> list[str]:
    """The values a select or a set of radio buttons offers, the empty placeholder apart."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    if select:
        values = re.findall(r'<option value="([^"]*)"', select.group(1))
    else:
        tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
        values = [re.search(r'value="([^"]*)"', tag).group(1) for tag in tags]
    return [value for value in values if value]


def label_block(html: str, name: str) -> str:
    return re.search(rf'id="div_id_{name}".*?</(label|legend)>', html, re.S).group(0)


# --- the contract itself ------------------------------------------------------------------
@pytest.mark.parametrize("alias", PROVIDERS)
def test_every_provider_declares_its_form_contract(alias):
    assert set(contract_of(alias)) == CONTRACT_KEYS


@pytest.mark.parametrize("alias", PROVIDERS)
def test_a_valid_request_is_accepted_whole_and_its_status_shown(client, alias):
    response = client.post(form_url(alias), form_post(alias), follow=True)

    submission = Submission.objects.get()
    assert response.redirect_chain == [
        (reverse("tickets:status", args=[submission.public_id]), 302)
    ]
    assert submission.reference in response.content.decode()
    assert submission.provider == alias
    expected = CUSTOMER_DATA[alias]()
    assert {name: submission.customer_data[name] for name in expected} == expected


# --- required fields ----------------------------------------------------------------------
@pytest.mark.parametrize("alias", PROVIDERS)
def test_the_required_fields_are_exactly_the_declared_ones(alias):
    required = contract_of(alias)["required"]

    assert set(get_provider(alias).form_class.required_field_names()) == set(required)


@pytest.mark.parametrize(("alias", "field", "_"), declared("required"))
def test_a_required_field_left_empty_is_refused_with_a_message_next_to_it(client, alias, field, _):
    response = client.post(form_url(alias), form_post(alias, **{field: None}))

    assert response.status_code == 200
    assert errors_of(response, field)
    assert str(errors_of(response, field)[0]) in error_html_next_to(response, field)
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("alias", PROVIDERS)
def test_required_fields_are_marked_and_optional_ones_are_not(client, alias):
    required = contract_of(alias)["required"]
    html = client.get(form_url(alias)).content.decode()

    for name in customer_fields(alias):
        marked = '<span class="asteriskField">*</span>' in label_block(html, name)
        assert marked == (name in required), name


# --- text limits --------------------------------------------------------------------------
@pytest.mark.parametrize("alias", PROVIDERS)
def test_every_limited_text_field_is_declared(alias):
    limits = {
        name: field.max_length
        for name, field in customer_fields(alias).items()
        if isinstance(field, forms.CharField) and field.max_length is not None
    }

    assert limits == contract_of(alias)["text_limits"]


@pytest.mark.parametrize(("alias", "field", "limit"), declared("text_limits"))
def test_text_at_its_limit_is_accepted_and_kept_whole(client, alias, field, limit):
    text = text_of_length(form_field(alias, field), limit)

    response = client.post(form_url(alias), form_post(alias, **{field: text}))

    assert response.status_code == 302, errors_of(response, field)
    assert len(Submission.objects.get().customer_data[field]) == limit


@pytest.mark.parametrize(("alias", "field", "limit"), declared("text_limits"))
def test_text_one_character_over_its_limit_is_refused_with_a_clear_message(
    client, alias, field, limit
):
    text = text_of_length(form_field(alias, field), limit + 1)

    response = client.post(form_url(alias), form_post(alias, **{field: text}))

    message = f"Ensure this value has at most {limit} characters (it has {limit + 1})."
    assert response.status_code == 200
    assert errors_of(response, field) == [message]
    assert message in error_html_next_to(response, field)
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(("alias", "field", "limit"), declared("text_limits"))
def test_the_browser_is_told_each_limit_with_maxlength(client, alias, field, limit):
    html = client.get(form_url(alias)).content.decode()

    tag = re.search(rf'<(input|textarea)[^>]*name="{field}"[^>]*>', html).group(0)
    assert f'maxlength="{limit}"' in tag


# --- choices ------------------------------------------------------------------------------
@pytest.mark.parametrize("alias", PROVIDERS)
def test_the_choice_fields_are_exactly_the_declared_ones(alias):
    fields = customer_fields(alias)
    choice_fields = {name for name, field in fields.items() if isinstance(field, forms.ChoiceField)}

    assert choice_fields == set(contract_of(alias)["choices"])


@pytest.mark.parametrize(("alias", "field", "choices"), declared("choices"))
def test_a_choice_field_offers_exactly_the_declared_choices(client, alias, field, choices):
    offered = [value for value, _label in form_field(alias, field).choices if value != ""]
    html = client.get(form_url(alias)).content.decode()

    assert offered == choices
    assert offered_values(html, field) == [str(choice) for choice in choices]


@pytest.mark.parametrize(("alias", "field", "_choices"), declared("choices"))
def test_a_value_outside_the_declared_choices_is_refused(client, alias, field, _choices):
    response = client.post(form_url(alias), form_post(alias, **{field: "not-offered"}))

    assert response.status_code == 200
    assert "Select a valid choice" in str(errors_of(response, field)[0])
    assert Submission.objects.count() == 0


# --- uploads ------------------------------------------------------------------------------
@pytest.mark.parametrize("alias", PROVIDERS)
def test_the_upload_fields_are_exactly_the_declared_ones(client, alias):
    uploads = contract_of(alias)["uploads"]
    html = client.get(form_url(alias)).content.decode()

    assert set(get_provider(alias).form_class.upload_field_names()) == set(uploads)
    assert ('enctype="multipart/form-data"' in html) == bool(uploads)


@pytest.mark.parametrize(("alias", "field", "extensions"), declared("uploads"))
def test_an_upload_field_takes_the_declared_file_types(
    client, settings, tmp_path, alias, field, extensions
):
    settings.MEDIA_ROOT = tmp_path
    html = client.get(form_url(alias)).content.decode()
    tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', html).group(0)
    offered = re.search(r'accept="([^"]*)"', tag).group(1).split(",")

    assert set(form_field(alias, field).allowed) == set(extensions)
    assert {entry for entry in offered if entry.startswith(".")} == {f".{e}" for e in extensions}
    program = SimpleUploadedFile("setup.exe", b"MZ" + b"\x00" * 100)
    refused = client.post(form_url(alias), form_post(alias, **{field: program}))
    assert "Files ending in .exe are not accepted here." in str(errors_of(refused, field)[0])
    assert Submission.objects.count() == 0


# --- labels -------------------------------------------------------------------------------
@pytest.mark.parametrize("alias", PROVIDERS)
@pytest.mark.parametrize("language", ["ms", "id"])
def test_every_field_is_labelled_in_english_malay_and_indonesian(alias, language):
    for name, field in customer_fields(alias).items():
        assert isinstance(field.label, Promise), name
        with translation.override("en"):
            english = str(field.label)
        with translation.override(language):
            translated = str(field.label)
        assert english.strip(), name
        assert translated.strip() and translated != english, (name, english)
