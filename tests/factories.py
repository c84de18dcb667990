"""Plain builders for what the tests send: a customer's request, as each form would give it."""

import io
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tickets.models import Attempt, ErrorClass, Submission
from tickets.providers.base import FileUpload, TicketRequest


def onecloud_data(**overrides) -> dict:
    data = {
        "name": "Agung Januar",
        "email": "agung@email.com",
        "subject": "Subscribe to onebox",
        "category": "Request",
        "content": "Hello, I want to subscribe to onebox, how to do it? thank you",
        "latitude": Decimal("-6.200000"),
        "longitude": Decimal("106.816666"),
    }
    data.update(overrides)
    return data


def storehub_data(**overrides) -> dict:
    data = {
        "name": "Ahmad Ibrahim",
        "phone": "60123456789",
        "issue": "*Onsite Support",
        "priority": 0,
        "receive_sms": True,
        "email": "ahmad_ibrahim@gmail.com",
        "remark": "Describe your issue",
        "store_name": "KL Branch",
        "dealer_reseller": "Alex",
        "address": "23, Jalan Ampang, Taman KLCC, 55000 KL",
        "state": "Kuala Lumpur",
        "service_id": 1,
        "latitude": Decimal("3.157300"),
        "longitude": Decimal("101.712200"),
    }
    data.update(overrides)
    return data


def onecloud_request(**overrides) -> TicketRequest:
    return TicketRequest(reference="REQ-TEST01", **onecloud_data(**overrides))


def storehub_request(**overrides) -> TicketRequest:
    return TicketRequest(reference="REQ-TEST02", **storehub_data(**overrides))


def png_bytes(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
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
    Attempt.objects.bulk_create(
        Attempt(
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


# What a person would type into each form: valid, in the form's own field names.
FORM_POSTS = {
    "onecloud": {
        "name": "Agung Januar",
        "email": "agung@email.com",
        "subject": "Subscribe to onebox",
        "category": "Request",
        "content": "Hello, I want to subscribe to onebox.",
        "latitude": "-6.2",
        "longitude": "106.816666",
    },
    "storehub": {
        "name": "Ahmad Ibrahim",
        "phone": "+60 12-345 6789",
        "issue": "*Onsite Support",
        "priority": "0",
        "receive_sms": "on",
        "email": "ahmad@example.my",
        "remark": "Printer offline",
        "store_name": "KL Branch",
        "dealer_reseller": "Alex",
        "address": "23, Jalan Ampang, 55000 KL",
        "state": "Kuala Lumpur",
        "service_id": "1",
        "latitude": "3.1573",
        "longitude": "101.7122",
    },
}
