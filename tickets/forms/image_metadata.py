"""Taking out of a customer's picture what it says about where, when and with what it was taken.

Phone photos carry the GPS position, the device's make and model, the time and often a copy of
themselves in their metadata; none of it helps the provider and all of it is personal data. Every
JPEG and PNG a form keeps passes through ``strip_metadata`` after its content was checked.

Invariants:

- Pixels are never re-encoded when the file can be parsed: the compressed image data is copied
  byte for byte, so the picture decodes exactly as before.
- JPEG: of the segments before and between scans, the APPn ones are kept only when they are
  needed to show the colours right (APP0 JFIF, APP2 ICC_PROFILE, APP14 Adobe); every other APPn
  (EXIF, XMP, IPTC, MPF, maker notes, C2PA...) and COM is dropped. When the EXIF said the photo
  is stored turned (Orientation 2 to 8), a new EXIF holding only that Orientation is written,
  so the photo still shows upright. Only the first image is kept, up to its EOI: the further
  images of an MPO file (with their own EXIF and GPS) and any trailing bytes are dropped.
- PNG: critical chunks and the ancillary chunks about colour, transparency, pixel size and
  animation are kept byte for byte; text (tEXt, zTXt, iTXt), time (tIME), eXIf and any chunk
  this module does not know are dropped. An eXIf Orientation other than 1 is kept the same way.
- JPEG: a few extraneous bytes between two segments (at most JPEG_MAX_EXTRANEOUS_BYTES, which
  some encoders leave and every decoder skips) are dropped, and the picture is walked as usual.
- A picture that cannot be parsed is decoded and re-encoded from its pixels only when it has at
  most PHOTO_MAX_SIDE_PX squared pixels (what the phone sends); a larger one is refused before
  anything is decoded, and so is one that fails to decode. The re-encoded picture is not turned:
  its EXIF Orientation (2 to 8) is written again as the only tag, as for a parsed one.
- Memory: the stripper holds the file (at most ATTACHMENT_MAX_BYTES, refused earlier by
  check_upload) and never decodes a parsable picture; a re-encode holds a few copies of a
  capped picture, one at a time in the whole process (DECODING). The result spools to disk past
  FILE_UPLOAD_MAX_MEMORY_SIZE.
"""

import io
import struct
import tempfile
import threading
import zlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image

PICTURE_TYPES = ("image/jpeg", "image/png")

ORIENTATION_TAG = 0x0112
EXIF_HEADER = b"Exif\x00\x00"

# APPn segments worth keeping, by marker and the identifier their payload starts with.
JPEG_KEPT_APPLICATION_SEGMENTS = {
    0xE0: b"JFIF\x00",  # the colour space of a YCbCr file, its pixel density
    0xE2: b"ICC_PROFILE\x00",  # the colour profile (Display P3 on many phones)
    0xEE: b"Adobe",  # how a CMYK or RGB file's colours are transformed
}
SOI, EOI, SOS, COM = 0xD8, 0xD9, 0xDA, 0xFE
# Markers with no length field after them: TEM and the restart markers RST0 to RST7.
JPEG_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}
# Bytes that are no marker, skipped between two segments as libjpeg does ("extraneous bytes
# before marker"): encoders that pad a segment leave one or two. Many more mean a segment length
# that is wrong, and walking on from there would read a payload (an EXIF's, say) as segments.
JPEG_MAX_EXTRANEOUS_BYTES = 16

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks a viewer needs to show the pixels as they were meant (PNG 3rd edition and
# APNG); critical chunks (first letter upper case) are always kept.
PNG_KEPT_ANCILLARY_CHUNKS = {
    b"tRNS",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"cICP",
    b"mDCV",
    b"cLLI",
    b"bKGD",
    b"hIST",
    b"pHYs",
    b"sPLT",
    b"acTL",
    b"fcTL",
    b"fdAT",
}

Piece = bytes | memoryview


class UnparsablePicture(ValueError):
    """The file does not follow the structure of its format closely enough to be walked."""


# Held around every full decode of a picture in this process. gunicorn runs GUNICORN_THREADS
# threads in each worker; without it each thread could hold a decoded picture at once. With it
# a worker's decoding memory is that of one capped picture (tens of MB), whatever the thread
# count; the wait is short, since only pictures of phone size are ever decoded.
DECODING = threading.Lock()


def strip_metadata(upload: UploadedFile, content_type: str) -> UploadedFile:
    """``upload`` without metadata; the same object when it is no picture or had nothing to
    remove.

    ``content_type`` is what check_upload proved the content to be. The result has the same
    name and content type, and its own size.
    """
    if content_type not in PICTURE_TYPES:
        return upload
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        pieces = _jpeg_pieces(data) if content_type == "image/jpeg" else _png_pieces(data)
    except UnparsablePicture:
        # Re-encoding writes only pixels, so nothing of the original metadata can survive it;
        # a picture of phone size that Pillow can decode is still one the customer means to
        # send, so it is kept (at the cost of one lossy pass) rather than refused.
        pieces = [_reencoded(data, content_type)]
    # Kept parts are ordered slices of ``data`` and anything written anew is bytes, so slices
    # adding up to the whole mean nothing was removed or added.
    if all(isinstance(p, memoryview) for p in pieces) and sum(map(len, pieces)) == len(data):
        return upload
    spooled = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (the returned upload owns it)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    for piece in pieces:
        spooled.write(piece)
    size = spooled.tell()
    spooled.seek(0)
    return UploadedFile(spooled, name=upload.name, content_type=content_type, size=size)


# --- JPEG ----------------------------------------------------------------------------------
def _jpeg_pieces(data: bytes) -> list[Piece]:
    """The parts of ``data`` to keep, in order, with an orientation-only EXIF where needed."""
    if not data.startswith(b"\xff\xd8"):
        raise UnparsablePicture("no SOI")
    view = memoryview(data)
    pieces: list[Piece] = [view[:2]]
    exif_index = 1  # where an orientation-only EXIF goes: after SOI, or after a leading JFIF
    orientation = 1
    seen_scan = False
    in_scan = False
    pos = 2
    while True:
        if in_scan:
            start, pos = pos, _end_of_entropy_coded_data(data, pos)
            pieces.append(view[start:pos])
        pos = _next_marker(data, pos)
        marker = data[pos + 1]
        if marker == EOI:
            if not seen_scan:
                raise UnparsablePicture("EOI before any scan")
            pieces.append(view[pos : pos + 2])
            break
        if marker == SOI:
            raise UnparsablePicture("SOI inside the image")
        if marker in JPEG_STANDALONE_MARKERS:
            pieces.append(view[pos : pos + 2])
            pos += 2
            in_scan = False
            continue
        if pos + 4 > len(data):
            raise UnparsablePicture("segment header cut off")
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4])
        if end < pos + 4 or end > len(data):
            raise UnparsablePicture("segment length out of the file")
        payload = view[pos + 4 : end]
        if _is_kept_jpeg_segment(marker, payload):
            pieces.append(view[pos:end])
            if marker == 0xE0 and len(pieces) == 2:
                exif_index = 2
        elif marker == 0xE1 and orientation == 1 and payload[:6] == EXIF_HEADER:
            orientation = _exif_orientation(bytes(payload))
        in_scan = marker == SOS
        seen_scan = seen_scan or in_scan
        pos = end
    if orientation != 1:
        exif = EXIF_HEADER + _orientation_only_exif(orientation)
        pieces.insert(exif_index, b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif)
    return pieces


def _is_kept_jpeg_segment(marker: int, payload: memoryview) -> bool:
    if marker == COM:
        return False
    if 0xE0 <= marker <= 0xEF:
        identifier = JPEG_KEPT_APPLICATION_SEGMENTS.get(marker)
        return identifier is not None and payload[: len(identifier)] == identifier
    # Tables, frame and scan headers, restart intervals, and extension markers: what decodes.
    return True


def _end_of_entropy_coded_data(data: bytes, pos: int) -> int:
    """Where the compressed data of a scan starting at ``pos`` ends: at the next marker.

    Inside it, FF 00 is a stuffed FF byte and FF D0 to FF D7 are restart markers; FF FF is a
    fill byte before a marker.
    """
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise UnparsablePicture("scan data runs to the end of the file without EOI")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def _next_marker(data: bytes, pos: int) -> int:
    """The position of the FF of the next marker at or after ``pos``, past fill bytes (FF) and
    at most JPEG_MAX_EXTRANEOUS_BYTES others (FF 00 among them, as for libjpeg)."""
    start = pos
    while pos - start <= JPEG_MAX_EXTRANEOUS_BYTES:
        if pos + 1 >= len(data):
            raise UnparsablePicture("no marker before the end of the file")
        if data[pos] != 0xFF:
            pos += 1
            continue
        while data[pos + 1] == 0xFF:
            pos += 1
            if pos + 1 >= len(data):
                raise UnparsablePicture("fill bytes run to the end of the file")
        if data[pos + 1] != 0x00:
            return pos
        pos += 2
    raise UnparsablePicture("too many bytes that are no marker between two segments")


def _exif_orientation(exif: bytes) -> int:
    """The Orientation an EXIF block holds; 1 when it holds none or cannot be read.

    A viewer that cannot read the EXIF shows the pixels as stored, which is what 1 means.
    """
    try:
        parsed = Image.Exif()
        parsed.load(exif)
        value = parsed.get(ORIENTATION_TAG, 1)
    except Exception:
        # Pillow raises many types (struct.error, SyntaxError, ValueError...) on broken EXIF.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orientation_only_exif(orientation: int) -> bytes:
    """A TIFF header and one IFD holding only ``orientation`` (without the "Exif" prefix)."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    return exif.tobytes().removeprefix(EXIF_HEADER)


# --- PNG -----------------------------------------------------------------------------------
def _png_pieces(data: bytes) -> list[Piece]:
    """The chunks of ``data`` to keep, in order, up to and including IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise UnparsablePicture("no PNG signature")
    view = memoryview(data)
    pieces: list[Piece] = [view[: len(PNG_SIGNATURE)]]
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise UnparsablePicture("chunk header cut off, or no IEND")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + int.from_bytes(data[pos : pos + 4])
        if end > len(data):
            raise UnparsablePicture("chunk length out of the file")
        if kind[:1].isupper() or kind in PNG_KEPT_ANCILLARY_CHUNKS:
            pieces.append(view[pos:end])
        elif kind == b"eXIf":
            orientation = _exif_orientation(EXIF_HEADER + data[pos + 8 : end - 4])
            if orientation != 1:
                pieces.append(_png_chunk(b"eXIf", _orientation_only_exif(orientation)))
        if kind == b"IEND":
            return pieces
        pos = end


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


# --- anything else -------------------------------------------------------------------------
def _reencoded(data: bytes, content_type: str) -> bytes:
    """The picture's pixels alone, as stored, in a new file of the same format; its EXIF
    Orientation is the only tag written back."""
    image_format = "JPEG" if content_type == "image/jpeg" else "PNG"
    buffer = io.BytesIO()
    try:
        # Opening reads the headers only; nothing is decoded before the size is known.
        with Image.open(io.BytesIO(data)) as image:
            _refuse_too_many_pixels_to_decode(image)
            with DECODING:
                image.load()
                orientation = _exif_orientation(image.info.get("exif", b""))
                icc_profile = image.info.get("icc_profile")
                pixels = image
                if image_format == "JPEG" and image.mode not in ("L", "RGB", "CMYK"):
                    pixels = image.convert("RGB")
                # Pillow writes some of ``info`` back (a JPEG comment); keep only transparency.
                pixels.info = {k: v for k, v in image.info.items() if k == "transparency"}
                options = {"quality": 90} if image_format == "JPEG" else {}
                if orientation != 1:
                    # Turning the pixels would take a second full copy; the tag shows the
                    # picture upright all the same, as for a picture that could be parsed.
                    options["exif"] = EXIF_HEADER + _orientation_only_exif(orientation)
                pixels.save(buffer, format=image_format, icc_profile=icc_profile, **options)
    except ValidationError:
        raise
    except Exception as exc:
        # A picture Pillow cannot decode either (a photo cut off mid-transfer) cannot be made
        # safe to keep; any error type means that, never a server error.
        raise ValidationError(
            _("This picture is damaged or incomplete and cannot be read. Please send another one."),
            code="unreadable_picture",
        ) from exc
    return buffer.getvalue()


def _refuse_too_many_pixels_to_decode(image: Image.Image) -> None:
    """Refuse a picture with more than PHOTO_MAX_SIDE_PX squared pixels, before decoding it.

    A decoded picture takes its width x height x 4 bytes and more (a 4 MB JPEG of 9400 x 9400
    pixels takes 350 MB). The phone never sends more than this. Pillow's own MAX_IMAGE_PIXELS is
    left as it is: check_upload refuses past it, and a camera's 50 MP photo that can be parsed
    is kept without being decoded at all.
    """
    side = settings.PHOTO_MAX_SIDE_PX
    if image.width * image.height > side * side:
        raise ValidationError(
            _(
                "This picture's file cannot be read as it is, and at %(width)s x %(height)s "
                "pixels it is too large to be converted. Please send a copy of at most "
                "%(side)s pixels on its long side, or a screenshot of it."
            ),
            code="unparsable_picture_too_large",
            params={"width": image.width, "height": image.height, "side": side},
        )
