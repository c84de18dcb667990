"""Read-side queries: what the customer's status page and staff pages show."""

from django.shortcuts import get_object_or_404

from .models import Submission


def submission_for_status_page(*, public_id) -> Submission:
    return get_object_or_404(Submission, public_id=public_id)
