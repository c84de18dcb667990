"""The documentation stays true to the repository: docs/configuration.md documents exactly the
variables .env.example assigns, each once, every variable the portal reads is among them or
documented by the provider that reads it (``settings_help``), and every docs/ page README.md
links to exists.

docs/configuration.md's format: tables whose rows start with the variable's name in backticks,
``| `NAME` | default | what it does |``, one name per row. The variables of a command or a start
script (``make bench``'s, say), which no env file sets, are named in backticks under its heading
"Variables of the commands" instead. No server is started.
"""

import os
import re
import runpy
import sys
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from portal.env import RENAMED_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
CONFIGURATION = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"

ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)
DOCUMENTED = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)
# A table row whose first cell names something in backticks: it must be one variable alone.
FIRST_CELL = re.compile(r"^\|\s*(`[^|]*)\|", re.MULTILINE)
DOCS_LINK = re.compile(r"\]\((docs/[^)#\s]+\.md)(?:#[^)\s]*)?\)")


def example_variables() -> list[str]:
    return ASSIGNMENT.findall(ENV_EXAMPLE.read_text(encoding="utf-8"))


def documented_variables() -> list[str]:
    return DOCUMENTED.findall(CONFIGURATION.read_text(encoding="utf-8"))


def test_env_example_and_the_configuration_page_name_the_same_variables():
    in_example, in_docs = set(example_variables()), set(documented_variables())

    assert sorted(in_example - in_docs) == [], "in .env.example, not in docs/configuration.md"
    assert sorted(in_docs - in_example) == [], "in docs/configuration.md, not in .env.example"


def test_each_variable_is_assigned_and_documented_once():
    twice_in_example = [name for name, n in Counter(example_variables()).items() if n > 1]
    twice_in_docs = [name for name, n in Counter(documented_variables()).items() if n > 1]

    assert twice_in_example == []
    assert twice_in_docs == []


def test_each_configuration_row_names_one_variable():
    """A row like ``| `A`, `B` | ...`` would hide `B` from the comparison above."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    cells = [cell.strip() for cell in FIRST_CELL.findall(text)]

    assert cells, "no variable table found in docs/configuration.md"
    assert [cell for cell in cells if not re.fullmatch(r"`[A-Z][A-Z0-9_]*`", cell)] == []


def commands_variables() -> set[str]:
    """The names in backticks under "Variables of the commands": read by a command or a start
    script, not settings, so not in .env.example."""
    text = CONFIGURATION.read_text(encoding="utf-8")
    section = text.partition("## Variables of the commands")[2].partition("\n## ")[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)`", section))


class RecordingEnvironment(dict):
    """A copy of the environment that notes every name the portal's own code reads from it
    (not a library's: Pillow reads PILLOW_* for itself)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def _note(self, key) -> None:
        caller = sys._getframe(2).f_code.co_filename
        if caller.startswith(str(ROOT)) and "site-packages" not in caller:
            self.read.add(key)

    def get(self, key, default=None):
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


def test_every_variable_the_portal_reads_is_documented(monkeypatch):
    """The settings module, gunicorn's and each provider, read afresh: nothing they read is
    missing from docs/configuration.md. (A setting read only in one branch, like the S3_* ones,
    is read here only if that branch runs: the comparison with .env.example covers the rest.)"""
    environment = RecordingEnvironment(os.environ)
    monkeypatch.setattr(os, "environ", environment)

    runpy.run_path(str(ROOT / "portal" / "settings.py"))
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    by_providers = set()
    for alias, entry in settings.TICKET_PROVIDERS.items():
        provider = import_string(entry["BACKEND"])(alias=alias)
        provider.map_opens_at  # noqa: B018 - read lazily, like the form does
        by_providers |= {provider.setting_name(name) for name in provider.settings_documented()}

    renamed = set(RENAMED_VARIABLES.values())  # read while their new names are unset
    documented = set(documented_variables()) | commands_variables() | by_providers | renamed
    assert sorted(environment.read - documented) == []


def test_every_docs_link_in_the_readme_resolves_to_a_file():
    links = DOCS_LINK.findall(README.read_text(encoding="utf-8"))

    assert links, "README.md links no docs/ page"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_each_renamed_variable_is_named_with_its_new_name():
    text = CONFIGURATION.read_text(encoding="utf-8")
    section = text.partition("## Renamed variables")[2].partition("\n## ")[0]

    for new, old in RENAMED_VARIABLES.items():
        assert f"`{old}` is now `{new}`" in section
