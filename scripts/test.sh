#!/usr/bin/env bash
# The whole test command (`make test`, called by .ci/run): lint, migrations, system checks, and
# the test suite on SQLite and again on PostgreSQL (`check --deploy` under production settings is
# tests/operations/test_deployment.py, with every provider's settings as its test package declares them).
# Each pass runs in parallel: pyproject's addopts has pytest-xdist's `-n auto`.
# Each pass ends with its ten slowest tests, so the one that stretches the run shows.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DEBUG=1 SECRET_KEY="${SECRET_KEY:-test-only-secret-key}"
unset DATABASE_URL

# Each step says when it started (seconds since the start), so a slow one shows in the log.
step() { printf '\n==> %s (at %d s)\n' "$*" "$SECONDS"; }

step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

step "imports point down the layers, with no circles (docs/architecture.md)"
.venv/bin/lint-imports --no-cache

step "migrations are complete"
$PY manage.py makemigrations --check --dry-run

step "system checks"
$PY manage.py check

step "tests on SQLite"
FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-1000}" .venv/bin/pytest --durations=10 "$@"

step "tests on PostgreSQL"
POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
postgres_up() { $PY scripts/postgres_ready.py "$POSTGRES_URL"; }
if ! postgres_up; then
  echo "PostgreSQL is not answering at $POSTGRES_URL; trying to start it."
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n 1)" main start || true
    for _ in $(seq 1 20); do postgres_up && break; sleep 0.5; done
  fi
fi
if postgres_up; then
  # The fuzz's hostile values test the forms, which are the same on either database: fewer
  # suffice for what PostgreSQL stores of them.
  DATABASE_URL="$POSTGRES_URL" FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-400}" .venv/bin/pytest --durations=10 "$@"
elif [ "${REQUIRE_POSTGRES:-0}" = "1" ] || command -v pg_ctlcluster >/dev/null; then
  echo "FAILED: PostgreSQL is installed or required (REQUIRE_POSTGRES=1) but unreachable at $POSTGRES_URL." >&2
  exit 1
else
  printf '\n%s\n' "################################################################"
  printf '%s\n' "##  POSTGRESQL RUN SKIPPED: no PostgreSQL server on this machine. ##"
  printf '%s\n' "##  Only SQLite was tested. Set TEST_POSTGRES_URL to run it.     ##"
  printf '%s\n\n' "################################################################"
fi

step "done"
