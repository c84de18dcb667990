"""What every customer form shares: the form token, kept and checked uploads, the map fields,
what the customer typed surviving an error, and never a server error.

Each provider's documented fields, limits and choices are held to its contract by
tests/providers/test_form_contract.py; its quirks are in tests/providers/<alias>/test_form.py.
The helpers here (``form_url``, ``errors_of``...) serve those modules too; the valid post
itself is ``tests.support.factories.form_post``.
"""

import io
import re
import struct
import uuid
import zipfile
import zlib
from decimal import Decimal

import pytest
from django.core import signing
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tests.support.factories import enable_only, onecloud_post, png_bytes, png_upload, storehub_post
from tests.support.pages import error_html_next_to, errors_of
from tickets.models import Attachment, Submission

pytestmark = pytest.mark.django_db

ONECLOUD_URL = "/onecloud/"
STOREHUB_URL = "/storehub/"


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    # Many posts from one test client: keep the rate limit out of the way, and kept files in a
    # temporary folder.
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    cache.clear()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def png(name="brochure.png") -> SimpleUploadedFile:
    return upload(name, png_bytes(), "image/png")


def jpeg(name="photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(buffer, format="JPEG")
    return upload(name, buffer.getvalue(), "image/jpeg")


def office_open_xml(name: str, folder: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}document.xml", "<document/>")
    return upload(name, buffer.getvalue())


def renamed_executable(name="photo.jpg") -> SimpleUploadedFile:
    # The "MZ" header of a Windows program, as a malicious or mistaken upload would carry it.
    content = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
    content += b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 400
    return upload(name, content, "image/jpeg")


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: a decompression bomb's signature."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


# --- e-mail addresses ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address", ['"shop,owner"@example.my', '"a b"@example.my', "a;b@example.my"]
)
@pytest.mark.parametrize(
    ("url", "builder"), [(ONECLOUD_URL, onecloud_post), (STOREHUB_URL, storehub_post)]
)
def test_an_address_no_mail_server_would_take_is_refused_with_the_usual_message(
    client, url, builder, address
):
    """RFC 5322's quoted local parts pass Django's check, then fail every send (the portal's and
    the provider's): refused here, while the customer can still correct it."""
    response = client.post(url, builder(email=address))

    assert errors_of(response, "email") == ["Enter a valid email address."]
    assert Submission.objects.count() == 0


# --- coordinates --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "90.000001", "Latitude must be between -90 and 90 degrees."),
        ("latitude", "-91", "Latitude must be between -90 and 90 degrees."),
        ("longitude", "180.5", "Longitude must be between -180 and 180 degrees."),
        ("longitude", "-1e999", "Longitude must be between -180 and 180 degrees."),
        ("latitude", "NaN", "Enter the latitude as a number of degrees, such as 3.157300."),
        ("latitude", "inf", "Enter the latitude as a number of degrees, such as 3.157300."),
        (
            "longitude",
            "-Infinity",
            "Enter the longitude as a number of degrees, such as 101.712200.",
        ),
        ("longitude", "101,7", "Enter the longitude as a number of degrees, such as 101.712200."),
        ("latitude", "north", "Enter the latitude as a number of degrees, such as 3.157300."),
    ],
)
@pytest.mark.parametrize(
    ("url", "builder"), [(ONECLOUD_URL, onecloud_post), (STOREHUB_URL, storehub_post)]
)
def test_out_of_range_or_non_numeric_coordinates_are_refused(
    client, url, builder, field, value, message
):
    response = client.post(url, builder(**{field: value}))

    assert errors_of(response, field) == [message]
    assert message in error_html_next_to(response, field)
    assert Submission.objects.count() == 0


def test_coordinates_are_rounded_to_six_decimals(client):
    client.post(STOREHUB_URL, storehub_post(latitude="3.15730049", longitude="101.71220051"))

    submission = Submission.objects.get()
    assert submission.latitude == Decimal("3.157300")
    assert submission.longitude == Decimal("101.712201")


# --- what the customer typed and chose survives an error ----------------------------------
def test_typed_data_is_shown_again_after_a_failed_validation(client):
    data = storehub_post(
        phone="nope",
        remark="Line one\r\nLine two",
        service_id="18",
        latitude="3.1573",  # as typed, not as it would be stored (3.157300)
        longitude="101.7122",
    )
    html = client.post(STOREHUB_URL, data).content.decode()

    for field in ("name", "email", "store_name", "latitude", "longitude"):
        assert str(data[field]) in html, field
    assert "Line one\r\nLine two" in html or "Line one\nLine two" in html
    assert re.search(rf'<option value="{data["state"]}" selected>', html)
    assert re.search(r'<option value="18" selected>', html)
    assert re.search(r'name="receive_sms"[^>]*checked', html)


def test_chosen_files_are_kept_when_another_field_has_an_error(client):
    first = client.post(
        ONECLOUD_URL,
        onecloud_post(name="", attachment=png("shop-front.png"), file=jpeg("price list.jpg")),
    )

    html = first.content.decode()
    assert "Keep the file you chose: shop-front.png" in html
    assert "Keep the file you chose: price list.jpg" in html
    tokens = dict(
        re.findall(r'name="(attachment_kept|file_kept)" [^>]*value="([^"]+)" checked', html)
    )
    assert set(tokens) == {"attachment_kept", "file_kept"}
    # The token is signed: it names a stored file, never a path the browser could choose.
    assert "pending/" not in html

    second = client.post(
        ONECLOUD_URL,
        onecloud_post(form_token=first.context["form"]["form_token"].value(), **tokens),
    )

    assert second.status_code == 302
    submission = Submission.objects.get()
    stored = {a.role: a for a in submission.attachments.all()}
    assert stored["attachment"].original_name == "shop-front.png"
    assert stored["attachment"].content_type == "image/png"
    assert stored["attachment"].file.read() == png_bytes()
    assert stored["file"].original_name == "price list.jpg"


def test_kept_files_are_capped_and_past_the_cap_the_form_still_answers(client, settings):
    settings.KEPT_UPLOADS_MAX = 1
    client.post(ONECLOUD_URL, onecloud_post(name="", attachment=png("first.png")))

    second = client.post(ONECLOUD_URL, onecloud_post(name="", attachment=png("second.png")))

    assert second.status_code == 200
    assert "Keep the file you chose" not in second.content.decode()
    assert len(list((settings.MEDIA_ROOT / "pending").iterdir())) == 1


def test_one_client_cannot_use_up_the_kept_files_of_everyone(client, settings):
    settings.KEPT_UPLOADS_PER_CLIENT = 2
    greedy = {"REMOTE_ADDR": "203.0.113.20"}
    for number in range(2):
        kept = client.post(
            ONECLOUD_URL, onecloud_post(name="", attachment=png(f"{number}.png")), **greedy
        )
        assert f"Keep the file you chose: {number}.png" in kept.content.decode()

    refused = client.post(ONECLOUD_URL, onecloud_post(name="", attachment=png("2.png")), **greedy)
    assert refused.status_code == 200
    assert "Keep the file you chose" not in refused.content.decode()
    # Another customer's file is still kept.
    other = client.post(
        ONECLOUD_URL,
        onecloud_post(name="", attachment=png("mine.png")),
        REMOTE_ADDR="198.51.100.30",
    )
    assert "Keep the file you chose: mine.png" in other.content.decode()
    assert len(list((settings.MEDIA_ROOT / "pending").iterdir())) == 3


def test_unticking_keep_drops_the_file_and_a_new_choice_replaces_it(client):
    first = client.post(ONECLOUD_URL, onecloud_post(name="", attachment=png("old.png")))
    token = re.search(r'name="attachment_kept" [^>]*value="([^"]+)"', first.content.decode())[1]

    client.post(ONECLOUD_URL, onecloud_post())  # unticked: the token is not sent
    assert not Attachment.objects.exists()

    client.post(ONECLOUD_URL, onecloud_post(attachment_kept=token, attachment=png("new.png")))
    assert Attachment.objects.get().original_name == "new.png"


def test_a_kept_file_is_offered_again_when_the_new_choice_is_refused(client):
    first = client.post(ONECLOUD_URL, onecloud_post(name="", attachment=png("good.png")))
    token = re.search(r'name="attachment_kept" [^>]*value="([^"]+)"', first.content.decode())[1]

    second = client.post(
        ONECLOUD_URL, onecloud_post(attachment_kept=token, attachment=renamed_executable())
    )

    assert errors_of(second, "attachment")
    assert "Keep the file you chose: good.png" in second.content.decode()


@pytest.mark.parametrize(
    "token",
    [
        "pending/abc/evil.png",
        signing.dumps({"path": "../portal/settings.py", "name": "x.png", "type": "image/png"}),
        signing.dumps(
            {"path": "attachments/x/y.png", "name": "y.png", "type": "image/png", "size": 1},
            salt="tickets.kept-upload",
        ),
        signing.dumps(
            {"path": "pending/nothing/here.png", "name": "here.png", "type": "image/png"},
            salt="tickets.kept-upload",
        ),
    ],
)
def test_a_forged_or_stale_kept_file_token_is_refused_without_reading_anything(client, token):
    response = client.post(ONECLOUD_URL, onecloud_post(attachment_kept=token))

    assert response.status_code == 200
    assert errors_of(response, "attachment") == [
        "The file you chose earlier is no longer available. Please choose it again."
    ]
    assert Submission.objects.count() == 0


# --- one submission per form --------------------------------------------------------------
def test_the_same_form_posted_twice_creates_one_submission(client):
    page = client.get(STOREHUB_URL).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page)[1]
    data = storehub_post(form_token=token)

    first = client.post(STOREHUB_URL, data)
    second = client.post(STOREHUB_URL, data)  # a double click, a refresh, back-and-resubmit

    assert Submission.objects.count() == 1
    submission = Submission.objects.get()
    expected = reverse("tickets:status", args=[submission.public_id])
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == expected


def test_the_same_form_sent_again_with_changed_content_is_a_new_request(client):
    """Back, edit, send: the customer is told the new request was received, so it must be."""
    page = client.get(STOREHUB_URL).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page)[1]

    first = client.post(STOREHUB_URL, storehub_post(form_token=token))
    edited = client.post(STOREHUB_URL, storehub_post(form_token=token, issue="*Printer jam"))
    edited_again = client.post(STOREHUB_URL, storehub_post(form_token=token, issue="*Printer jam"))

    assert Submission.objects.count() == 2
    original, changed = Submission.objects.order_by("created_at")
    assert first["Location"] == reverse("tickets:status", args=[original.public_id])
    assert edited["Location"] == edited_again["Location"]
    assert edited["Location"] == reverse("tickets:status", args=[changed.public_id])
    assert changed.details["issue"] == "*Printer jam"
    assert original.details["issue"] != changed.details["issue"]


def test_the_same_form_sent_again_with_another_file_is_a_new_request(client):
    page = client.get(ONECLOUD_URL).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page)[1]

    client.post(ONECLOUD_URL, onecloud_post(form_token=token, attachment=png_upload("a.png")))
    client.post(ONECLOUD_URL, onecloud_post(form_token=token, attachment=png_upload("a.png")))
    client.post(ONECLOUD_URL, onecloud_post(form_token=token, attachment=png_upload("b.png")))

    assert Submission.objects.count() == 2


def test_each_empty_form_gets_its_own_token(client):
    tokens = {
        re.search(r'name="form_token" value="([^"]+)"', client.get(ONECLOUD_URL).content.decode())[
            1
        ]
        for _ in range(3)
    }
    assert len(tokens) == 3


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        str(uuid.uuid4()),
        signing.dumps(str(uuid.uuid4()), salt="another-purpose"),
        "x:y:z",
    ],
    # Fixed ids: every xdist worker collects the same tests, whatever uuid4() gave it.
    ids=["missing", "empty", "unknown", "other-purpose", "malformed"],
)
def test_a_missing_or_forged_form_token_is_refused_and_a_fresh_one_offered(client, token):
    response = client.post(STOREHUB_URL, storehub_post(form_token=token))

    assert response.status_code == 200
    assert Submission.objects.count() == 0
    html = response.content.decode()
    assert "Your details are kept below" in html
    fresh = re.search(r'name="form_token" value="([^"]+)"', html)[1]
    assert fresh != token
    assert client.post(STOREHUB_URL, storehub_post(form_token=fresh)).status_code == 302


def test_a_stolen_token_cannot_reach_another_customers_submission(client):
    # Tokens are random per form and signed: guessing one that exists is not possible, and a
    # raw uuid (even one that exists) is refused.
    client.post(STOREHUB_URL, storehub_post())
    existing = Submission.objects.get().form_token

    response = client.post(STOREHUB_URL, storehub_post(form_token=str(existing)))

    assert response.status_code == 200
    assert "Location" not in response


# --- attachments --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("attachment", lambda: png("a.png")),
        ("attachment", lambda: jpeg("a.jpeg")),
        ("file", lambda: jpeg("scan.JPG")),
        (
            "file",
            lambda: upload("price.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
        ),
        ("file", lambda: office_open_xml("letter.docx", "word/")),
        ("file", lambda: office_open_xml("prices.xlsx", "xl/")),
        ("file", lambda: office_open_xml("deck.pptx", "ppt/")),
        ("file", lambda: upload("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x01" * 600)),
        ("file", lambda: upload("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x01" * 600)),
        ("file", lambda: upload("list.csv", b"nama,harga\nKopi,RM5\n")),
        ("file", lambda: upload("list.csv", "caf\xe9;5\n".encode("cp1252"))),
        ("file", lambda: upload("notes.txt", "Terima kasih \u2764\n".encode())),
    ],
)
def test_documented_file_types_are_accepted(client, field, make):
    response = client.post(ONECLOUD_URL, onecloud_post(**{field: make()}))

    assert response.status_code == 302, errors_of(response, field)
    assert Attachment.objects.get().role == field


@pytest.mark.parametrize(
    ("field", "make", "message"),
    [
        ("attachment", lambda: renamed_executable("photo.jpg"), "not a real .jpg file"),
        ("file", lambda: renamed_executable("price.pdf"), "not a real .pdf file"),
        ("file", lambda: renamed_executable("notes.txt"), "not a real .txt file"),
        ("file", lambda: renamed_executable("letter.doc"), "not a real .doc file"),
        ("attachment", lambda: upload("setup.exe", b"MZ" + b"\x00" * 100), ".exe are not"),
        ("attachment", lambda: upload("README", b"hello"), "has no extension"),
        ("attachment", lambda: office_open_xml("photo.png", "word/"), "not a real .png file"),
        ("attachment", lambda: upload("doc.pdf", b"%PDF-1.4"), ".pdf are not accepted"),
        ("file", lambda: office_open_xml("letter.docx", "xl/"), "not a real .docx file"),
        ("file", lambda: upload("a.docx", b"PK\x03\x04 not really a zip"), "not a real .docx"),
        ("file", lambda: upload("a.xlsx", b"PK\x05\x06" + b"\x00" * 18), "not a real .xlsx"),
        ("file", lambda: upload("a.png", png_bytes()[:40]), "not a real .png file"),
        ("file", lambda: upload("a.txt", b"abc\x00def"), "not a real .txt file"),
        ("file", lambda: upload("a.csv", b"\xff\xfeh\x00i\x00"), "not a real .csv file"),
        ("file", lambda: upload("empty.pdf", b""), "The submitted file is empty."),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(client, field, make, message):
    response = client.post(ONECLOUD_URL, onecloud_post(**{field: make()}))

    assert response.status_code == 200
    assert message in str(errors_of(response, field)[0])
    assert message in error_html_next_to(response, field)
    assert Submission.objects.count() == 0
    assert "Keep the file you chose" not in response.content.decode()


def test_the_stored_type_is_what_the_content_is_not_what_the_browser_said(client):
    mislabelled = upload("photo.jpg", png_bytes(), content_type="application/x-msdownload")

    client.post(ONECLOUD_URL, onecloud_post(attachment=mislabelled))

    assert Attachment.objects.get().content_type == "image/png"


def test_an_oversized_file_is_refused_with_its_size_and_the_limit(client, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    big = upload("big.txt", b"a" * 1025)

    response = client.post(ONECLOUD_URL, onecloud_post(file=big))

    assert errors_of(response, "file") == [
        "This file is 1.0\xa0KB; the limit is 1.0\xa0KB. Please send a smaller file."
    ]
    assert Submission.objects.count() == 0


def test_the_default_size_limit_is_ten_megabytes(client):
    big = upload("big.txt", b"a" * (10 * 1024 * 1024 + 1))

    response = client.post(ONECLOUD_URL, onecloud_post(file=big))

    assert "the limit is 10.0\xa0MB" in str(errors_of(response, "file")[0])


def test_a_decompression_bomb_is_refused(client):
    bomb = upload("bomb.png", png_claiming_size(100_000, 100_000), "image/png")

    response = client.post(ONECLOUD_URL, onecloud_post(attachment=bomb))

    assert errors_of(response, "attachment") == [
        "This picture has too many pixels to be handled safely. Please send a smaller one."
    ]
    assert Submission.objects.count() == 0


def test_a_picture_over_pillows_warning_size_is_refused_too(client, monkeypatch):
    # Between MAX_IMAGE_PIXELS and twice that Pillow only warns; the warning refuses it as well.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # the 8x8 test picture has 64 pixels

    response = client.post(ONECLOUD_URL, onecloud_post(attachment=png()))

    assert "too many pixels" in str(errors_of(response, "attachment")[0])


def test_the_browser_is_told_which_files_to_offer_by_extension_and_type(client):
    html = client.get(ONECLOUD_URL).content.decode()

    attachment = re.search(r'<input[^>]*name="attachment"[^>]*>', html).group(0)
    assert 'accept=".jpeg,.jpg,.png,image/jpeg,image/png"' in attachment


@pytest.mark.parametrize(
    "name", ["ä" * 200 + ".png", "😀" * 80 + ".png", "a" * 290 + ".png", "ไฟล์" * 40 + ".png"]
)
def test_a_file_with_a_very_long_name_is_stored_under_a_name_the_disk_can_hold(client, name):
    response = client.post(ONECLOUD_URL, onecloud_post(attachment=png_upload(name)))

    assert response.status_code == 302
    attachment = Attachment.objects.get()
    # What staff see and download it as (Django keeps 255 characters of a name, and its ending).
    assert attachment.original_name == (name if len(name) <= 255 else name[:251] + ".png")
    stored = attachment.file.name.rsplit("/", 1)[1]
    assert len(stored.encode()) <= 255 and stored.endswith(".png")
    with attachment.file.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


# --- never a server error -----------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "\x00"},
        {"name": "Ah\x00mad"},
        {"phone": "\x00"},
        {"phone": "+" + "9" * 500},
        {"priority": ["0", "1"]},
        {"priority": "1.0"},
        {"service_id": "1e3"},
        {"service_id": "\u0661"},  # an Arabic-Indic digit one
        {"receive_sms": "perhaps"},
        {"latitude": "1" * 5000},
        {"latitude": "0x10"},
        {"latitude": "--1"},
        {"latitude": "\u0663.1"},
        {"state": "\U0001f600"},
        {"attachment_kept": "garbage"},
        {"form_token": "a" * 10_000},
        {"email": "not-an-email"},
        {"remark": "\r" * 2000},
    ],
)
def test_bad_input_never_gives_a_server_error(client, overrides):
    response = client.post(STOREHUB_URL, storehub_post(**overrides))

    assert response.status_code in (200, 302)


@pytest.mark.parametrize(
    "files",
    [
        {"attachment": upload("a.png", b"\x89PNG\r\n\x1a\n" + b"\xff" * 100)},
        {"attachment": upload("a.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100)},
        {"file": upload("a.docx", b"PK\x03\x04" + b"\xff" * 100)},
        {"file": upload("." * 300 + ".png", png_bytes())},
        {"file": upload("../../etc/passwd.txt", b"root:x:0:0")},
        {"attachment": upload("a.png", png_claiming_size(0, 0))},
        {"attachment": upload("a.png", png_claiming_size(2**31 - 1, 2**31 - 1))},
    ],
)
def test_broken_files_never_give_a_server_error(client, files):
    response = client.post(ONECLOUD_URL, onecloud_post(**files))

    assert response.status_code in (200, 302)
    for attachment in Attachment.objects.all():
        assert ".." not in attachment.file.name


def test_a_disabled_provider_has_no_form(client, settings):
    enable_only(settings, "onecloud")

    assert client.get(STOREHUB_URL).status_code == 404
    assert client.post(STOREHUB_URL, storehub_post()).status_code == 404
    assert Submission.objects.count() == 0
