"""Plain builders for what the tests send: a customer's request, as each form would give it.

Each provider's valid request is written out once, as its form's cleaned data
(``CUSTOMER_DATA``); what the browser posts for it (``form_post``) and what its client is
handed (``*_request``) are built from that.
"""

import copy
import functools
import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tests.providers import declared
from tickets.forms.base import issue_form_token
from tickets.models import (
    CUSTOMER_COLUMNS,
    ErrorClass,
    ProviderCall,
    Submission,
    split_customer_data,
)
from tickets.providers.base import FileUpload, TicketRequest


class _ValidData(dict):
    """Each provider's valid request builder, found in its test package on first use."""

    def __missing__(self, alias: str):
        builder = self[alias] = declared(alias).valid_data
        return builder


# A valid request of each provider, as its form's cleaned data (``valid_data`` in
# tests/providers/<alias>/__init__.py): the shared suites send it for every provider.
CUSTOMER_DATA = _ValidData()
onecloud_data = CUSTOMER_DATA["onecloud"]
storehub_data = CUSTOMER_DATA["storehub"]


def form_post(alias: str, **overrides) -> dict:
    """What the browser sends for the provider's valid request (``CUSTOMER_DATA``), with a
    fresh form token; ``overrides`` replace fields, and None leaves one out."""
    data = {"form_token": issue_form_token(), **CUSTOMER_DATA[alias](), **overrides}
    # An unticked checkbox is not sent at all; a ticked one sends "on".
    return {
        key: "on" if value is True else value
        for key, value in data.items()
        if value is not None and value is not False
    }


def onecloud_post(**overrides) -> dict:
    return form_post("onecloud", **overrides)


def storehub_post(**overrides) -> dict:
    return form_post("storehub", **overrides)


def onecloud_request(*, files=(), **overrides) -> TicketRequest:
    return TicketRequest(reference="REQ-TEST01", fields=onecloud_data(**overrides), files=files)


def storehub_request(**overrides) -> TicketRequest:
    return TicketRequest(reference="REQ-TEST02", fields=storehub_data(**overrides))


def stored_submission(provider: str = "storehub", **fields) -> Submission:
    """A stored submission, without queueing a forward, as the console reads it.

    ``fields`` may set delivery columns (status, ticket_id, ...) and customer fields alike.
    """
    delivery_columns = {f.name for f in Submission._meta.get_fields()} - set(CUSTOMER_COLUMNS)
    delivery = {key: fields.pop(key) for key in list(fields) if key in delivery_columns}
    columns, details = split_customer_data({**CUSTOMER_DATA[provider](), **fields})
    return Submission.objects.create(provider=provider, details=details, **columns, **delivery)


def set_provider_options(settings, alias: str, **options) -> None:
    """Change one provider's OPTIONS for a test; the registry rebuilds it."""
    registry = copy.deepcopy(settings.TICKET_PROVIDERS)
    registry[alias]["OPTIONS"].update(options)
    settings.TICKET_PROVIDERS = registry


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


# Where the photo says it was taken (Kuala Lumpur), and by what: what must never reach a provider.
CAMERA_GPS_LATITUDE = (3.0, 8.0, 52.0)
CAMERA_MAKE = "SAMSUNG"
CAMERA_MODEL = "SM-A546E"


@functools.cache
def camera_photo_bytes(*, width: int = 4000, height: int = 3000, orientation: int = 1) -> bytes:
    """A phone camera's JPEG: 12 MP and about 3.6 MB by default, with its GPS position, maker
    and model in EXIF, and ``orientation`` as the camera wrote it (6: held upright, stored on
    its side)."""
    # Fine noise over a gradient compresses about as badly as a real photo of a shop counter.
    noise = Image.effect_noise((width, height), 36).convert("L")
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, Image.blend(noise, gradient, 0.5)))
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE  # Make
    exif[0x0110] = CAMERA_MODEL  # Model
    exif[0x0112] = orientation  # Orientation
    exif[0x8825] = {  # the GPS IFD
        1: "N",
        2: CAMERA_GPS_LATITUDE,
        3: "E",
        4: (101.0, 41.0, 12.0),
    }
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80, exif=exif)
    return buffer.getvalue()


def png_upload(name="brochure.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def png_file_upload(field="attachment") -> FileUpload:
    return FileUpload(
        field=field, filename="brochure.png", content_type="image/png", data=png_bytes()
    )


def add_attempts(submission: "Submission", count: int) -> None:
    """``count`` failed StoreHub calls, the last with its next retry time."""
    now = timezone.now()
    ProviderCall.objects.bulk_create(
        ProviderCall(
            submission=submission,
            started_at=now - timedelta(minutes=count - i),
            duration_ms=120,
            url="http://provider.test/storehub/api/ticket/create",
            request={"headers": {"Authorization": "***"}, "json": {"Ticket": {"Name": "x"}}},
            http_status=503,
            response='{"ErrorCode": "-10008", "ErrorMessage": "Unexpected error"}',
            error_class=ErrorClass.TRANSIENT,
            message="StoreHub -10008: Unexpected error",
            retry_at=now + timedelta(minutes=5) if i == count - 1 else None,
        )
        for i in range(count)
    )


def enable_only(settings, *aliases: str) -> None:
    """Keep only these providers in the registry, as ENABLED_PROVIDERS would."""
    settings.TICKET_PROVIDERS = {alias: settings.TICKET_PROVIDERS[alias] for alias in aliases}


def time_zone_at_noon() -> str:
    """An IANA zone where it is about noon now: far from the quota window's 18:00 start, so
    that tests of OneCloud's quota answer do not depend on when they run."""
    from datetime import UTC, datetime

    hours_ahead = (12 - datetime.now(UTC).hour) % 24
    if hours_ahead > 12:
        hours_ahead -= 24
    # The Etc zones count the other way round: Etc/GMT-7 is seven hours ahead of UTC.
    return "Etc/GMT" + (f"-{hours_ahead}" if hours_ahead > 0 else f"+{-hours_ahead}")
