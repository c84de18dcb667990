"""Stream submissions as CSV, safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from tickets.models import Submission

# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"); a
# leading apostrophe makes it plain text. Tab and carriage return are on OWASP's list too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

COLUMNS: list[tuple[str, Any]] = [
    ("reference", lambda s: s.reference),
    ("created_at", lambda s: _local_iso(s.created_at)),
    ("provider", lambda s: s.get_provider_display()),
    ("status", lambda s: s.status),
    ("possible_duplicate", lambda s: "yes" if s.possible_duplicate else "no"),
    ("ticket_id", lambda s: s.ticket_id),
    ("case_number", lambda s: s.case_number),
    ("attempts", lambda s: getattr(s, "ticket_calls", s.attempt_count)),
    ("last_error_class", lambda s: s.last_error_class),
    ("sent_at", lambda s: _local_iso(s.sent_at)),
    ("name", lambda s: s.name),
    ("email", lambda s: s.email),
    ("phone", lambda s: s.phone),
]


def _local_iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose ``write`` hands the line back, so rows stream one by one."""

    def write(self, value: str) -> str:
        return value


def csv_rows(submissions: Iterable[Submission]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A byte-order mark, so spreadsheet programs read names with accents as UTF-8.
    yield "\ufeff"
    yield writer.writerow([name for name, _ in COLUMNS])
    for submission in submissions:
        yield writer.writerow([csv_safe(value(submission)) for _, value in COLUMNS])


def submissions_csv_response(queryset) -> StreamingHttpResponse:
    filename = f"submissions-{timezone.localtime():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(
        csv_rows(queryset.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
