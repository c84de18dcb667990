"""The daily upkeep, run by the worker itself so that no layout needs cron: submissions past the
retention period (``RETENTION_DAYS``), finished task rows, access codes no count looks at any
more, recipients no message names any more, proofs of work whose challenges have expired, and
files kept for forms that were never sent again. It is periodic work (``scheduling.periodic``):
each run first puts the next one in place, and the sweep makes sure one always waits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.tasks import TaskResultStatus, task

from tickets.delivery import locks
from tickets.delivery.clock import database_now
from tickets.delivery.scheduling import periodic, periodic_ensure_scheduled
from tickets.forms.uploads import purge_stale_pending_uploads
from tickets.models import AccessCode, Recipient, SpentProof
from tickets.operations.privacy import submissions_purge_expired

logger = logging.getLogger(__name__)

# Finished task rows are kept this long: what staff and /healthz read of them is recent.
TASK_RESULTS_KEPT_DAYS = 14
# The upkeep runs this often.
UPKEEP_INTERVAL_SECONDS = 24 * 3600


@periodic(every_seconds=lambda: UPKEEP_INTERVAL_SECONDS, lock=locks.UPKEEP_SCHEDULE)
@task()
def upkeep_run_task() -> dict[str, int]:
    """The queue's way into ``upkeep_run``."""
    return upkeep_run()


def upkeep_run() -> dict[str, int]:
    periodic_ensure_scheduled()
    counts = submissions_purge_expired(older_than_days=settings.RETENTION_DAYS)
    counts["task_results_pruned"] = _task_results_prune()
    now = database_now()
    counts["access_codes_deleted"] = AccessCode.objects.purge_uncounted(now=now)
    counts["recipients_deleted"] = Recipient.objects.purge_unused(now=now)
    counts["spent_proofs_deleted"], _ = SpentProof.objects.filter(expires_at__lt=now).delete()
    purge_stale_pending_uploads()
    return counts


def _task_results_prune() -> int:
    from django_tasks_db.models import DBTaskResult

    before = database_now() - timedelta(days=TASK_RESULTS_KEPT_DAYS)
    finished = DBTaskResult.objects.filter(
        status__in=(TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED), finished_at__lt=before
    )
    pruned, _ = finished.delete()
    logger.info("upkeep: %d finished task row(s) pruned", pruned)
    return pruned
