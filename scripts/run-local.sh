#!/usr/bin/env bash
# Runs the whole portal locally: sandbox providers, the forwarding worker and the web server.
# No credentials are needed: both providers point at the sandbox (DEBUG only).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG="${DEBUG:-1}"
# Warnings and errors only, so the banner below is not buried; each request still shows.
export LOG_LEVEL="${LOG_LEVEL:-WARNING}"
# The sandbox and its mail catcher follow the web's port unless chosen: PORT=9000 gives the
# sandbox 9001 and the mail catcher 9025, so a second copy on other ports collides with nothing.
PORT="${PORT:-8000}"
SANDBOX_PORT="${SANDBOX_PORT:-$((PORT + 1))}"
export SANDBOX_SMTP_PORT="${SANDBOX_SMTP_PORT:-$((PORT + 25))}"
# The ports chosen here are the ones the portal uses: providers at the sandbox started below,
# e-mails to its catcher, and links in e-mails to this web server.
export SANDBOX_URL="${SANDBOX_URL:-http://127.0.0.1:$SANDBOX_PORT}"
export PORTAL_URL="${PORTAL_URL:-http://127.0.0.1:$PORT}"

for pair in "PORT:$PORT" "SANDBOX_PORT:$SANDBOX_PORT" "SANDBOX_SMTP_PORT:$SANDBOX_SMTP_PORT"; do
  if ! $PY -c 'import socket, sys; socket.create_server(("127.0.0.1", int(sys.argv[1]))).close()' \
    "${pair#*:}" 2>/dev/null; then
    echo "Port ${pair#*:} is taken (another \`make run\`?): choose another, e.g. make run ${pair%%:*}=$((${pair#*:} + 100))" >&2
    exit 1
  fi
done

$PY manage.py migrate --noinput -v0
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT INT TERM
$PY manage.py run_sandbox --port "$SANDBOX_PORT" >/dev/null &
# Its start-up text goes to stdout and is left out: the banner says where things are. Requests
# and errors go to stderr and show.
$PY manage.py runserver "127.0.0.1:$PORT" >/dev/null &
web=$!
until $PY -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
  "$PORTAL_URL/healthz/web" 2>/dev/null; do
  kill -0 "$web" 2>/dev/null || exit 1
  sleep 0.3
done
cat <<BANNER

  Support portal is running (Ctrl+C stops it all)
    Portal:   $PORTAL_URL/
    Staff:    $PORTAL_URL/admin/   (first account: make superuser)
    E-mails:  $SANDBOX_URL/_sandbox/mail
    WhatsApp: $SANDBOX_URL/_sandbox/whatsapp

BANNER
# The worker waits out a database outage by itself; should it end all the same, it is started
# again a second later.
(
  trap 'kill "$worker" 2>/dev/null; exit 0' TERM INT
  while true; do
    $PY manage.py worker --interval 0.2 --no-reload &
    worker=$!
    wait "$worker" || true
    sleep 1
  done
) &
wait "$web"
