#!/usr/bin/env bash
# Prints the path of a Python 3.12 or newer (Django 6.1 needs it), or fails saying how to get one.
set -euo pipefail
candidates=(python3.14 python3.13 python3.12)
for dir in "$HOME"/.pyenv/versions/3.1[2-9]* /usr/local/bin /usr/bin; do
  [ -x "$dir/bin/python3" ] && candidates+=("$dir/bin/python3")
  [ -x "$dir/python3" ] && candidates+=("$dir/python3")
done
candidates+=(python3)
for candidate in "${candidates[@]}"; do
  if path=$(command -v "$candidate" 2>/dev/null) \
    && "$path" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
echo "No Python 3.12 or newer found. Install one (e.g. apt-get install python3.12, or pyenv install 3.12)." >&2
exit 1
