"""The Docker image's command, run here as the image runs it: the whole portal on one machine.

`scripts/one-machine.sh` migrates, then runs nginx in front of the web (gunicorn) and the worker,
side by side; SQLite and the attachments live in one data folder (the image's /data volume).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.factories import form_post, png_bytes
from tests.support.fronts import assert_compressed_where_safe
from tests.support.mail import free_port
from tests.support.slow_clients import DrippingClients, form_page_times, p95

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_runs_the_one_machine_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["scripts/one-machine.sh"]' in dockerfile
    assert "DATABASE_URL=sqlite:////data/portal.sqlite3" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile
    assert re.search(r"apt-get install .*\bnginx\b", dockerfile)
    procfile = (ROOT / "Procfile").read_text()
    assert re.search(r"^web: gunicorn ", procfile, re.M)
    assert re.search(r"^worker: python manage.py worker ", procfile, re.M)


@pytest.fixture
def one_machine(sandbox, tmp_path):
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}:/usr/sbin"
    if not shutil.which("nginx", path=path):
        pytest.fail("nginx is not installed: `make test` installs it (scripts/install-fronts.sh).")
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))},
        "PATH": path,
        "DEBUG": "1",  # plain http to the loopback sandbox; the process layout is the point
        "SANDBOX": "0",
        "DATABASE_URL": f"sqlite:///{data / 'portal.sqlite3'}",
        "MEDIA_ROOT": str(data / "media"),
        "PORT": str(port),
        "WEB_PORT": str(free_port()),
        # gunicorn's smallest layout (one process, two threads): the front must do the waiting.
        "WEB_CONCURRENCY": "1",
        "FORM_RATE_LIMIT": "1000",
        "UNUSUAL_VOLUME_PER_HOUR": "1000",
        "ENABLED_PROVIDERS": "onecloud",
        "ONECLOUD_URL": f"{sandbox.url}/onecloud",
        "ONECLOUD_TOKEN_URL": f"{sandbox.url}/onecloud/api/token",
        "ONECLOUD_USERNAME": "portal",
        "ONECLOUD_PASSWORD": "one-machine",
    }
    log = (tmp_path / "one-machine.log").open("w")
    process = subprocess.Popen(
        ["sh", "scripts/one-machine.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + "/healthz/web", timeout=1).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError((tmp_path / "one-machine.log").read_text()[-3000:])
        time.sleep(0.2)
    yield base, data, process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.mark.system
def test_one_container_takes_a_request_with_a_picture_and_its_worker_forwards_it(
    one_machine, sandbox
):
    base, data, process = one_machine
    browser = requests.Session()
    page = browser.get(base + "/onecloud/").text
    fields = form_post(
        "onecloud",
        csrfmiddlewaretoken=re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1],
        form_token=re.search(r'name="form_token" value="([^"]+)"', page)[1],
    )
    sent = browser.post(
        base + "/onecloud/",
        data=fields,
        files={"attachment": ("shop-front.png", png_bytes(), "image/png")},
        headers={"Referer": base + "/onecloud/"},
        allow_redirects=False,
    )
    assert sent.status_code == 302, sent.text[-2000:]
    status_json = base + sent.headers["Location"].rstrip("/") + ".json"

    deadline = time.monotonic() + 60
    while not (state := browser.get(status_json).json())["ticket_id"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)

    [created] = sandbox.created("onecloud")
    assert created["ticket"] == state["ticket_id"]
    # The worker read the picture the web process stored in the shared data folder.
    assert created["body"]["attachment"]["filename"] == "shop-front.png"
    assert list((data / "media").rglob("shop-front.png"))
    assert (data / "portal.sqlite3").exists()
    # The whole portal answers healthy: a worker is seen, nothing is stuck.
    assert requests.get(base + "/healthz", timeout=5).json()["problems"] == []

    # Stopping the container stops both processes.
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=20) is not None


@pytest.mark.system
def test_sixty_slow_clients_do_not_starve_the_form_page(one_machine):
    """Each dripping connection would hold one of gunicorn's two threads; nginx holds them."""
    base, _, _ = one_machine
    assert requests.get(base + "/onecloud/", timeout=5).headers["Server"] == "nginx"

    with DrippingClients(base, 60) as attack:
        times = form_page_times(base + "/onecloud/", 20)
        assert attack.still_dripping == 60

    print(f"form page beside 60 dripping clients, one machine: p95 {p95(times):.3f} s")


@pytest.mark.system
def test_nginx_compresses_the_form_page_but_not_the_console_nor_find(one_machine):
    base, _, _ = one_machine
    assert requests.get(base + "/onecloud/", timeout=5).headers["Server"] == "nginx"
    assert_compressed_where_safe(base, "/onecloud/")
