"""A picture posted to a real gunicorn costs the web process at most PICTURE_MEMORY_BUDGET.

The crafted picture is the one issue 26 found: a 9400 x 9400 CMYK JPEG of about 4 MB, stored on
its side (EXIF Orientation 6), with two stray bytes between two segments. It passes the upload
checks, which read headers only; decoding it would take 350 MB, and turning it another 350 MB.
The memory is the peak resident set (VmHWM) of gunicorn's processes, reset before each post.
"""

import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.support.factories import camera_photo_bytes, form_post
from tests.support.gunicorn import production_gunicorn
from tickets.models import Attachment, Submission

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PICTURE_MEMORY_BUDGET = 150 * 1024 * 1024
ORIENTATION = 0x0112


def crafted_picture() -> bytes:
    """The 9400 x 9400 CMYK JPEG, Orientation 6, two stray bytes before its tables: 4 MB."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buffer = io.BytesIO()
    Image.new("CMYK", (9400, 9400), (10, 120, 200, 30)).save(buffer, format="JPEG", exif=exif)
    data = buffer.getvalue()
    at = data.index(b"\xff\xdb")
    return data[:at] + b"\x00\x00" + data[at:]


@pytest.fixture(scope="module")
def picture() -> bytes:
    return crafted_picture()


@pytest.fixture(scope="module")
def gunicorn(django_db_setup, tmp_path_factory):
    """One worker with two threads, as each of the shipped workers has."""
    with production_gunicorn(tmp_path_factory.mktemp("picture-memory"), threads=2) as server:
        yield server.base, server.pid, server.media


def server_processes(master: int) -> list[int]:
    """gunicorn's master and its workers."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def reset_peak_memory(pids: list[int]) -> None:
    for pid in pids:
        # "5" sets the peak resident set (VmHWM) back to the current one (proc(5), clear_refs).
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_memory(pids: list[int]) -> int:
    """The peak resident sets of ``pids`` added up, in bytes."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)[1]) * 1024
    return total


def post_form(base: str, **files: tuple[str, bytes]) -> requests.Response:
    """The OneCloud form sent with ``files`` as a browser without JavaScript sends it."""
    page = requests.get(f"{base}/onecloud/", timeout=10)
    tokens = {
        name: re.search(rf'name="{name}" value="([^"]+)"', page.text)[1]
        for name in ("csrfmiddlewaretoken", "form_token")
    }
    return requests.post(
        f"{base}/onecloud/",
        data=form_post("onecloud", **tokens),
        # The cookie is marked Secure, and this is plain http to gunicorn.
        cookies={"csrftoken": page.cookies["csrftoken"]},
        files={field: (name, data, "image/jpeg") for field, (name, data) in files.items()},
        allow_redirects=False,
        timeout=120,
    )


def memory_for_one_post(base: str, master: int, **files) -> tuple[requests.Response, int]:
    pids = server_processes(master)
    # A first post loads everything a post uses, so that only the picture is measured.
    warm = post_form(base, attachment=("warm.jpg", camera_photo_bytes(width=320, height=240)))
    assert warm.status_code == 302, warm.text[-2000:]
    Submission.objects.all().delete()
    reset_peak_memory(pids)
    before = peak_memory(pids)
    response = post_form(base, **files)
    return response, peak_memory(pids) - before


def test_the_crafted_picture_in_both_fields_is_kept_within_the_memory_budget(gunicorn, picture):
    base, master, media = gunicorn

    response, growth = memory_for_one_post(
        base, master, attachment=("side.jpg", picture), file=("side-2.jpg", picture)
    )

    print(f"peak memory growth: {growth / 2**20:.0f} MB")
    assert growth <= PICTURE_MEMORY_BUDGET, f"{growth / 2**20:.0f} MB"
    assert response.status_code == 302, response.text[-2000:]
    assert response.headers["Location"].startswith("/status/")
    for attachment in Attachment.objects.all():
        with Image.open(media / attachment.file.name) as stored:
            assert stored.size == (9400, 9400)  # not turned: the tag says how to show it
            assert dict(stored.getexif()) == {ORIENTATION: 6}


def test_the_crafted_picture_cut_short_is_refused_with_a_plain_answer(gunicorn, picture):
    # Its scan data runs to the end of the file: it cannot be walked, and the re-encode it
    # falls back to must not decode 88 million pixels.
    base, master, _media = gunicorn
    cut = picture[: len(picture) // 2]

    response, growth = memory_for_one_post(base, master, attachment=("side.jpg", cut))

    print(f"peak memory growth: {growth / 2**20:.0f} MB")
    assert growth <= PICTURE_MEMORY_BUDGET, f"{growth / 2**20:.0f} MB"
    assert response.status_code == 200
    assert "at 9400 x 9400 pixels it is too large to be converted" in response.text
    assert not Attachment.objects.exists()
