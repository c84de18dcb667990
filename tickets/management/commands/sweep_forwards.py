from django.core.management.base import BaseCommand

from tickets.services.forwarding import ensure_sweep_scheduled, submission_recover_stalled


class Command(BaseCommand):
    help = (
        "Requeue forwards left behind by a dead worker and submissions whose task was lost, "
        "and make sure exactly one sweep waits in the queue. Safe to run from cron at any pace."
    )

    def handle(self, **options) -> None:
        ensure_sweep_scheduled()
        counts = submission_recover_stalled()
        self.stdout.write(
            f"{counts['recovered']} recovered from dead workers, {counts['requeued']} requeued."
        )
