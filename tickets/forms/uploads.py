"""Checking what customers upload, and keeping a valid upload while the rest of the form is fixed.

A file is accepted only when its extension is allowed *and* its content is what the extension
claims: a renamed program, a broken picture, a picture past Pillow's MAX_IMAGE_PIXELS (about
90 megapixels), or a zip posing as a Word document is refused with a plain message. Only the
headers are read here; image_metadata decides which pictures may ever be decoded.
"""

import codecs
import contextlib
import logging
import secrets
import warnings
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

import filetype
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _
from PIL import Image

from tickets.cache import CACHE_UNREACHABLE

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
DOCUMENT_EXTENSIONS = {
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pdf": "application/pdf",
    "csv": "text/csv",
    "txt": "text/plain",
    **IMAGE_EXTENSIONS,
}
# Office Open XML files are zip archives; the folder inside says which application made them.
OOXML_FOLDERS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # doc, xls and ppt (Office 97-2003)
# Pillow names phone photos with an embedded depth map "MPO"; they are ordinary JPEG files.
PILLOW_FORMATS = {"image/jpeg": {"JPEG", "MPO"}, "image/png": {"PNG"}}
SNIFF_BYTES = 8192

KEPT_UPLOAD_SALT = "tickets.kept-upload"
KEPT_UPLOAD_MAX_AGE = timedelta(days=1)
PENDING_DIRECTORY = "pending"


def extension_of(name: str) -> str:
    return PurePath(name).suffix.lower().removeprefix(".")


def check_upload(upload: UploadedFile, allowed: dict[str, str]) -> str:
    """Refuse a file whose size, extension or content is not allowed; return its content type.

    The content type comes from the checked content, never from the browser, which reports
    whatever the customer's computer guesses.
    """
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("This file is %(size)s; the limit is %(limit)s. Please send a smaller file."),
            code="too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )
    extension = extension_of(upload.name or "")
    if extension not in allowed:
        raise ValidationError(
            _("Files ending in .%(extension)s are not accepted here. Accepted: %(accepted)s.")
            if extension
            else _("The file name has no extension. Accepted: %(accepted)s."),
            code="extension",
            params={"extension": extension, "accepted": ", ".join(sorted(allowed))},
        )
    content_type = _checked_content_type(upload, extension, allowed[extension])
    if content_type is None:
        raise ValidationError(
            _("This file is not a real .%(extension)s file (its content is something else)."),
            code="content",
            params={"extension": extension},
        )
    upload.seek(0)
    return content_type


def _checked_content_type(upload: UploadedFile, extension: str, expected: str) -> str | None:
    """The content type the file's content proves, or None when it is not what it claims."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    if expected in PILLOW_FORMATS:
        return _image_type(upload, head)
    if extension in OOXML_FOLDERS:
        matches = _is_office_open_xml(upload, OOXML_FOLDERS[extension])
    elif extension in ("doc", "xls", "ppt"):
        matches = head.startswith(OLE2_MAGIC)
    elif extension == "pdf":
        kind = filetype.guess(head)
        matches = kind is not None and kind.mime == "application/pdf"
    elif extension in ("csv", "txt"):
        matches = _is_text(upload)
    else:
        matches = False
    return expected if matches else None


def _image_type(upload: UploadedFile, head: bytes) -> str | None:
    kind = filetype.guess(head)
    # A PNG saved as .jpg (or the reverse) is still a picture the provider can show; it is sent
    # with the type of what it really is.
    if kind is None or kind.mime not in PILLOW_FORMATS:
        return None
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                image.verify()
                image_format = image.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            _("This picture has too many pixels to be handled safely. Please send a smaller one."),
            code="decompression_bomb",
        ) from exc
    except Exception:
        # Pillow raises many types (OSError, SyntaxError, struct.error, ...) on broken files;
        # any of them means "not a picture we can accept", never a server error.
        return None
    return kind.mime if image_format in PILLOW_FORMATS[kind.mime] else None


def _is_office_open_xml(upload: UploadedFile, folder: str) -> bool:
    upload.seek(0)
    try:
        # Only the archive's directory is read; nothing is decompressed.
        with zipfile.ZipFile(upload.file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    return "[Content_Types].xml" in names and any(name.startswith(folder) for name in names)


def _is_text(upload: UploadedFile) -> bool:
    """Text with no NUL byte, in UTF-8 or else the Windows code page spreadsheets export."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        upload.seek(0)
        try:
            for chunk in upload.chunks():
                if b"\x00" in chunk:
                    return False
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return True
    return False


# --- keeping a valid upload across a failed validation ----------------------------------------
@dataclass(frozen=True)
class KeptUpload:
    """A valid file the customer chose, stored while they correct another field."""

    token: str  # signed: the browser sends it back, and it cannot point anywhere else
    name: str
    size: int


def keep_upload(upload: UploadedFile, content_type: str, *, owner: str | None) -> KeptUpload | None:
    """Store a checked upload under pending/ and return what the form offers back; None when
    ``KEPT_UPLOADS_MAX`` files are kept already, or ``KEPT_UPLOADS_PER_CLIENT`` for the client
    address ``owner`` (the customer chooses the file again): anyone can post a failing form with
    two files, the disk is the database's too, and one client must not use up everyone's share."""
    purge_stale_pending_uploads()
    if _kept_count() >= settings.KEPT_UPLOADS_MAX:
        logger.warning("%d files kept for forms already: this one is not", _kept_count())
        return None
    if not _owner_may_keep_another(owner):
        logger.warning("a client has %d files kept already: this one is not", _owner_kept(owner))
        return None
    name = (upload.name or "upload").rsplit("/", 1)[-1][:200]
    safe_name = get_valid_filename(name) or "upload"
    upload.seek(0)
    path = default_storage.save(f"{PENDING_DIRECTORY}/{secrets.token_hex(16)}/{safe_name}", upload)
    payload = {"path": path, "name": name, "type": content_type, "size": upload.size}
    token = signing.dumps(payload, salt=KEPT_UPLOAD_SALT, compress=True)
    _count_kept_for(owner)
    return KeptUpload(token=token, name=name, size=upload.size)


def read_kept_upload(token: str) -> tuple[KeptUpload, SimpleUploadedFile]:
    """The kept file a signed token names; ValidationError when it is forged, old or gone."""
    gone = ValidationError(
        _("The file you chose earlier is no longer available. Please choose it again."),
        code="kept_gone",
    )
    try:
        payload = signing.loads(
            token, salt=KEPT_UPLOAD_SALT, max_age=KEPT_UPLOAD_MAX_AGE.total_seconds()
        )
        path, name, content_type = payload["path"], payload["name"], payload["type"]
    except (signing.BadSignature, KeyError, TypeError) as exc:
        raise gone from exc
    # The signature already proves the server wrote this path; check the folder all the same.
    if not path.startswith(f"{PENDING_DIRECTORY}/") or ".." in PurePath(path).parts:
        raise gone
    try:
        with default_storage.open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise gone from exc
    kept = KeptUpload(token=token, name=name, size=len(data))
    return kept, SimpleUploadedFile(name, data, content_type=content_type)


def _owner_key(owner: str | None) -> str:
    return f"kept-uploads:{owner or 'unknown'}"


def _owner_kept(owner: str | None) -> int:
    """Files kept for this client in the last day, by the cache; 0 when the cache cannot be
    reached (the total cap still holds)."""
    try:
        return cache.get(_owner_key(owner), 0)
    except CACHE_UNREACHABLE:
        return 0


def _owner_may_keep_another(owner: str | None) -> bool:
    return _owner_kept(owner) < settings.KEPT_UPLOADS_PER_CLIENT


def _count_kept_for(owner: str | None) -> None:
    key = _owner_key(owner)
    # ValueError: the count expired between add() and incr(), so the day is over anyway.
    with contextlib.suppress(ValueError, *CACHE_UNREACHABLE):
        # Counted for as long as the files can be offered back.
        cache.add(key, 0, timeout=int(KEPT_UPLOAD_MAX_AGE.total_seconds()))
        cache.incr(key)


def _kept_count() -> int:
    try:
        directories, _files = default_storage.listdir(PENDING_DIRECTORY)
    except (FileNotFoundError, NotImplementedError):
        return 0
    return len(directories)


def purge_stale_pending_uploads() -> None:
    """Delete kept files older than any token that can still name them (best effort)."""
    cutoff = timezone.now() - KEPT_UPLOAD_MAX_AGE - timedelta(hours=1)
    try:
        directories, _files = default_storage.listdir(PENDING_DIRECTORY)
    except (FileNotFoundError, NotImplementedError):
        return
    for directory in directories[:200]:
        folder = f"{PENDING_DIRECTORY}/{directory}"
        try:
            _dirs, files = default_storage.listdir(folder)
            if any(default_storage.get_modified_time(f"{folder}/{f}") > cutoff for f in files):
                continue
            for file_name in files:
                default_storage.delete(f"{folder}/{file_name}")
            default_storage.delete(folder)
        except (OSError, NotImplementedError):
            logger.warning("could not purge pending upload folder %s", directory)
