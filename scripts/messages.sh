#!/usr/bin/env bash
# `make messages`: the Malay and Indonesian catalogues from the code. The portal's are in
# locale/; each provider's in its own package (tickets/providers/<name>/locale/), so a provider's
# texts never churn the portal's. Locations name files only, so moving a line changes nothing.
# Then translate every new entry in each .po file it lists and run it again to compile.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG=1
for package in tickets/providers/*/__init__.py; do
  mkdir -p "$(dirname "$package")/locale"
done
.venv/bin/python manage.py makemessages -l ms -l id --no-obsolete --add-location=file \
  --ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles --ignore=docs \
  --ignore=deploy --ignore=media --ignore=artifacts
# A provider's new catalogue starts with gettext's placeholder header: name its language.
.venv/bin/python - <<'PYTHON'
import pathlib
import re

for po in pathlib.Path("tickets/providers").glob("*/locale/*/LC_MESSAGES/django.po"):
    text = po.read_text(encoding="utf-8")
    language = po.parent.parent.name
    fixed = re.sub(r'^#, fuzzy\n(?=msgid ""\nmsgstr ""\n)', "", text, count=1, flags=re.M)
    fixed = fixed.replace('"Language: \\n"', f'"Language: {language}\\n"', 1)
    if fixed != text:
        po.write_text(fixed, encoding="utf-8")
PYTHON
.venv/bin/python manage.py compilemessages --ignore=.venv
git status --short -- '*.po'
