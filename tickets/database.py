"""Whether the database answers: what tells an outage (wait for it) from a failing query (raise)."""

from django.db import DatabaseError, connection


def database_answers() -> bool:
    """One round trip on a fresh or usable connection; False while the server is away."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        connection.close()
        return False
    return True
