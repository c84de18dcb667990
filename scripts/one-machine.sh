#!/bin/sh
# The Docker image's command: the whole portal on one machine. Migrates, then runs the web and
# the worker side by side (Procfile, with honcho); when either stops, both stop, so the
# container's restart policy brings the pair back together.
# With the image's defaults the database (SQLite) and the attachments live in /data: mount a
# volume there (docker run -v portal-data:/data ...).
set -eu
cd "$(dirname "$0")/.."
python manage.py migrate --noinput
exec honcho start -f Procfile
