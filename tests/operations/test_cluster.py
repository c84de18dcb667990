"""The whole multi-machine deployment on this machine: PostgreSQL, Redis, an S3-compatible server,
two gunicorn web processes and two workers, under 200 requests with attachments at once.

Run in the PostgreSQL pass of the test command (the cluster's database is the test database).
"""

import hashlib
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import redis
import requests
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.support.factories import form_post, png_bytes
from tests.support.mail import free_port
from tests.support.workers import database_url_of_the_test_database, wait_for
from tickets.models import Status, Submission

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.system]

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 200
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
BUCKET = "portal-attachments"


@pytest.fixture
def shared_services(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the cluster test runs in the PostgreSQL pass of the test command")
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.ConnectionError:
        pytest.fail(f"Redis does not answer at {REDIS_URL}: the cluster test needs it")
    from moto.server import ThreadedMotoServer

    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    endpoint = f"http://127.0.0.1:{s3_port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="cluster",
        aws_secret_access_key="cluster-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    s3.stop()


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_two_webs_and_two_workers_on_shared_services_forward_each_request_once(
    sandbox, shared_services, tmp_path
):
    endpoint, s3 = shared_services
    common = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DEBUG": "1",  # plain http to the loopback sandbox and S3 server
        "SANDBOX": "0",
        "DATABASE_URL": database_url_of_the_test_database(),
        "REDIS_URL": REDIS_URL,
        "ATTACHMENT_STORAGE": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "cluster",
        "S3_SECRET_ACCESS_KEY": "cluster-secret",
        "FORM_RATE_LIMIT": str(REQUESTS),
        "UNUSUAL_VOLUME_PER_HOUR": str(REQUESTS),
        # One window for the whole test: a count split by a window's turn (every ten minutes
        # by default) would let the last posts through.
        "FORM_RATE_LIMIT_WINDOW_SECONDS": str(10**9),
        "ENABLED_PROVIDERS": "onecloud",
        "ONECLOUD_URL": f"{sandbox.url}/onecloud",
        "ONECLOUD_TOKEN_URL": f"{sandbox.url}/onecloud/api/token",
        "ONECLOUD_USERNAME": "portal",
        "ONECLOUD_PASSWORD": "cluster",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }
    processes, webs = [], []
    try:
        for n in (1, 2):
            port = free_port()
            # Each process has its own empty media folder: only S3 is shared.
            env = {**common, "PORT": str(port), "MEDIA_ROOT": str(tmp_path / f"web{n}")}
            processes.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "portal.wsgi:application",
                        "-c",
                        "gunicorn.conf.py",
                    ],
                    env,
                    tmp_path / f"web{n}.log",
                )
            )
            webs.append(f"http://127.0.0.1:{port}")
            env = {**common, "MEDIA_ROOT": str(tmp_path / f"worker{n}")}
            processes.append(
                start(
                    [
                        sys.executable,
                        "manage.py",
                        "worker",
                        "--no-reload",
                        "--interval=0.1",
                        "--no-startup-delay",
                        f"--worker-id=cluster-{n}",
                    ],
                    env,
                    tmp_path / f"worker{n}.log",
                )
            )
        for base in webs:
            wait_for(lambda base=base: _answers(base + "/healthz/web"), seconds=60)

        picture = png_bytes((16, 16))
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda n: _send(webs[n % 2], n, picture), range(REQUESTS)))
        assert answers == [302] * REQUESTS

        wait_for(
            lambda: Submission.objects.filter(status=Status.SENT).count() == REQUESTS,
            seconds=180,
        )
        # The rate limit is one count for the whole cluster: both webs now refuse this client.
        assert [_send(base, REQUESTS + i, picture) for i, base in enumerate(webs)] == [429, 429]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)

    created = sandbox.created("onecloud")
    names = sorted(request["body"]["fullName"] for request in created)
    # Every request forwarded exactly once...
    assert names == sorted(f"Customer {n}" for n in range(REQUESTS))
    # ...with its picture, read by a worker from the shared bucket (no process shares a disk).
    digest = hashlib.sha256(picture).hexdigest()
    assert {request["body"]["attachment"]["sha256"] for request in created} == {digest}
    stored = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1000)["KeyCount"]
    assert stored == REQUESTS
    assert not any((tmp_path / f"web{n}").exists() for n in (1, 2))
    # Both workers took their share of the queue.
    workers = {
        worker
        for ids in DBTaskResult.objects.filter(
            task_path="tickets.delivery.forward.submission_forward_task"
        ).values_list("worker_ids", flat=True)
        for worker in ids
    }
    assert {"cluster-1", "cluster-2"} <= workers


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _send(base: str, n: int, picture: bytes) -> int:
    session = requests.Session()
    page = session.get(base + "/onecloud/", timeout=30).text
    fields = form_post(
        "onecloud",
        name=f"Customer {n}",
        csrfmiddlewaretoken=re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1],
        form_token=re.search(r'name="form_token" value="([^"]+)"', page)[1],
    )
    answer = session.post(
        base + "/onecloud/",
        data=fields,
        files={"attachment": (f"shop-{n}.png", picture, "image/png")},
        headers={"Referer": base + "/onecloud/"},
        allow_redirects=False,
        timeout=60,
    )
    return answer.status_code
