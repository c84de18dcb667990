"""Stream submissions as CSV, safe to open in a spreadsheet."""

import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from tickets.models import CUSTOMER_COLUMNS, Submission
from tickets.providers import enabled_providers, provider_label

# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"); a
# leading apostrophe makes it plain text. Tab and carriage return are on OWASP's list too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet that splits on another list separator (";" with Indonesian and many European
# regional settings) starts a new cell after it: "shop;=cmd|..." would hold a formula too.
FORMULA_AFTER_A_SEPARATOR = re.compile(r"([,;\t]\s*)(?=[=+\-@])")

DELIVERY_COLUMNS: list[tuple[str, Any]] = [
    ("reference", lambda s: s.reference),
    ("created_at", lambda s: _local_iso(s.created_at)),
    ("provider", lambda s: provider_label(s.provider)),
    ("status", lambda s: s.status),
    ("possible_duplicate", lambda s: "yes" if s.possible_duplicate else "no"),
    ("ticket_id", lambda s: s.ticket_id),
    ("case_number", lambda s: s.case_number),
    ("ticket_calls", lambda s: getattr(s, "ticket_calls", "")),
    ("forwards", lambda s: s.forward_count),
    ("last_error_class", lambda s: s.last_error_class),
    ("sent_at", lambda s: _local_iso(s.sent_at)),
    ("name", lambda s: s.name),
    ("email", lambda s: s.email),
    ("phone", lambda s: s.phone),
    ("latitude", lambda s: _cell(s.latitude)),
    ("longitude", lambda s: _cell(s.longitude)),
]


def columns() -> list[tuple[str, Any]]:
    """The delivery columns, then every provider form's own fields (empty where not asked),
    a choice written as the words the customer chose ("Hardware installation", not "18")."""
    detail_names: list[str] = []
    choice_words: dict[str, dict[str, dict[str, str]]] = {}
    for provider in enabled_providers():
        fields = provider.form_class.customer_fields(provider=provider)
        choice_words[provider.alias] = {
            name: {str(value): str(label) for value, label in field.choices}
            for name, field in fields.items()
            if getattr(field, "choices", None)
        }
        for name in fields:
            if name not in CUSTOMER_COLUMNS and name not in detail_names:
                detail_names.append(name)

    def detail(submission: Submission, name: str) -> Any:
        value = submission.details.get(name)
        words = choice_words.get(submission.provider, {}).get(name, {})
        return words.get(str(value), _cell(value)) if value not in (None, "") else ""

    return [
        *DELIVERY_COLUMNS,
        *((name, lambda s, name=name: detail(s, name)) for name in detail_names),
    ]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _local_iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def csv_safe(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = FORMULA_AFTER_A_SEPARATOR.sub(r"\1'", value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


class _Echo:
    """A file-like object whose ``write`` hands the line back, so rows stream one by one."""

    def write(self, value: str) -> str:
        return value


def csv_rows(submissions: Iterable[Submission]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    chosen = columns()
    # A byte-order mark, so spreadsheet programs read names with accents as UTF-8.
    yield "\ufeff"
    yield writer.writerow([name for name, _ in chosen])
    for submission in submissions:
        yield writer.writerow([csv_safe(value(submission)) for _, value in chosen])


def submissions_csv_response(queryset) -> StreamingHttpResponse:
    filename = f"submissions-{timezone.localtime():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(
        csv_rows(queryset.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
