"""A worker killed in the middle of a call must not lose the submission."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import storehub_data
from tickets.models import ErrorClass, ProviderCall, Status, Submission
from tickets.services.intake import submission_create

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def start_worker(sandbox, worker_id: str, log_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "1",
        "SANDBOX": "0",
        "ENABLED_PROVIDERS": "storehub",
        "DATABASE_URL": database_url_of_the_test_database(),
        "STOREHUB_URL": f"{sandbox.url}/storehub",
        "STOREHUB_API_KEY": "tk_worker_test",
        "PROVIDER_READ_TIMEOUT": "60",
        "FORWARD_LEASE_SECONDS": "2",
        "FORWARD_SWEEP_INTERVAL_SECONDS": "0.5",
        "FORWARD_RETRY_BASE_SECONDS": "0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval=0.1",
            "--no-startup-delay",
            "--no-reload",
            f"--worker-id={worker_id}",
        ],
        cwd=ROOT,
        env=env,
        stdout=(log_dir / f"worker-{worker_id}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_a_worker_killed_mid_forward_does_not_lose_the_submission(sandbox, settings, tmp_path):
    settings.FORWARD_SWEEP_INTERVAL_SECONDS = 0.5
    # The provider holds the first call open, so the worker is killed in the middle of it.
    sandbox.script("storehub", "hang:20")
    first = start_worker(sandbox, "first", tmp_path)
    try:
        submission = submission_create(provider="storehub", data=storehub_data())
        wait_for(lambda: len(sandbox.requests("storehub")) == 1)
        assert Submission.objects.get(pk=submission.pk).status == Status.SENDING
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    second = start_worker(sandbox, "second", tmp_path)
    try:
        wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.SENT)
    finally:
        second.terminate()
        second.wait(timeout=10)

    submission.refresh_from_db()
    assert submission.case_number.startswith("STOREHUB")
    assert len(sandbox.created("storehub")) == 1
    # The lost call may have reached the provider: staff are told to check.
    assert submission.possible_duplicate
    lost = submission.calls.get(error_class=ErrorClass.UNKNOWN_OUTCOME)
    assert "worker stopped" in lost.message
    assert submission.calls.filter(kind=ProviderCall.Kind.TICKET, error_class="success").exists()


def test_a_submission_whose_task_was_lost_is_requeued_by_the_sweep(sandbox, run_worker, settings):
    submission = submission_create(provider="storehub", data=storehub_data())
    # Simulate a crash between the commit and the enqueue: the task row never existed.
    DBTaskResult.objects.filter(task_path="tickets.tasks.forward_submission").delete()
    Submission.objects.filter(pk=submission.pk).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )

    call_command("sweep_forwards")
    run_worker()

    assert Submission.objects.get(pk=submission.pk).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1
