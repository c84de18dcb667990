"""The daily upkeep, run by the worker itself so that no layout needs cron: submissions past the
retention period (``RETENTION_DAYS``), finished task rows, and files kept for forms that were
never sent again. Each run first puts the next one in place (``scheduling``); the sweep makes
sure one always waits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.tasks import TaskResultStatus

from tickets.clock import database_now
from tickets.forms.uploads import purge_stale_pending_uploads

from .access import access_codes_purge
from .privacy import submissions_purge_expired
from .scheduling import maintenance_ensure_scheduled

logger = logging.getLogger(__name__)

# Finished task rows are kept this long: what staff and /healthz read of them is recent.
TASK_RESULTS_KEPT_DAYS = 14


def maintenance_run() -> dict[str, int]:
    maintenance_ensure_scheduled()
    counts = submissions_purge_expired(older_than_days=settings.RETENTION_DAYS)
    counts["task_results_pruned"] = _task_results_prune()
    counts["access_codes_deleted"] = access_codes_purge()
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
