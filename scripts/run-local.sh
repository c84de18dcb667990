#!/usr/bin/env bash
# Runs the whole portal locally: sandbox providers, the forwarding worker and the web server.
# No credentials are needed: both providers point at the sandbox (DEBUG only).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG="${DEBUG:-1}"
PORT="${PORT:-8000}"
SANDBOX_PORT="${SANDBOX_PORT:-8001}"
# The ports chosen here are the ones the portal uses: providers at the sandbox started below,
# and links in e-mails to this web server.
export SANDBOX_URL="${SANDBOX_URL:-http://127.0.0.1:$SANDBOX_PORT}"
export PORTAL_URL="${PORTAL_URL:-http://127.0.0.1:$PORT}"

$PY manage.py migrate --noinput
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT INT TERM
$PY manage.py run_sandbox --port "$SANDBOX_PORT" &
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
echo "Portal on http://127.0.0.1:$PORT/  (admin: http://127.0.0.1:$PORT/admin/, e-mails: $SANDBOX_URL/_sandbox/mail, Ctrl+C stops all)"
$PY manage.py runserver "127.0.0.1:$PORT"
