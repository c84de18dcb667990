#!/bin/sh
# The Docker image's command: the whole portal on one machine. Migrates, then runs nginx in
# front (deploy/nginx.conf), the web and the worker side by side (the Procfile's lines, with
# honcho); when one stops, all stop, so the container's restart policy brings them back together.
# With the image's defaults the database (SQLite) and the attachments live in /data: mount a
# volume there (docker run -v portal-data:/data ...).
set -eu
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-portal.settings}"
PORT="${PORT:-8000}"
# gunicorn listens on loopback only, where nothing but the front reaches it.
WEB_PORT="${WEB_PORT:-8001}"
export GUNICORN_BIND="127.0.0.1:$WEB_PORT"
# The front appends to X-Forwarded-For: one proxy more than the operator put in front, if any.
# Behind the operator's TLS proxy, the scheme it reports is passed on; alone, it is the front's.
if [ "${TRUSTED_PROXY_COUNT:-0}" -gt 0 ]; then proto='$http_x_forwarded_proto'; else proto='$scheme'; fi
export TRUSTED_PROXY_COUNT=$((${TRUSTED_PROXY_COUNT:-0} + 1))
# The front reaches gunicorn over loopback: trusted beside the operator's own proxy, if named.
export TRUSTED_PROXY_NETWORKS="${TRUSTED_PROXY_NETWORKS:+$TRUSTED_PROXY_NETWORKS,}127.0.0.1/32"
# The portal answers a body over its own limit itself; the front refuses only far beyond it.
request_max_bytes=$(python -c 'import django; django.setup(); from django.conf import settings; print(settings.REQUEST_MAX_BYTES)')
max_body=$((request_max_bytes / 1048576 + 4))m

run="$(mktemp -d "${TMPDIR:-/tmp}/portal-front.XXXXXX")"
sed -e "s|@RUN@|$run|g" -e "s|@PORT@|$PORT|g" -e "s|@WEB_PORT@|$WEB_PORT|g" \
  -e "s|@PROTO@|$proto|g" -e "s|@MAX_BODY@|$max_body|g" deploy/nginx.conf >"$run/nginx.conf"
{
  echo "front: nginx -e stderr -p $run -c $run/nginx.conf -g 'daemon off;'"
  grep -E '^(web|worker):' Procfile
} >"$run/Procfile"

python manage.py migrate --noinput
exec honcho start -f "$run/Procfile" -d "$(pwd)"
