"""Exit 0 when the PostgreSQL server in argv[1] accepts a connection, 1 otherwise."""

import sys

import psycopg

try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except psycopg.Error as exc:
    print(f"PostgreSQL unreachable: {exc}".splitlines()[0], file=sys.stderr)
    sys.exit(1)
