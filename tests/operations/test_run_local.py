"""`make run`'s script (scripts/run-local.sh), run as a developer runs it on a fresh clone."""

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.system


def local_environment(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'local.sqlite3'}",
        "PORT": str(port),
    }


def three_free_ports_in_a_row() -> int:
    """A port P with P, P+1 and P+25 free: the web, the sandbox and the mail catcher.

    Below the range the kernel hands out for ``free_port()`` and outgoing connections: tests
    running beside this one (pytest-xdist) take ports from that range all the time, and one of
    them could take P+1 or P+25 in the seconds before the script binds them.
    """
    try:
        ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        first_ephemeral = int(ephemeral[0])
    except OSError:
        first_ephemeral = 32768
    for _ in range(50):
        port = random.randrange(10000, max(first_ephemeral - 25, 10001))
        if all(_free(port + step) for step in (0, 1, 25)):
            return port
    raise AssertionError("no free ports")


def _free(port: int) -> bool:
    try:
        socket.create_server(("127.0.0.1", port)).close()
    except OSError:
        return False
    return True


def test_make_run_says_where_everything_is_and_follows_the_chosen_port(tmp_path):
    port = three_free_ports_in_a_row()
    output = tmp_path / "run.log"
    process = subprocess.Popen(
        ["bash", "scripts/run-local.sh"],
        cwd=ROOT,
        env=local_environment(tmp_path, port),
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while "Support portal is running" not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.3)
        time.sleep(0.5)
        banner = output.read_text()
        portal, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"
        addresses = ("/", "/admin/")
        caught = ("/_sandbox/mail", "/_sandbox/whatsapp")
        for address in [portal + path for path in addresses] + [sandbox + path for path in caught]:
            assert address in banner
            assert requests.get(address, timeout=10).status_code == 200
        assert "make superuser" in banner
        # The mail catcher follows the port too: nothing listens on the default 8025 for it.
        with socket.create_connection(("127.0.0.1", port + 25), timeout=5) as smtp:
            assert smtp.recv(100).startswith(b"220")
        # Quiet: the banner is not buried (no migration list, no start-up chatter).
        before_the_banner = banner.split("Support portal is running")[0]
        assert before_the_banner.strip() == "", before_the_banner
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_a_taken_port_is_one_line_not_a_traceback(tmp_path):
    port = three_free_ports_in_a_row()
    with socket.create_server(("127.0.0.1", port + 25)):
        finished = subprocess.run(
            ["bash", "scripts/run-local.sh"],
            cwd=ROOT,
            env=local_environment(tmp_path, port),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert finished.returncode != 0
    assert finished.stdout == ""
    assert finished.stderr.strip().count("\n") == 0, finished.stderr
    assert f"Port {port + 25} is taken" in finished.stderr
    assert "SANDBOX_SMTP_PORT=" in finished.stderr


@pytest.mark.django_db(transaction=True)
def test_make_superuser_creates_the_first_staff_account(tmp_path):
    env = {
        **local_environment(tmp_path, free_port()),
        "DJANGO_SUPERUSER_PASSWORD": "a-long-password-1",
    }
    env.pop("DEBUG", None)  # as on a fresh shell: the target sets it
    subprocess.run(
        [".venv/bin/python", "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env={**env, "DEBUG": "1"},
        check=True,
    )
    made = subprocess.run(
        ["make", "-s", "superuser", "ARGS=--noinput --username siti --email siti@example.my"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert made.returncode == 0, made.stderr
    assert "Superuser created successfully" in made.stdout


@pytest.mark.parametrize(("level", "told"), [("WARNING", False), ("INFO", True)])
def test_the_worker_keeps_to_the_log_level(tmp_path, level, told):
    """``make run`` sets WARNING so that its banner stays in view: the worker's line for every
    task it runs is INFO, and shows only where INFO is asked for."""
    env = {**local_environment(tmp_path, free_port()), "DEBUG": "1", "LOG_LEVEL": level}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [".venv/bin/python", "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    manage("migrate", "-v0")
    queued = manage(
        "shell",
        "-c",
        "from tickets.delivery.email import staff_alerts_send_task as t\n"
        "for _ in range(3): t.enqueue()",
    )
    assert queued.returncode == 0, queued.stderr
    worked = manage("worker", "--batch", "--no-reload", "--interval", "0.1")

    assert worked.returncode == 0, worked.stderr
    said = worked.stdout + worked.stderr
    assert (" INFO " in said) is told, said
