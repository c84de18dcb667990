"""One word for each idea in each language (docs/glossary.md): wherever the English says a word
of the glossary, the Malay and Indonesian catalogues say the glossary's word for it and never a
word it rules out; nor do Django's own messages that the customer's forms show."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from tests.test_catalogues import ROOT, po_entries
from tickets.providers import enabled_providers

LANGUAGES = ("ms", "id")
CATALOGUES = [
    *sorted(ROOT.glob("locale/*/LC_MESSAGES/*.po")),
    *sorted(ROOT.glob("tickets/providers/*/locale/*/LC_MESSAGES/*.po")),
]


def glossary() -> list[dict]:
    """The rows of docs/glossary.md's table."""
    rows = []
    for line in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[0] in ("en", "") or set(cells[0]) <= {"-"}:
            continue
        english, ms, id_, not_ms, not_id, _what = cells
        rows.append(
            {
                "en": [form.strip() for form in english.split(",")],
                "use": {"ms": _words(ms), "id": _words(id_)},
                "not": {"ms": _words(not_ms), "id": _words(not_id)},
            }
        )
    return rows


def _words(cell: str) -> list[str]:
    return [word.strip() for word in cell.split(",") if word.strip()]


# What a translation carries over unchanged: %(reference)s, {{1}}, HTML tags.
CARRIED_OVER = re.compile(r"%\(\w+\)[sd]|\{\{\d+\}\}|<[^>]+>")


def says(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def says_in_english(text: str, word: str) -> bool:
    """Not inside a compound: "field-service" is no form's field."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) is not None


def translations(language: str) -> list[tuple[str, str, Path]]:
    """Every (English, translation) pair of the language's catalogues."""
    pairs = []
    for path in CATALOGUES:
        if path.parent.parent.name != language:
            continue
        for entry in po_entries(path):
            if entry["obsolete"] or not entry["msgid"]:
                continue
            english = CARRIED_OVER.sub(" ", entry["msgid"] + " " + entry.get("msgid_plural", ""))
            for translated in entry["msgstr"].values():
                pairs.append((english, translated, path))
    return pairs


def test_the_glossary_has_its_words():
    words = {row["en"][0] for row in glossary()}
    assert {"field", "request", "ticket number", "send"} <= words


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogues_keep_to_the_glossary(language):
    wrong = []
    for english, translated, path in translations(language):
        for row in glossary():
            if not any(says_in_english(english, form) for form in row["en"]):
                continue
            forms = row["use"][language]
            if not any(form.lower() in translated.lower() for form in forms):
                where = path.relative_to(ROOT)
                wrong.append(f"{where}: {english!r} -> {translated!r}: no {forms[0]!r}")
        for row in glossary():
            for avoided in row["not"][language]:
                if says(translated, avoided):
                    wrong.append(f"{path.relative_to(ROOT)}: {translated!r} says {avoided!r}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("language", LANGUAGES)
def test_djangos_own_messages_on_the_forms_keep_to_it(whatsapp, language):
    avoided = [word for row in glossary() for word in row["not"][language]]
    wrong = []
    for provider in enabled_providers():
        for name, field in provider.form().fields.items():
            for message in field.error_messages.values():
                with translation.override(language):
                    shown = str(message)
                wrong += [f"{provider.alias}.{name}: {shown!r}" for w in avoided if says(shown, w)]
    assert wrong == [], "\n".join(wrong)
