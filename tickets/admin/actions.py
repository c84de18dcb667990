"""The staff's actions on selected submissions: each one a service call, reported in words."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from tickets.admin import selectors, staff
from tickets.admin.csv_export import submissions_csv_response
from tickets.delivery.email import customer_channels
from tickets.models import REOPENABLE_STATUSES
from tickets.operations import privacy

BOTH_LOCATIONS = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]


@admin.action(
    description=gettext_lazy("Resend now"), permissions=["resend"], location=BOTH_LOCATIONS
)
def resend_now(model_admin, request: HttpRequest, queryset) -> None:
    _refuse_unless(model_admin.has_resend_permission(request))
    _act_on_each(
        model_admin,
        request,
        queryset,
        candidates=selectors.submissions_resendable(queryset),
        act=lambda submission: staff.submission_resend(submission=submission),
        logged=gettext_noop("Resent by staff."),
        done=lambda count: ngettext(
            "%(count)d submission queued to send now.",
            "%(count)d submissions queued to send now.",
            count,
        ),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why cancel?"),
        help_text=gettext_lazy(
            "Kept in the request's history for staff; the customer is told only that the request "
            "was closed."
        ),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


def told_on(submission) -> str:
    """The channels that tell the customer of a cancel (and of a reopen), in words."""
    channels = customer_channels(submission)
    if channels == ["email", "whatsapp"]:
        return _("told by e-mail and WhatsApp")
    if channels == ["email"]:
        return _("told by e-mail")
    if channels == ["whatsapp"]:
        return _("told by WhatsApp")
    return _("not told: no e-mail address, no WhatsApp updates")


@admin.action(
    description=gettext_lazy("Cancel delivery…"), permissions=["cancel"], location=BOTH_LOCATIONS
)
def cancel(model_admin, request: HttpRequest, queryset):
    """Asks for a reason first, on a page that says what will happen; then cancels."""
    _refuse_unless(model_admin.has_cancel_permission(request))
    candidates = selectors.submissions_cancellable(queryset)
    form = CancelForm(request.POST if "confirm_cancel" in request.POST else None)
    if candidates and not form.is_valid():
        return _reason_asked(
            model_admin,
            request,
            queryset,
            template="admin/tickets/submission/cancel_confirm.html",
            form=form,
            candidates=[(submission, told_on(submission)) for submission in candidates],
            confirm_field="confirm_cancel",
            title=_("Cancel delivery"),
            confirm=_("Yes, cancel delivery"),
        )
    reason = form.cleaned_data["reason"] if candidates else ""
    _act_on_each(
        model_admin,
        request,
        queryset,
        candidates=candidates,
        act=lambda submission: staff.submission_cancel(
            submission=submission, user=request.user, reason=reason
        ),
        logged=f"Cancelled by staff: {reason}",
        done=lambda count: ngettext(
            "%(count)d submission cancelled.", "%(count)d submissions cancelled.", count
        ),
    )
    return None


class CheckedForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why?"),
        help_text=gettext_lazy("Kept in each request's history for staff; customers never see it."),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


@admin.action(
    description=gettext_lazy("Release held requests (send them)…"),
    permissions=["cancel"],
    location=BOTH_LOCATIONS,
)
def release_held(model_admin, request: HttpRequest, queryset):
    """Requests held for a check that staff found real: sent to the provider now."""
    return _check_held(
        model_admin,
        request,
        queryset,
        act=staff.submission_release,
        title=_("Release held requests"),
        outcome=_(
            "They are sent to the provider now. Customers who gave an e-mail address or asked "
            "for WhatsApp updates get their receipt and ticket number as usual."
        ),
        confirm=_("Yes, send them"),
        logged="Released by staff",
        done=lambda count: ngettext(
            "%(count)d held request released and queued to send now.",
            "%(count)d held requests released and queued to send now.",
            count,
        ),
    )


@admin.action(
    description=gettext_lazy("Discard held requests…"),
    permissions=["cancel"],
    location=BOTH_LOCATIONS,
)
def discard_held(model_admin, request: HttpRequest, queryset):
    """Requests held for a check that staff found fake: closed, never sent, nobody told."""
    return _check_held(
        model_admin,
        request,
        queryset,
        act=staff.submission_discard,
        title=_("Discard held requests"),
        outcome=_(
            "They are closed and never sent to the provider. Nobody is e-mailed or messaged: "
            "the details in them may name someone who never asked."
        ),
        confirm=_("Yes, discard them"),
        logged="Discarded by staff",
        done=lambda count: ngettext(
            "%(count)d held request discarded.", "%(count)d held requests discarded.", count
        ),
    )


def _check_held(
    model_admin, request: HttpRequest, queryset, *, act, title, outcome, confirm, logged, done
):
    """Asks for a reason first, on a page that lists the held requests; then acts on each."""
    _refuse_unless(model_admin.has_cancel_permission(request))
    candidates = selectors.submissions_held_for_a_check(queryset)
    form = CheckedForm(request.POST if "confirm_checked" in request.POST else None)
    if candidates and not form.is_valid():
        return _reason_asked(
            model_admin,
            request,
            queryset,
            template="admin/tickets/submission/checked_confirm.html",
            form=form,
            candidates=candidates,
            confirm_field="confirm_checked",
            title=title,
            confirm=confirm,
            outcome=outcome,
        )
    reason = form.cleaned_data["reason"] if candidates else ""
    _act_on_each(
        model_admin,
        request,
        queryset,
        candidates=candidates,
        act=lambda submission: act(submission=submission, user=request.user, reason=reason),
        logged=f"{logged}: {reason}",
        done=done,
        skipped_because=lambda count: ngettext(
            "%(count)d skipped: not held for a check.",
            "%(count)d skipped: not held for a check.",
            count,
        ),
    )
    return None


@admin.action(
    description=gettext_lazy("Reopen and send now"),
    permissions=["cancel"],
    location=BOTH_LOCATIONS,
)
def reopen(model_admin, request: HttpRequest, queryset) -> None:
    _refuse_unless(model_admin.has_cancel_permission(request))
    _act_on_each(
        model_admin,
        request,
        queryset,
        candidates=[
            submission
            # Only cancelled rows are read ("select all" may span thousands); the rule decides.
            for submission in queryset.filter(status__in=REOPENABLE_STATUSES)
            if staff.reopenable(submission)
        ],
        act=lambda submission: staff.submission_reopen(submission=submission, user=request.user),
        logged=gettext_noop("Reopened by staff."),
        done=lambda count: ngettext(
            "%(count)d submission reopened and queued to send now.",
            "%(count)d submissions reopened and queued to send now.",
            count,
        ),
        skipped_because=lambda count: ngettext(
            "%(count)d skipped: not cancelled, or the provider made (or may still make) a ticket "
            "for it: try again in a few minutes, or check at the provider.",
            "%(count)d skipped: not cancelled, or the provider made (or may still make) a ticket "
            "for them: try again in a few minutes, or check at the provider.",
            count,
        ),
    )


@admin.action(
    description=gettext_lazy("Mark duplicate check done"),
    permissions=["correct"],
    location=BOTH_LOCATIONS,
)
def mark_duplicate_checked(model_admin, request: HttpRequest, queryset) -> None:
    _refuse_unless(model_admin.has_correct_permission(request))
    _act_on_each(
        model_admin,
        request,
        queryset,
        candidates=selectors.submissions_possibly_duplicated(queryset),
        act=lambda submission: staff.submission_mark_duplicate_checked(
            submission=submission, user=request.user
        ),
        logged=gettext_noop("Duplicate check done."),
        done=lambda count: ngettext(
            "%(count)d submission marked as checked for duplicates.",
            "%(count)d submissions marked as checked for duplicates.",
            count,
        ),
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
        affected = privacy.submissions_of_customers(customers)
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


def _reason_asked(
    model_admin,
    request: HttpRequest,
    queryset,
    *,
    template,
    form,
    candidates,
    confirm_field,
    **shown,
) -> TemplateResponse:
    """The page that lists ``candidates`` and asks why, before an action that needs a reason.
    Its form posts ``confirm_field`` with the reason."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "form": form,
            "candidates": candidates,
            "skipped": queryset.count() - len(candidates),
            "confirm_field": confirm_field,
            # The admin's own fields (which action, which rows, from the list or the request's
            # page), posted again with the reason.
            "carried": [
                (name, value)
                for name in request.POST
                if name not in ("csrfmiddlewaretoken", confirm_field, "reason")
                for value in request.POST.getlist(name)
            ],
            "media": model_admin.media,
            **shown,
        },
    )


def _refuse_unless(allowed: bool) -> None:
    # The admin already hides an action the user may not run and refuses its name in a POST;
    # this check keeps it refused if that ever changes.
    if not allowed:
        raise PermissionDenied


def _skipped_as_not_pending(count: int) -> str:
    return ngettext(
        "%(count)d skipped: already sent, being sent, cancelled, or nothing to do.",
        "%(count)d skipped: already sent, being sent, cancelled, or nothing to do.",
        count,
    )


def _act_on_each(
    model_admin,
    request: HttpRequest,
    queryset,
    *,
    candidates,
    act,
    logged: str,
    done,
    skipped_because=_skipped_as_not_pending,
) -> None:
    """Run one service on each candidate, log each change, and say how many it did and skipped.

    ``logged`` is kept in English in the admin's log; the request's timeline shows a message
    marked with ``gettext_noop`` in the reader's language.

    ``done(count)`` and ``skipped_because(count)`` are the messages, with a ``%(count)d`` in
    them.
    """
    selected, count = queryset.count(), 0
    for submission in candidates:
        if act(submission):
            model_admin.log_change(request, submission, logged)
            count += 1
    model_admin.message_user(request, done(count) % {"count": count}, messages.SUCCESS)
    skipped = selected - count
    if skipped:
        model_admin.message_user(
            request, skipped_because(skipped) % {"count": skipped}, messages.WARNING
        )
