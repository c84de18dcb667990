from django.core.management.base import BaseCommand

from tickets.services.forwarding import submission_recover_stalled


class Command(BaseCommand):
    help = "Requeue forwards left behind by a dead worker and submissions whose task was lost."

    def handle(self, **options) -> None:
        counts = submission_recover_stalled()
        self.stdout.write(
            f"{counts['recovered']} recovered from dead workers, {counts['requeued']} requeued."
        )
