from django.core.management.base import BaseCommand

from tickets.delivery.recovery import outbox_sweep


class Command(BaseCommand):
    help = (
        "Recover forwards and e-mails left behind by a dead worker and those whose task was "
        "lost, and make sure exactly one sweep waits in the queue. Safe to run from cron at any "
        "pace."
    )

    def handle(self, **options) -> None:
        counts = outbox_sweep()
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
