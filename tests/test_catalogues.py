"""Every string a customer or staff member sees is in English, Bahasa Melayu and Bahasa Indonesia.

The catalogues are complete (nothing untranslated, nothing fuzzy, compiled as committed), nothing
in the templates, forms or scripts escapes them, and the pages in Malay and Indonesian carry no
English interface text.
"""

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils.functional import Promise

from tests.support.factories import form_post, stored_submission
from tickets.providers import enabled_providers

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("ms", "id")
# Words that are the same in every language of the portal: brands, codes, units, examples.
SAME_IN_EVERY_LANGUAGE = {"OneCloud", "StoreHub", "ms", "OK", "CSV", "Email"}


# --- a small reader of .po files (the gettext tools' own format) ------------------------------
def po_entries(path: Path) -> list[dict]:
    entries, current, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current:
                entries.append(current)
            current, field = None, None
            continue
        current = current or {"flags": set(), "msgid": "", "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            current["obsolete"] = True
        elif line.startswith("#,"):
            current["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            field = "msgid_plural"
            current[field] = _unquote(line[len("msgid_plural ") :])
        elif line.startswith("msgid "):
            field = "msgid"
            current[field] = _unquote(line[len("msgid ") :])
        elif line.startswith("msgstr"):
            index = re.match(r"msgstr(?:\[(\d+)\])?", line).group(1) or "0"
            field = ("msgstr", index)
            current["msgstr"][index] = _unquote(line.split(" ", 1)[1])
        elif line.startswith('"') and field is not None:
            if isinstance(field, tuple):
                current["msgstr"][field[1]] += _unquote(line)
            else:
                current[field] += _unquote(line)
    return entries


def _unquote(text: str) -> str:
    return text.strip()[1:-1].encode("raw_unicode_escape").decode("unicode_escape")


def catalogues(language: str) -> list[Path]:
    """The portal's catalogue and each provider's own (``LOCALE_PATHS``), where one exists."""
    paths = [
        Path(path) / language / "LC_MESSAGES" / "django.po" for path in django_settings.LOCALE_PATHS
    ]
    return [path for path in paths if path.exists()]


def catalogue_entries(language: str) -> list[dict]:
    return [entry for path in catalogues(language) for entry in po_entries(path)[1:]]


CATALOGUES = [
    pytest.param(language, path, id=str(path.relative_to(ROOT)))
    for language in LANGUAGES
    for path in catalogues(language)
]


@pytest.mark.parametrize(("language", "path"), CATALOGUES)
def test_every_entry_is_translated_and_none_is_fuzzy(language, path):
    entries = [e for e in po_entries(path) if not e["obsolete"]]

    header, messages = entries[0], entries[1:]
    assert header["msgid"] == "" and "fuzzy" not in header["flags"]
    assert f"Language: {language}" in header["msgstr"]["0"]
    assert messages
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_each_provider_has_catalogues_of_its_own():
    assert len(CATALOGUES) == len(LANGUAGES) * (1 + len(enabled_providers()))
    assert len(catalogue_entries("ms")) > 250


@pytest.mark.parametrize(("language", "path"), CATALOGUES)
@pytest.mark.system
def test_the_compiled_catalogue_is_the_source_compiled(language, path, tmp_path):
    """The .mo files are committed (the Docker image has no gettext); they must not lag."""
    if shutil.which("msgfmt") is None:
        pytest.fail("msgfmt is missing: install gettext (make test does)")
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(path)], check=True)
    committed = path.with_suffix(".mo")

    with fresh.open("rb") as a, committed.open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog


@pytest.mark.system
def test_every_msgid_in_the_source_is_in_the_catalogues(tmp_path):
    """A string marked in the code but never added to the catalogues would show in English."""
    marked = _marked_strings(tmp_path)
    for language in LANGUAGES:
        known = {e["msgid"] for e in catalogue_entries(language)}
        assert marked - known == set(), language


def _marked_strings(tmp_path: Path) -> set[str]:
    files = [
        *ROOT.glob("tickets/**/*.py"),
        *ROOT.glob("portal/**/*.py"),
        *ROOT.glob("templates/**/*.html"),
        *ROOT.glob("templates/**/*.txt"),
    ]
    pot = tmp_path / "portal.pot"
    python = [str(f) for f in files if f.suffix == ".py"]
    subprocess.run(
        [
            "xgettext",
            "--from-code=UTF-8",
            "--language=Python",
            "--keyword=gettext_lazy",
            "--keyword=_",
            "--keyword=gettext",
            "--keyword=ngettext:1,2",
            "--keyword=ngettext_lazy:1,2",
            "--keyword=pgettext:1c,2",
            "-o",
            str(pot),
            *python,
        ],
        check=True,
    )
    return {e["msgid"] for e in po_entries(pot) if e["msgid"]}


# --- nothing escapes the catalogues ----------------------------------------------------------
TEXT_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "value")


def unmarked_template_text(source: str) -> list[str]:
    """Visible text and text attributes of a template, outside any translation tag."""
    text = re.sub(
        r"\{%\s*blocktranslate\b.*?\{%\s*endblocktranslate\s*%\}", " ", source, flags=re.S
    )
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.S)
    text = re.sub(r"\{%\s*block bodyclass\s*%\}.*?\{%\s*endblock\s*%\}", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    found = []
    for tag in re.findall(r"<[^>]+>", text):
        is_button = re.search(r'type="(submit|button|reset)"', tag)
        for name, value in re.findall(r'([\w-]+)="([^"]*)"', tag):
            if name == "value" and not (tag.startswith("<input") and is_button):
                continue
            if name in TEXT_ATTRIBUTES and re.search(r"[A-Za-z]{2,}", value):
                found.append(f'{name}="{value}"')
    body = re.sub(r"&[#\w]+;", " ", re.sub(r"<[^>]+>", " ", text))
    found += [
        chunk.strip()
        for chunk in re.split(r"\s{2,}|\n", body)
        if re.search(r"[A-Za-z]{2,}", chunk) and chunk.strip() not in SAME_IN_EVERY_LANGUAGE
    ]
    return found


TEMPLATES = sorted(
    path.relative_to(ROOT)
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("templates/**/*.txt")]
)


@pytest.mark.parametrize("template", TEMPLATES, ids=str)
def test_no_template_text_is_left_out_of_the_catalogues(template):
    assert unmarked_template_text((ROOT / template).read_text()) == []


def test_the_template_check_finds_plain_text_and_attributes():
    assert unmarked_template_text('<p>{% translate "Fine" %} Not fine</p>') == ["Not fine"]
    assert unmarked_template_text('<a title="Open it">x</a>') == ['title="Open it"']
    assert unmarked_template_text("{% blocktranslate %}Fine {{ x }}{% endblocktranslate %}") == []


@pytest.mark.django_db
@pytest.mark.parametrize("provider", list(django_settings.TICKET_PROVIDERS))
def test_every_form_text_is_marked_for_translation(provider):
    form = next(p for p in enabled_providers() if p.alias == provider).form()
    for name, field in form.fields.items():
        if name in ("form_token", "website"):
            continue
        for text in (field.label, field.help_text):
            assert not text or isinstance(text, Promise), (name, text)
        for message in field.error_messages.values():
            assert isinstance(message, Promise), (name, message)
        for value, label in getattr(field, "choices", None) or ():
            if isinstance(label, str) and not isinstance(label, Promise):
                # A choice shown as its own value: a place name or a configured word.
                assert label == str(value) or label in SAME_IN_EVERY_LANGUAGE, (name, label)


SCRIPTS = sorted(p.relative_to(ROOT) for p in ROOT.glob("static/tickets/*.js"))


@pytest.mark.parametrize("script", SCRIPTS, ids=str)
def test_scripts_take_every_text_from_the_page(script):
    """Our scripts show only text the template put in data-* attributes (translated there)."""
    source = re.sub(r"//[^\n]*|/\*.*?\*/", "", (ROOT / script).read_text(), flags=re.S)
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'', source)
    human = [
        a or b
        for a, b in literals
        # Words with a capital and a space, or a sentence: text for a person, not code.
        if re.search(r"[A-Z][a-z]+ [a-z]+|[a-z]{3,}[.!?]$", a or b)
    ]
    assert human == []


# --- the pages themselves --------------------------------------------------------------------
def english_interface_texts() -> set[str]:
    """Every interface text that the catalogues translate differently in both languages."""
    entries = {
        language: {
            e["msgid"]: e["msgstr"]["0"]
            for e in catalogue_entries(language)
            if e["msgid"] and not e["obsolete"] and "msgid_plural" not in e
        }
        for language in LANGUAGES
    }
    return {
        msgid
        for msgid in entries["ms"]
        if msgid != entries["ms"][msgid]
        and msgid != entries["id"].get(msgid)
        and "%(" not in msgid
        and "{{" not in msgid
        and len(msgid) > 3
        and msgid not in SAME_IN_EVERY_LANGUAGE
    }


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def customer_pages(client, settings, language):
    settings.FORM_RATE_LIMIT = 10_000
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    pages = {"landing": client.get("/", **headers)}
    for provider in django_settings.TICKET_PROVIDERS:
        url = reverse("tickets:form", args=[provider])
        pages[f"{provider} form"] = client.get(url, **headers)
        # StoreHub's example remark is the form's own English label ("Describe your issue"):
        # typed back into the page it would count as leaked interface text.
        broken = form_post(provider, name="", remark=None)
        pages[f"{provider} form with errors"] = client.post(url, broken, **headers)
    for status in ("queued", "sent", "failed"):
        submission = stored_submission("storehub", status=status, ticket_id="1001")
        pages[f"status {status}"] = client.get(
            reverse("tickets:status", args=[submission.public_id]), **headers
        )
    pages["find my request"] = client.get("/find/", **headers)
    pages["find my request, wrong"] = client.post("/find/", {"reference": "x"}, **headers)
    client.post("/find/", {"reference": "REQ-ZZZZZZ", "phone": "0123456789"}, **headers)
    pages["enter the code, wrong"] = client.post("/find/code/", {"code": "1"}, **headers)
    pages["not found"] = client.get("/no-such-page/", **headers)
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_customer_pages_carry_no_english_interface_text(client, settings, language):
    english = english_interface_texts()
    assert len(english) > 100

    for name, response in customer_pages(client, settings, language).items():
        html = response.content.decode()
        assert f'<html lang="{language}">' in html, name
        shown = visible_text(html)
        # Whole words: "What" is English, the "What" of "WhatsApp" is not.
        leaked = sorted(
            text for text in english if re.search(rf"(?<!\w){re.escape(text)}(?!\w)", shown)
        )
        assert leaked == [], (name, leaked)


@pytest.mark.django_db
def test_the_same_pages_in_english_do_show_those_texts(client, settings):
    """The check above would pass on an empty page; in English these texts must be there."""
    english = english_interface_texts()
    pages = customer_pages(client, settings, "en")
    shown = " ".join(visible_text(r.content.decode()) for r in pages.values())

    assert len([text for text in english if text in shown]) > 40
    assert '<html lang="en">' in pages["landing"].content.decode()


@pytest.mark.django_db
def test_the_language_switcher_names_each_language_in_itself_and_remembers(client):
    page = client.get("/storehub/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for code, name in (("en", "English"), ("ms", "Bahasa Melayu"), ("id", "Bahasa Indonesia")):
        assert re.search(rf'value="{code}" lang="{code}"[^>]*>{name}</button>', page)

    client.post(reverse("set_language"), {"language": "ms", "next": "/storehub/"})

    again = client.get("/storehub/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ms">' in again


@pytest.mark.django_db
def test_the_forms_leave_validation_to_the_server(client):
    for provider in django_settings.TICKET_PROVIDERS:
        html = client.get(reverse("tickets:form", args=[provider])).content.decode()
        [form_tag] = re.findall(r"<form[^>]*data-submit-once[^>]*>", html)
        assert "novalidate" in form_tag
        assert "maxlength=" in html  # the limits still guide the typing


@pytest.mark.django_db
def test_a_value_too_long_is_explained_in_proper_malay(client):
    """Django's own Malay says "sepalingnya", which is not a word; the portal's catalogue wins."""
    page = client.post(
        "/storehub/", {"name": "A" * 500}, HTTP_ACCEPT_LANGUAGE="ms"
    ).content.decode()

    assert "tidak melebihi" in page
    assert "sepalingnya" not in page
