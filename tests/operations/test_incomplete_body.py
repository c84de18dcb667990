"""A request whose body does not arrive whole is answered 400, and nothing of it is kept.

Against a real gunicorn with DEBUG off, as customers reach the portal, through a raw socket
that sends part of a body and stops; and through Django's test client, for the middleware alone.
"""

import io
import re
import socket
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client
from PIL import Image

from tests.support.factories import camera_photo_bytes, form_post
from tests.support.gunicorn import answers, production_gunicorn
from tickets.models import Attachment, Submission
from tickets.operations.middleware import CompleteBodyStream, IncompleteRequestBody

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BOUNDARY = "----PortalTestBoundary7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"
GPS_IFD = 0x8825


def photo() -> bytes:
    return camera_photo_bytes(width=800, height=600)


def multipart_body(fields: dict, photo_bytes: bytes, *, closed: bool = True) -> bytes:
    """The OneCloud form as a browser encodes it, the photo last; ``closed=False`` leaves out
    the closing boundary."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="attachment"; filename="shop-front.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo_bytes
        + b"\r\n"
    )
    if closed:
        parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


def halfway_through_the_photo(body: bytes, photo_bytes: bytes) -> int:
    return body.index(photo_bytes) + len(photo_bytes) // 2


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- a real gunicorn, DEBUG off -----------------------------------------------------------
@pytest.fixture(scope="module")
def gunicorn(django_db_setup, tmp_path_factory):
    """The portal under gunicorn with production settings, on the test database.

    One sync worker with one thread: it serves one connection at a time, so a request sent
    after another is answered only once the first is finished.
    """
    with production_gunicorn(tmp_path_factory.mktemp("incomplete-body"), threads=1) as server:
        yield server.port, server.media


def form_page(port: int) -> tuple[str, dict[str, str]]:
    """The csrftoken cookie and the form's hidden tokens, as a browser gets them."""
    page = requests.get(f"http://127.0.0.1:{port}/onecloud/", timeout=10)
    assert page.status_code == 200
    tokens = {
        name: re.search(rf'name="{name}" value="([^"]+)"', page.text)[1]
        for name in ("csrfmiddlewaretoken", "form_token")
    }
    return page.cookies["csrftoken"], tokens


def post_raw(
    port: int,
    body: bytes,
    *,
    content_type: str,
    cookie: str,
    send: int | None = None,
    then: str = "shutdown",
) -> bytes | None:
    """POST ``body`` to the OneCloud form with its full Content-Length, sending only its first
    ``send`` bytes; then half-close the connection (``shutdown``: the answer can still come
    back) or ``close`` it. The raw answer, or None when the connection was closed."""
    head = (
        "POST /onecloud/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Cookie: csrftoken={cookie}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head + body[:send])
        if send is not None and then == "close":
            return None
        if send is not None:
            connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def nothing_was_stored() -> bool:
    return Submission.objects.count() == 0 and Attachment.objects.count() == 0


@pytest.mark.system
def test_the_complete_multipart_body_is_stored_with_its_photo(gunicorn):
    # The control case: the body the other tests cut short is a valid request.
    port, media = gunicorn
    cookie, tokens = form_page(port)
    body = multipart_body(form_post("onecloud", **tokens), photo())

    answer = post_raw(port, body, content_type=MULTIPART, cookie=cookie)

    assert status_of(answer) == 302, answer[-2000:]
    assert re.search(rb"\r\nLocation: /status/", answer)
    [submission] = Submission.objects.all()
    [attachment] = submission.attachments.all()
    assert attachment.original_name == "shop-front.jpg"
    with Image.open(media / attachment.file.name) as stored:
        assert stored.size == (800, 600)
        assert GPS_IFD not in stored.getexif()


@pytest.mark.system
def test_a_multipart_body_cut_in_the_middle_of_the_photo_is_refused_and_not_stored(gunicorn):
    port, _media = gunicorn
    cookie, tokens = form_page(port)
    body = multipart_body(form_post("onecloud", **tokens), photo())

    answer = post_raw(
        port,
        body,
        content_type=MULTIPART,
        cookie=cookie,
        send=halfway_through_the_photo(body, photo()),
    )

    assert status_of(answer) == 400
    assert b"did not arrive complete" in answer
    assert b"Nothing was stored" in answer
    assert nothing_was_stored()


@pytest.mark.system
def test_a_connection_closed_in_the_middle_of_the_photo_stores_nothing(gunicorn):
    port, _media = gunicorn
    cookie, tokens = form_page(port)
    body = multipart_body(form_post("onecloud", **tokens), photo())

    post_raw(
        port,
        body,
        content_type=MULTIPART,
        cookie=cookie,
        send=halfway_through_the_photo(body, photo()),
        then="close",
    )

    # The only worker answers this only after it has finished with the closed connection.
    assert answers(f"http://127.0.0.1:{port}/healthz/web")
    assert nothing_was_stored()


@pytest.mark.system
def test_a_full_length_multipart_body_without_its_closing_boundary_is_refused(gunicorn):
    port, _media = gunicorn
    cookie, tokens = form_page(port)
    body = multipart_body(form_post("onecloud", **tokens), photo(), closed=False)

    answer = post_raw(port, body, content_type=MULTIPART, cookie=cookie)

    assert status_of(answer) == 400
    assert b"did not arrive complete" in answer
    assert nothing_was_stored()


@pytest.mark.system
def test_an_urlencoded_body_cut_short_is_refused_and_not_stored(gunicorn):
    port, _media = gunicorn
    cookie, tokens = form_page(port)
    body = urlencode(form_post("onecloud", **tokens)).encode()

    answer = post_raw(
        port, body, content_type=URLENCODED, cookie=cookie, send=len(body) - len(body) // 4
    )

    assert status_of(answer) == 400
    assert b"did not arrive complete" in answer
    assert nothing_was_stored()


# --- the middleware alone, through Django's test client -----------------------------------
def post_part(client: Client, path: str, body: bytes, content_type: str, *, send: int, **extra):
    """POST ``body``'s Content-Length with only ``send`` bytes behind it, as a dropped line."""
    return client.generic(
        "POST",
        path,
        body[:send],
        content_type=content_type,
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body[:send])},
        **extra,
    )


@pytest.fixture
def client_fields() -> dict:
    return form_post("onecloud")


def test_the_body_sent_whole_is_accepted_through_the_test_client(client, client_fields):
    body = multipart_body(client_fields, photo())
    response = client.generic("POST", "/onecloud/", body, content_type=MULTIPART)
    assert response.status_code == 302
    assert Attachment.objects.count() == 1


def test_a_body_that_ends_early_gets_the_incomplete_page(client, client_fields):
    body = multipart_body(client_fields, photo())

    response = post_part(
        client, "/onecloud/", body, MULTIPART, send=halfway_through_the_photo(body, photo())
    )

    assert response.status_code == 400
    assert response.templates[0].name == "400_incomplete.html"
    assert nothing_was_stored()


def test_a_body_without_its_closing_boundary_gets_the_incomplete_page(client, client_fields):
    body = multipart_body(client_fields, photo(), closed=False)
    response = client.generic("POST", "/onecloud/", body, content_type=MULTIPART)
    assert response.status_code == 400
    assert b"did not arrive complete" in response.content
    assert nothing_was_stored()


def test_the_closing_boundary_may_come_without_its_final_line_break(client, client_fields):
    body = multipart_body(client_fields, photo()).removesuffix(b"\r\n")
    response = client.generic("POST", "/onecloud/", body, content_type=MULTIPART)
    assert response.status_code == 302


def test_an_incomplete_body_is_a_400_before_the_csrf_check_not_a_403(client_fields):
    client = Client(enforce_csrf_checks=True)
    body = urlencode(client_fields).encode()
    response = post_part(client, "/onecloud/", body, URLENCODED, send=len(body) // 2)
    assert response.status_code == 400
    assert b"did not arrive complete" in response.content


def test_the_incomplete_page_speaks_the_customers_language(client, client_fields):
    body = urlencode(client_fields).encode()
    response = post_part(client, "/onecloud/", body, URLENCODED, send=10, HTTP_ACCEPT_LANGUAGE="ms")
    assert response.status_code == 400
    assert b'<html lang="ms">' in response.content


def test_the_language_switcher_on_the_incomplete_page_works(client_fields):
    # The page is drawn after CsrfViewMiddleware has read the cookie, so its token is valid.
    client = Client(enforce_csrf_checks=True)
    client.get("/onecloud/")
    body = urlencode(client_fields).encode()
    page = post_part(client, "/onecloud/", body, URLENCODED, send=10).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]

    switched = client.post(
        "/i18n/setlang/", {"csrfmiddlewaretoken": token, "language": "id", "next": "/onecloud/"}
    )

    assert switched.status_code == 302


def test_the_staff_sign_in_is_covered_too(client):
    body = urlencode({"username": "staff", "password": "a long password"}).encode()
    response = post_part(client, "/admin/login/", body, URLENCODED, send=12)
    assert response.status_code == 400


def test_a_complete_body_read_in_small_pieces_passes_and_keeps_only_a_small_tail():
    body = multipart_body({"name": "Siti"}, b"\xff\xd8" + b"x" * 100_000)
    stream = CompleteBodyStream(
        io.BytesIO(body), length=len(body), closing_boundary=f"--{BOUNDARY}--".encode()
    )
    pieces = []
    while piece := stream.read(1000):
        pieces.append(piece)
        assert len(stream._tail) <= len(BOUNDARY) + 6
    assert b"".join(pieces) == body


def test_a_connection_reset_while_reading_is_an_incomplete_body_not_an_os_error():
    class Reset(io.RawIOBase):
        def read(self, size=-1):
            raise ConnectionResetError("reset by peer")

    stream = CompleteBodyStream(Reset(), length=100, closing_boundary=None)
    with pytest.raises(IncompleteRequestBody):
        stream.read(10)
    assert not issubclass(IncompleteRequestBody, OSError)
