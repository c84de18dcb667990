"""Thin views: forms validate, services decide, selectors read."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .models import FINAL_STATUSES
from .selectors import submission_for_status_page
from .status_text import CUSTOMER_STATUS_TEXT

# How often the status page asks again while the provider has not answered.
STATUS_POLL_SECONDS = 3


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/landing.html")


def _status_context(submission) -> dict:
    headline, explanation = CUSTOMER_STATUS_TEXT[submission.status]
    return {
        "reference": submission.reference,
        "status": submission.status,
        "headline": str(headline),
        "explanation": str(explanation),
        "ticket_id": submission.ticket_id,
        "case_number": submission.case_number,
        "final": submission.status in FINAL_STATUSES,
    }


@never_cache
def submission_status(request: HttpRequest, public_id) -> HttpResponse:
    submission = submission_for_status_page(public_id=public_id)
    context = _status_context(submission)
    return render(
        request,
        "tickets/status.html",
        {"submission": submission, "state": context, "poll_seconds": STATUS_POLL_SECONDS},
    )


@never_cache
def submission_status_json(request: HttpRequest, public_id) -> JsonResponse:
    submission = submission_for_status_page(public_id=public_id)
    return JsonResponse(_status_context(submission))
