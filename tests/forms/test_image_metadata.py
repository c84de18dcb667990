"""Pictures are kept without where, when and with what they were taken, and with every pixel."""

import io
import re
import struct
import threading
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo

from tests.support.factories import (
    CAMERA_MAKE,
    CAMERA_MODEL,
    camera_photo_bytes,
    onecloud_post,
    png_bytes,
)
from tickets.forms.image_metadata import DECODING, strip_metadata
from tickets.models import Attachment

ORIENTATION, MAKE, MODEL, GPS_IFD = 0x0112, 0x010F, 0x0110, 0x8825


def stripped(data: bytes, content_type: str = "image/jpeg") -> bytes:
    upload = SimpleUploadedFile("photo.jpg", data, content_type=content_type)
    result = strip_metadata(upload, content_type)
    assert result.name == "photo.jpg"
    assert result.content_type == content_type
    content = result.read()
    assert result.size == len(content)
    return content


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


def exif_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def jpeg_markers(data: bytes) -> list[int]:
    """Every marker in the file: inside scan data FF is only ever followed by 00 or a restart."""
    return [data[m.start() + 1] for m in re.finditer(rb"\xff[\xc0-\xfe]", data)]


def small_photo(**options) -> bytes:
    return camera_photo_bytes(width=640, height=480, **options)


def resaved(data: bytes, **options) -> bytes:
    """``data`` saved again by Pillow with ``options``, its EXIF kept."""
    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", exif=image.info["exif"], **options)
    return buffer.getvalue()


# --- JPEG ----------------------------------------------------------------------------------
def test_a_camera_photo_loses_gps_make_and_model_and_keeps_every_pixel():
    original = camera_photo_bytes()
    assert {GPS_IFD, MAKE, MODEL} <= set(exif_of(original))

    clean = stripped(original)

    assert exif_of(clean) == {}
    assert CAMERA_MAKE.encode() not in clean
    assert CAMERA_MODEL.encode() not in clean
    assert pixels(clean) == pixels(original)
    assert len(clean) < len(original)


def test_a_photo_stored_on_its_side_keeps_its_orientation_as_the_only_exif_tag():
    original = small_photo(orientation=6)

    clean = stripped(original)

    assert exif_of(clean) == {ORIENTATION: 6}
    assert pixels(clean) == pixels(original)
    with Image.open(io.BytesIO(clean)) as image:
        assert ImageOps.exif_transpose(image).size == (480, 640)


def test_the_jfif_header_stays_first_and_the_colour_profile_is_kept():
    profile = b"\x00" * 128 + b"a stand-in colour profile"
    original = resaved(small_photo(orientation=3), icc_profile=profile)

    clean = stripped(original)

    assert clean[2:4] == b"\xff\xe0" and clean[6:11] == b"JFIF\x00"
    assert clean[20:22] == b"\xff\xe1"  # the orientation right after the 16-byte JFIF segment
    with Image.open(io.BytesIO(clean)) as image:
        assert image.info["icc_profile"] == profile
        assert dict(image.getexif()) == {ORIENTATION: 3}


def test_a_progressive_jpeg_with_a_comment_is_walked_through_every_scan():
    original = resaved(small_photo(), progressive=True, comment=b"Shot on " + CAMERA_MODEL.encode())
    assert jpeg_markers(original).count(0xDA) > 1  # several scans, tables between them

    clean = stripped(original)

    assert exif_of(clean) == {}
    with Image.open(io.BytesIO(clean)) as image:
        assert "comment" not in image.info
        assert image.info.get("progressive")
    assert CAMERA_MODEL.encode() not in clean
    assert pixels(clean) == pixels(original)
    assert jpeg_markers(clean).count(0xDA) == jpeg_markers(original).count(0xDA)


def test_restart_markers_inside_the_scan_data_are_copied():
    original = resaved(small_photo(), restart_marker_blocks=4)
    assert re.search(rb"\xff[\xd0-\xd7]", original)

    clean = stripped(original)

    assert exif_of(clean) == {}
    assert pixels(clean) == pixels(original)


def test_an_mpo_like_file_keeps_only_its_first_image():
    first = resaved(small_photo(), quality=70)
    second = camera_photo_bytes(width=320, height=240)  # its own EXIF, GPS included
    original = first + second

    clean = stripped(original)

    assert clean == stripped(first)
    assert CAMERA_MAKE.encode() not in clean
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG"
        assert image.size == (640, 480)


def test_a_real_mpo_loses_its_index_and_its_second_image():
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(small_photo())) as left, Image.open(io.BytesIO(small_photo())) as r:
        left.save(buffer, format="MPO", save_all=True, append_images=[r], exif=left.info["exif"])
    original = buffer.getvalue()
    assert b"MPF\x00" in original

    clean = stripped(original)

    assert b"MPF\x00" not in clean
    assert clean.count(b"\xff\xd8") == 1
    with Image.open(io.BytesIO(clean)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}


def test_an_unreadable_exif_is_dropped_without_an_error():
    original = small_photo()
    broken = b"\xff\xd8\xff\xe1\x00\x0aExif\x00\x00MM" + original[2:]

    clean = stripped(broken)

    assert exif_of(clean) == {}
    assert pixels(clean) == pixels(original)


def with_stray_bytes(data: bytes, count: int) -> bytes:
    """``data`` with ``count`` bytes that are no marker before its quantization tables."""
    at = data.index(b"\xff\xdb")
    return data[:at] + b"\x00" * count + data[at:]


def test_two_stray_bytes_between_segments_are_dropped_and_every_pixel_kept():
    # Some encoders pad a segment; every decoder skips such bytes ("extraneous bytes before
    # marker"), so the picture is walked and kept without being decoded.
    original = small_photo(orientation=6)

    clean = stripped(with_stray_bytes(original, 2))

    assert clean == stripped(original)
    assert exif_of(clean) == {ORIENTATION: 6}
    assert pixels(clean) == pixels(original)


def test_a_small_jpeg_that_cannot_be_walked_is_re_encoded_with_its_orientation_as_a_tag():
    # Past a few stray bytes the walk stops; decoders still read it.
    original = small_photo(orientation=6)

    clean = stripped(with_stray_bytes(original, 40))

    assert CAMERA_MAKE.encode() not in clean
    assert exif_of(clean) == {ORIENTATION: 6}
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (640, 480)  # the pixels as stored, not turned
        assert ImageOps.exif_transpose(image).size == (480, 640)


def test_a_large_jpeg_that_cannot_be_walked_is_refused_with_a_plain_message(settings):
    settings.PHOTO_MAX_SIDE_PX = 400  # below the 640 x 480 photo, as 9400 x 9400 is below 2048

    with pytest.raises(ValidationError) as refused:
        stripped(with_stray_bytes(small_photo(), 40))

    assert refused.value.code == "unparsable_picture_too_large"
    assert "640 x 480" in refused.value.messages[0]
    assert "at most 400 pixels on its long side" in refused.value.messages[0]


def test_a_large_jpeg_that_cannot_be_walked_is_refused_before_any_decoding(settings):
    settings.PHOTO_MAX_SIDE_PX = 400
    original = small_photo()
    # Decoding a photo cut off in its scan data fails; refused as too large instead, it was not
    # decoded.
    with pytest.raises(ValidationError) as refused:
        stripped(original[: len(original) // 2])
    assert refused.value.code == "unparsable_picture_too_large"


def test_one_decode_at_a_time_in_the_process_whatever_the_thread_count():
    # Another thread is decoding a picture: this one waits for it rather than holding a second
    # decoded picture in memory beside it.
    odd = with_stray_bytes(small_photo(), 40)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (stripped(odd), done.set()))

    with DECODING:
        worker.start()
        assert not done.wait(0.5)
    worker.join(timeout=10)

    assert done.is_set()


def test_a_jpeg_cut_off_is_refused_with_a_plain_message():
    original = small_photo()
    with pytest.raises(ValidationError) as refused:
        stripped(original[: len(original) // 2])
    assert refused.value.code == "unreadable_picture"


# --- PNG -----------------------------------------------------------------------------------
def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos : pos + 12 + length]))
        pos += 12 + length
    return chunks


def png_with_metadata(orientation: int = 1) -> bytes:
    image = Image.linear_gradient("L").convert("RGB").resize((64, 48))
    info = PngInfo()
    info.add_text("Comment", f"Taken with a {CAMERA_MODEL}")
    info.add_itxt("Description", "Kedai di Jalan Ampang", lang="ms")
    info.add(b"tIME", struct.pack(">HBBBBB", 2026, 11, 30, 9, 15, 0))
    exif = Image.Exif()
    exif[MAKE] = CAMERA_MAKE
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (3.0, 8.0, 52.0)}
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, exif=exif, dpi=(72, 72))
    return buffer.getvalue()


def test_a_png_loses_its_text_time_and_exif_chunks_and_keeps_the_rest_byte_for_byte():
    original = png_with_metadata()
    kinds = [kind for kind, _ in png_chunks(original)]
    assert {b"tEXt", b"iTXt", b"tIME", b"eXIf"} <= set(kinds)

    clean = stripped(original, "image/png")

    kept = [chunk for kind, chunk in png_chunks(original) if kind in (b"IHDR", b"pHYs", b"IDAT")]
    assert [chunk for _, chunk in png_chunks(clean)][:-1] == kept
    assert CAMERA_MODEL.encode() not in clean and CAMERA_MAKE.encode() not in clean
    assert pixels(clean) == pixels(original)
    with Image.open(io.BytesIO(clean)) as image:
        assert image.info == {"dpi": pytest.approx((72, 72), abs=0.1)}


def test_a_png_keeps_an_orientation_other_than_1_and_nothing_else_of_its_exif():
    clean = stripped(png_with_metadata(orientation=8), "image/png")
    assert exif_of(clean) == {ORIENTATION: 8}
    assert pixels(clean) == pixels(png_with_metadata(orientation=8))
    # The eXIf written anew carries a right CRC, as every chunk must.
    assert all(
        zlib.crc32(chunk[4:-4]) == struct.unpack(">I", chunk[-4:])[0]
        for _, chunk in png_chunks(clean)
    )


def test_a_png_without_its_end_chunk_is_re_encoded_with_its_orientation_as_a_tag():
    original = png_with_metadata(orientation=8)

    clean = stripped(original[:-12], "image/png")  # IEND cut off: decoders still read it

    assert exif_of(clean) == {ORIENTATION: 8}
    assert CAMERA_MODEL.encode() not in clean and CAMERA_MAKE.encode() not in clean
    assert pixels(clean) == pixels(original)  # lossless, and not turned


def test_a_picture_without_metadata_and_a_document_are_handed_back_untouched():
    upload = SimpleUploadedFile("brochure.png", png_bytes(), content_type="image/png")
    assert strip_metadata(upload, "image/png") is upload
    document = SimpleUploadedFile("price list.pdf", b"%PDF-1.7\n", content_type="application/pdf")
    assert strip_metadata(document, "application/pdf") is document


# --- through the customer's form -----------------------------------------------------------
@pytest.fixture
def isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def camera_upload(name: str = "IMG_20261130_091500.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, camera_photo_bytes(), content_type="image/jpeg")


@pytest.mark.django_db
def test_a_photo_sent_through_the_form_is_stored_without_gps_and_with_every_pixel(client, isolated):
    response = client.post(
        "/onecloud/", onecloud_post(attachment=camera_upload(), file=camera_upload("scan.jpg"))
    )

    assert response.status_code == 302
    for attachment in Attachment.objects.all():
        stored = attachment.file.read()
        assert attachment.size == len(stored)
        assert attachment.content_type == "image/jpeg"
        assert exif_of(stored) == {}
        assert pixels(stored) == pixels(camera_photo_bytes())
    assert {a.role for a in Attachment.objects.all()} == {"attachment", "file"}


@pytest.mark.django_db
def test_a_photo_kept_while_another_field_is_fixed_is_kept_without_gps(client, isolated):
    first = client.post("/onecloud/", onecloud_post(name="", attachment=camera_upload()))
    token = re.search(r'name="attachment_kept" [^>]*value="([^"]+)"', first.content.decode())[1]
    [folder] = default_storage.listdir("pending")[0]
    [name] = default_storage.listdir(f"pending/{folder}")[1]
    with default_storage.open(f"pending/{folder}/{name}") as kept:
        assert exif_of(kept.read()) == {}

    second = client.post("/onecloud/", onecloud_post(attachment_kept=token))

    assert second.status_code == 302
    assert exif_of(Attachment.objects.get().file.read()) == {}


@pytest.mark.django_db
def test_a_photo_cut_off_is_refused_next_to_its_field_not_a_server_error(client, isolated):
    photo = camera_photo_bytes()
    cut = SimpleUploadedFile("IMG_cut.jpg", photo[: len(photo) // 2], content_type="image/jpeg")

    response = client.post("/onecloud/", onecloud_post(attachment=cut))

    assert response.status_code == 200
    assert response.context["form"].errors["attachment"]
    assert not Attachment.objects.exists()
