"""/healthz tells the truth; a proxy nobody trusts is reported; an empty variable is its default."""

import json
import logging
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.factories import storehub_data
from tests.support.manage import run_manage
from tickets.customer.intake import submission_create
from tickets.models import Status, Submission
from tickets.operations.middleware import UntrustedForwardedForMiddleware

pytestmark = pytest.mark.django_db(transaction=True)


OPERATOR_TOKEN = "operator-token-for-tests"


@pytest.fixture(autouse=True)
def operator_token(settings):
    settings.METRICS_TOKEN = OPERATOR_TOKEN


def health(client):
    """/healthz as the operator's monitoring reads it: with the token, every detail."""
    response = client.get(
        "/healthz", HTTP_HOST="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {OPERATOR_TOKEN}"
    )
    return response.status_code, response.json()


def test_anyone_else_reads_only_general_words(client, settings):
    """A stranger must not learn when the cache (and the forms' rate limit) is down."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens: the cache is down
        }
    }

    public = client.get("/healthz", HTTP_HOST="10.1.2.3")
    wrong_token = client.get("/healthz", HTTP_HOST="10.1.2.3", HTTP_AUTHORIZATION="Bearer guess")
    status, details = health(client)

    assert public.status_code == wrong_token.status_code == status == 503
    assert public.json() == wrong_token.json() == {"status": "error", "problems": ["degraded"]}
    assert "cache" not in public.content.decode()
    assert set(details["problems"]) == {"cache_down", "no_worker"}
    assert details["cache"] == "unreachable"


def test_metrics_name_each_problem(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {OPERATOR_TOKEN}")

    text = response.content.decode()
    assert 'portal_health_problem{problem="no_worker"} 1.0' in text
    assert 'portal_health_problem{problem="cache_down"} 0.0' in text


def test_healthy_with_a_live_worker_and_a_moving_queue(client, sandbox, run_worker):
    submission_create(provider="storehub", data=storehub_data())
    run_worker()

    status, body = health(client)

    assert (status, body["status"], body["problems"]) == (200, "ok", [])
    assert body["worker_last_seen_seconds_ago"] < 60
    assert body["queue"]["depth"] == 0
    assert "Ahmad" not in json.dumps(body)


def test_no_worker_ever_seen_is_unhealthy_but_the_web_still_serves(client):
    status, body = health(client)

    assert status == 503
    assert body["problems"] == ["no_worker"]
    # Load balancers ask /healthz/web: this process and its database are fine.
    web = client.get("/healthz/web", HTTP_HOST="10.1.2.3")
    assert web.status_code == 200 and web.json()["database"] == "ok"


def test_a_worker_silent_for_too_long_is_unhealthy(client, sandbox, run_worker, settings):
    settings.HEALTH_MAX_WORKER_SILENCE_SECONDS = 300
    submission_create(provider="storehub", data=storehub_data())
    run_worker()
    DBTaskResult.objects.update(started_at=timezone.now() - timedelta(minutes=6))

    status, body = health(client)

    assert status == 503
    assert body["problems"] == ["no_worker"]
    assert body["worker_last_seen_seconds_ago"] >= 360


def test_a_stuck_queue_is_unhealthy(client, sandbox, run_worker, settings):
    settings.HEALTH_MAX_FORWARD_DELAY_SECONDS = 300
    run_worker()  # nothing to do, but the worker is seen
    DBTaskResult.objects.create(
        task_path="tickets.delivery.recovery.outbox_sweep_task",
        args_kwargs={"args": [], "kwargs": {}},
        queue_name="default",
        backend_name="default",
        run_after=timezone.now(),
        started_at=timezone.now(),
        status="SUCCESSFUL",
    )
    stuck = submission_create(provider="storehub", data=storehub_data())
    Submission.objects.filter(pk=stuck.pk).update(
        status=Status.RETRYING, next_attempt_at=timezone.now() - timedelta(minutes=10)
    )

    status, body = health(client)

    assert status == 503
    assert body["problems"] == ["queue_stuck"]
    assert body["queue"]["overdue_seconds"] >= 600


@pytest.mark.usefixtures("confirmed_customers")
def test_a_mail_server_that_keeps_refusing_is_unhealthy(
    client, sandbox, run_worker, smtp_server, settings
):
    settings.HEALTH_MAX_EMAIL_DELAY_SECONDS = 900
    smtp_server.refuse_next = 100
    submission = submission_create(provider="storehub", data=storehub_data())
    run_worker()  # forwarded; the receipt and the number are refused, retries wait

    status, body = health(client)
    assert (status, body["problems"]) == (200, [])
    assert body["emails"]["waiting"] == body["emails"]["refused_last_time"] == 2

    # A quarter of an hour later they still wait: customers get no receipts, staff no alerts.
    submission.emails.update(created_at=timezone.now() - timedelta(minutes=16))
    status, body = health(client)

    assert status == 503
    assert body["problems"] == ["mail_stuck"]
    assert body["emails"]["oldest_waiting_seconds"] >= 960
    assert "ahmad" not in json.dumps(body).lower()


@pytest.mark.usefixtures("confirmed_customers")
def test_a_mail_server_down_past_every_retry_is_unhealthy_until_it_takes_mail_again(
    client, sandbox, run_worker, smtp_server, settings
):
    settings.MESSAGE_MAX_ATTEMPTS = 1
    smtp_server.refuse_next = 100
    submission_create(provider="storehub", data=storehub_data())
    run_worker()  # both e-mails refused, and given up at once

    status, body = health(client)
    assert status == 503
    assert body["problems"] == ["mail_stuck"]
    assert body["emails"]["waiting"] == 0
    assert body["emails"]["given_up_since_last_sent"] == 2

    # The mail server takes mail again: the next e-mail goes out, and all is well.
    smtp_server.refuse_next = 0
    submission_create(provider="storehub", data=storehub_data())
    run_worker()

    status, body = health(client)
    assert (status, body["problems"]) == (200, [])


def test_an_address_that_does_not_exist_is_not_mail_trouble(
    client, sandbox, run_worker, smtp_server
):
    smtp_server.unknown_addresses = {"no-such-shop@example.my"}
    submission_create(provider="storehub", data=storehub_data(email="no-such-shop@example.my"))
    run_worker()

    status, body = health(client)

    assert (status, body["problems"]) == (200, [])
    assert body["emails"]["given_up_since_last_sent"] == 0


@pytest.mark.system
def test_a_database_that_does_not_answer_is_unhealthy():
    result = run_manage(
        "shell",
        "-c",
        "from django.test import Client; r = Client().get('/healthz');"
        " print(r.status_code, r.content.decode())",
        DEBUG="1",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing",
    )

    answer = result.stdout.strip().splitlines()[-1]
    assert answer.startswith("503 ")
    assert '"problems": ["database"]' in answer


def test_a_forwarded_for_header_without_a_trusted_proxy_is_reported_once(client, caplog, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    UntrustedForwardedForMiddleware.warned = False
    with caplog.at_level(logging.WARNING, logger="tickets.operations.middleware"):
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7")
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.8")

    warnings = [r for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(warnings) == 1
    assert "TRUSTED_PROXY_COUNT" in warnings[0].getMessage()


def test_a_proxy_at_an_address_nobody_named_is_reported_once(client, caplog, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UntrustedForwardedForMiddleware.warned = False
    with caplog.at_level(logging.WARNING, logger="tickets.operations.middleware"):
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="172.18.0.5")
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.8", REMOTE_ADDR="172.18.0.5")

    warnings = [r for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(warnings) == 1
    assert "172.18.0.5" in warnings[0].getMessage()
    assert "TRUSTED_PROXY_NETWORKS" in warnings[0].getMessage()


def test_a_trusted_proxy_is_not_reported(client, caplog, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    UntrustedForwardedForMiddleware.warned = False
    with caplog.at_level(logging.WARNING, logger="tickets.operations.middleware"):
        client.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert not [r for r in caplog.records if "X-Forwarded-For" in r.getMessage()]


@pytest.mark.system
def test_empty_variables_mean_their_defaults():
    """An env file copied from .env.example has NAME= lines: each means the default."""
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; import json; print(json.dumps({"
        "'db': s.DATABASES['default']['ENGINE'], 'media': str(s.MEDIA_ROOT),"
        " 'static': str(s.STATIC_ROOT), 'hosts': s.ALLOWED_HOSTS,"
        " 'providers': list(s.TICKET_PROVIDERS), 'zone': s.TIME_ZONE,"
        " 'first_waits': s.FORWARD_RETRY_FIRST_WAITS, 'from': s.DEFAULT_FROM_EMAIL}))",
        DEBUG="1",
        DATABASE_URL="",
        MEDIA_ROOT="",
        STATIC_ROOT="",
        ALLOWED_HOSTS="",
        ENABLED_PROVIDERS="",
        TIME_ZONE="",
        FORWARD_RETRY_FIRST_WAITS="",
        DEFAULT_FROM_EMAIL="",
        LOG_LEVEL="WARNING",
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["db"] == "portal.sqlite"
    assert values["media"].endswith("/media") and values["static"].endswith("/staticfiles")
    assert values["hosts"] == ["127.0.0.1", "localhost"]
    assert values["providers"] == list(django_settings.TICKET_PROVIDERS)
    assert values["zone"] == "Asia/Kuala_Lumpur"
    assert values["first_waits"] == [2.0, 10.0, 30.0]
    assert values["from"].startswith("Support portal")


@pytest.mark.system
def test_the_example_env_file_starts_the_portal_as_it_is(tmp_path):
    """Every line of .env.example, as `docker run --env-file` reads it (no inline comments)."""
    from pathlib import Path

    env = {}
    example = Path(__file__).resolve().parents[2] / ".env.example"
    for line in example.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    assert not [value for value in env.values() if "#" in value]
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    result = run_manage("check", **env)

    assert result.returncode == 0, result.stderr
