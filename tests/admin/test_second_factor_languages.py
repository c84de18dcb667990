"""The second factor speaks Malay and Indonesian: our pages, and the passkey library's texts,
which it has no translation of (its script's through our djangojs catalogue, its server's
through our django catalogue)."""

import gettext
import json
import re
import shutil
import subprocess
from pathlib import Path

import django_otp_webauthn
import pytest
from django.utils import translation
from django_otp_webauthn import exceptions

from tests.support.second_factor import SETUP, VERIFY, give_app, make_staff, sign_in
from tests.test_catalogues import po_entries

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_CATALOGUE = (
    Path(django_otp_webauthn.__file__).parent / "locale" / "nl" / "LC_MESSAGES" / "djangojs.po"
)
LANGUAGES = ("ms", "id")


def script_catalogue(client, language: str) -> dict:
    source = client.get(
        "/admin/second-factor/passkeys/jsi18n/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    return json.loads(re.search(r"const newcatalog = (\{.*?\});", source, re.S).group(1))


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_of_the_passkey_script_is_translated(client, language):
    library_texts = {e["msgid"] for e in po_entries(LIBRARY_CATALOGUE) if e["msgid"]}
    assert len(library_texts) > 20

    catalogue = script_catalogue(client, language)

    missing = sorted(t for t in library_texts if catalogue.get(t, t) == t)
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_passkey_librarys_refusals_are_translated(language):
    refusals = [
        exceptions.CredentialNotFound,
        exceptions.CredentialDisabled,
        exceptions.UserDisabled,
        exceptions.InvalidState,
        exceptions.NotAuthenticated,
    ]
    with translation.override("en"):
        english = [str(refusal().detail) for refusal in refusals]
    with translation.override(language):
        translated = [str(refusal().detail) for refusal in refusals]

    assert [a == b for a, b in zip(english, translated, strict=True)] == [False] * len(refusals)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pages_carry_no_english(client, settings, django_user_model, language):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    staff = make_staff(django_user_model)
    sign_in(client)
    setup = client.get(SETUP, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    give_app(staff)
    verify = client.get(VERIFY, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    wrong = client.post(VERIFY, {"code": "12"}, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    for html in (setup, verify, wrong):
        assert f'lang="{language}"' in html
        for english in (
            "Cannot scan",
            "Or a passkey",
            "authenticator app",
            "recovery code",
            "That code is not right",
            "Continue",
        ):
            assert english not in html


@pytest.mark.system
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_script_catalogue_is_compiled_as_committed(language, tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.fail("msgfmt is missing: install gettext (make test does)")
    source = ROOT / "locale" / language / "LC_MESSAGES" / "djangojs.po"
    fresh = tmp_path / "djangojs.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(source)], check=True)

    with fresh.open("rb") as a, source.with_suffix(".mo").open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog
