"""Redis stopped under the web: requests are still stored, without a rate limit, and /healthz
says so; once Redis is back, the limit is too. A throw-away ``redis-server`` on its own port."""

import itertools
import shutil
import subprocess
import time

import pytest
import redis
from django.urls import reverse

from tests.support.factories import form_post
from tests.support.mail import free_port
from tests.support.workers import wait_for
from tickets.models import Submission

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.system,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="no redis-server on this machine"),
]


class ThrowAwayRedis:
    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp_path = tmp_path
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.tmp_path,
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, what="redis-server answering")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def _answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def throw_away_redis(tmp_path, settings):
    server = ThrowAwayRedis(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield server
    if server.process.poll() is None:
        server.stop()


# Each send a new request: the same one again from this browser would be shown the first.
REQUESTS = itertools.count()


def send(client) -> int:
    post = form_post("storehub", remark=f"Printer {next(REQUESTS)} is offline")
    return client.post(reverse("tickets:form", args=["storehub"]), post).status_code


def test_with_redis_stopped_requests_are_stored_and_healthz_says_cache_down(
    client, settings, throw_away_redis, caplog
):
    settings.FORM_RATE_LIMIT = 2
    assert [send(client) for _ in range(3)] == [302, 302, 429]  # Redis counts

    throw_away_redis.stop()
    started = time.monotonic()
    answers = [send(client) for _ in range(3)]
    seconds = time.monotonic() - started

    # Every request stored, none refused by a limit nobody can count, none a server error.
    assert answers == [302, 302, 302]
    assert Submission.objects.count() == 5
    print(f"\nthree sends with Redis stopped took {seconds:.2f} s")
    settings.METRICS_TOKEN = "operator"
    health = client.get("/healthz", HTTP_AUTHORIZATION="Bearer operator").json()
    assert "cache_down" in health["problems"] and health["cache"] == "unreachable"
    outage_logs = [r.name for r in caplog.records if "cannot be reached" in r.getMessage()]
    # Once per outage by each counter in the cache (the rate limit, the volume), not per post.
    assert sorted(outage_logs) == ["tickets.customer.rate_limit", "tickets.customer.volume"]

    throw_away_redis.start()
    assert send(client) == 302  # the first post of a fresh window
    health = client.get("/healthz", HTTP_AUTHORIZATION="Bearer operator").json()
    assert "cache_down" not in health["problems"]
    assert [send(client) for _ in range(2)] == [302, 429]
