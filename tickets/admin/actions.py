"""The staff's actions on selected submissions: each one a service call, reported in words."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tickets import selectors
from tickets.services import privacy, staff

from .csv_export import submissions_csv_response

BOTH_LOCATIONS = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]


@admin.action(
    description=gettext_lazy("Resend now"), permissions=["resend"], location=BOTH_LOCATIONS
)
def resend_now(model_admin, request: HttpRequest, queryset) -> None:
    _refuse_unless(model_admin.has_resend_permission(request))
    selected, done = queryset.count(), 0
    for submission in selectors.submissions_resendable(queryset):
        if staff.submission_resend(submission=submission):
            model_admin.log_change(request, submission, "Resent by staff.")
            done += 1
    _report(
        model_admin,
        request,
        selected,
        done,
        ngettext(
            "%(count)d submission queued to send now.",
            "%(count)d submissions queued to send now.",
            done,
        )
        % {"count": done},
    )


@admin.action(
    description=gettext_lazy("Cancel delivery"), permissions=["cancel"], location=BOTH_LOCATIONS
)
def cancel(model_admin, request: HttpRequest, queryset) -> None:
    _refuse_unless(model_admin.has_cancel_permission(request))
    selected, done = queryset.count(), 0
    for submission in selectors.submissions_resendable(queryset):
        if staff.submission_cancel(submission=submission):
            model_admin.log_change(request, submission, "Cancelled by staff.")
            done += 1
    _report(
        model_admin,
        request,
        selected,
        done,
        ngettext("%(count)d submission cancelled.", "%(count)d submissions cancelled.", done)
        % {"count": done},
    )


@admin.action(
    description=gettext_lazy("Mark duplicate check done"),
    permissions=["correct"],
    location=BOTH_LOCATIONS,
)
def mark_duplicate_checked(model_admin, request: HttpRequest, queryset) -> None:
    _refuse_unless(model_admin.has_correct_permission(request))
    selected, done = queryset.count(), 0
    for submission in selectors.submissions_possibly_duplicated(queryset):
        if staff.submission_mark_duplicate_checked(submission=submission, user=request.user):
            model_admin.log_change(request, submission, "Duplicate check done.")
            done += 1
    _report(
        model_admin,
        request,
        selected,
        done,
        ngettext(
            "%(count)d submission marked as checked for duplicates.",
            "%(count)d submissions marked as checked for duplicates.",
            done,
        )
        % {"count": done},
    )


@admin.action(description=gettext_lazy("Export selected to CSV"), permissions=["view"])
def export_selected_csv(model_admin, request: HttpRequest, queryset):
    return submissions_csv_response(queryset)


@admin.action(
    description=gettext_lazy("Erase these customers' data (on their request)"),
    permissions=["erase"],
)
def erase_customer_data(model_admin, request: HttpRequest, queryset):
    _refuse_unless(model_admin.has_erase_permission(request))
    # Every submission of each selected customer goes, found by e-mail or phone.
    customers = selectors.customers_of(queryset)
    if request.POST.get("confirm_erase") != "yes":
        affected = selectors.submissions_of_customers(customers)
        return TemplateResponse(
            request,
            "admin/tickets/submission/erase_confirm.html",
            {
                **model_admin.admin_site.each_context(request),
                "opts": model_admin.opts,
                "title": _("Erase customers' data"),
                "selected": queryset.values_list("pk", flat=True),
                "affected": affected.count(),
                "customers": len(customers),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
    erased = sum(
        privacy.customer_data_erase(email=email, phone=phone) for email, phone in customers
    )
    model_admin.message_user(
        request,
        ngettext(
            "%(count)d submission and its files erased.",
            "%(count)d submissions and their files erased.",
            erased,
        )
        % {"count": erased},
        messages.SUCCESS,
    )
    return None


def _refuse_unless(allowed: bool) -> None:
    # The admin already hides an action the user may not run and refuses its name in a POST;
    # this check keeps it refused if that ever changes.
    if not allowed:
        raise PermissionDenied


def _report(model_admin, request: HttpRequest, selected: int, done: int, done_text: str) -> None:
    skipped = selected - done
    model_admin.message_user(request, done_text, messages.SUCCESS)
    if skipped:
        model_admin.message_user(
            request,
            ngettext(
                "%(count)d skipped: already sent, being sent, cancelled, or nothing to do.",
                "%(count)d skipped: already sent, being sent, cancelled, or nothing to do.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )
