"""The console's pages beyond Django's own: CSV export, attachment download, correct and
resend, delivery at a glance.

Each is a function of the ``SubmissionAdmin`` and the request; ``SubmissionAdmin.get_urls``
wraps them in the admin's login and permission checks.
"""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from tickets.admin import charts, selectors, staff
from tickets.admin.csv_export import submissions_csv_response
from tickets.admin.forms import correction_form_class, correction_initial
from tickets.admin.presentation import status_badge, timeline_entry
from tickets.delivery import reports
from tickets.models import RESENDABLE_STATUSES
from tickets.providers import provider_or_none


def export_view(model_admin, request: HttpRequest) -> HttpResponse:
    """The changelist's rows, with its filters, search and ordering, as CSV."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:
        return redirect("admin:tickets_submission_changelist")
    return submissions_csv_response(changelist.queryset)


def attachment_view(model_admin, request: HttpRequest, object_id: str, attachment_id: int):
    """A customer's file, for staff only: MEDIA_URL is never served."""
    submission = model_admin.get_object(request, unquote(object_id))
    if submission is None:
        raise Http404("No such submission.")
    if not model_admin.has_view_permission(request, submission):
        raise PermissionDenied
    attachment = selectors.submission_attachment(
        submission_id=submission.pk, attachment_id=attachment_id
    )
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    # Always a download, never shown inline: the file and its type came from a customer.
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def correct_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    submission = model_admin.get_object(request, unquote(object_id))
    if submission is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    if not model_admin.has_correct_permission(request, submission):
        raise PermissionDenied
    change_url = reverse("admin:tickets_submission_change", args=[submission.pk])
    provider = provider_or_none(submission.provider)
    if submission.status not in RESENDABLE_STATUSES or provider is None:
        if provider is None:
            refusal = _(
                "%(reference)s belongs to a provider that is no longer configured: it cannot "
                "be corrected."
            )
        else:
            refusal = _("%(reference)s is %(status)s: it cannot be corrected.")
        model_admin.message_user(
            request,
            refusal
            % {
                "reference": submission.reference,
                "status": submission.get_status_display().lower(),
            },
            messages.ERROR,
        )
        return HttpResponseRedirect(change_url)

    form_class = correction_form_class(provider)
    initial = correction_initial(submission)
    if request.method == "POST":
        form = form_class(request.POST, initial=initial)
        if form.is_valid():
            changes = {
                name: form.cleaned_data[name] for name in form.changed_data if name != "note"
            }
            try:
                submission = staff.submission_correct(
                    submission=submission,
                    changes=changes,
                    note=form.cleaned_data["note"],
                    user=request.user,
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                model_admin.log_change(
                    request, submission, f"Corrected {', '.join(sorted(changes))}; resent."
                )
                model_admin.message_user(
                    request,
                    _("%(reference)s corrected and queued to send now.")
                    % {"reference": submission.reference},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
    else:
        form = form_class(initial=initial)

    last_ticket_call = selectors.submission_last_ticket_call(submission=submission)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Correct and resend %(reference)s") % {"reference": submission.reference},
        "subtitle": None,
        "opts": model_admin.opts,
        "original": submission,
        "provider_label": provider.label,
        "status": status_badge(submission.status),
        "form": form,
        "media": model_admin.media + form.media,
        "change_url": change_url,
        "last_ticket_call": last_ticket_call and timeline_entry(last_ticket_call),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/tickets/submission/correct.html", context)


def _add_service_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def delivery_view(model_admin, request: HttpRequest) -> HttpResponse:
    """Per provider, over the last 7 or 30 days: what requests came to, how long a ticket took,
    why calls failed, and the queue now."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    days = int(request.GET["days"]) if request.GET.get("days") in {"7", "30"} else 7
    providers = []
    for delivery in reports.delivery_report(days=days):
        providers.append(
            {
                "delivery": delivery,
                "outcomes": [
                    {"key": key, "label": reports.OUTCOME_LABELS[key], "count": count}
                    for key, count in delivery.outcomes.items()
                ],
                "p50": charts.format_seconds(delivery.to_ticket_p50),
                "p95": charts.format_seconds(delivery.to_ticket_p95),
                "oldest": charts.format_seconds(delivery.oldest_waiting_seconds),
                "outcome_chart": charts.outcome_bars(delivery.days),
                "time_chart": charts.time_lines(delivery.days),
                "failure_chart": charts.failure_bars(delivery.failures),
                "day_rows": [
                    {
                        "label": charts.day_label(figures.day),
                        "counts": [figures.outcomes[key] for key in reports.OUTCOMES],
                        "p50": charts.format_seconds(figures.to_ticket_p50),
                        "p95": charts.format_seconds(figures.to_ticket_p95),
                    }
                    for figures in reversed(delivery.days)
                ],
            }
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Delivery at a glance"),
        "subtitle": None,
        "opts": model_admin.opts,
        "days": days,
        "periods": reports.PERIODS,
        "outcome_labels": list(reports.OUTCOME_LABELS.items()),
        "providers": providers,
        "media": model_admin.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/tickets/submission/delivery.html", context)


def console_home(request: HttpRequest) -> HttpResponse:
    """Where signing in leads: the requests, with what needs attention on top."""
    return redirect("admin:tickets_submission_changelist")
