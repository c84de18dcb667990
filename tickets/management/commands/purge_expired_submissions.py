from django.conf import settings
from django.core.management.base import BaseCommand

from tickets.forms.uploads import purge_stale_pending_uploads
from tickets.operations.privacy import submissions_purge_expired


class Command(BaseCommand):
    help = (
        "Delete submissions, their attempts and their files older than the retention period "
        "(RETENTION_DAYS), and files kept for forms never sent. Run it daily, e.g. from cron."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override RETENTION_DAYS.")

    def handle(self, *, days: int | None, **options) -> None:
        days = settings.RETENTION_DAYS if days is None else days
        counts = submissions_purge_expired(older_than_days=days)
        # Files kept for a form that was never sent again; their tokens have expired.
        purge_stale_pending_uploads()
        self.stdout.write(
            f"Deleted {counts['deleted']} submission(s) older than {days} days; "
            f"kept {counts['kept']} still being delivered."
        )
