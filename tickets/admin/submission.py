"""The Submission console: list, detail, staff actions, attachment downloads and CSV export.

A submission is never edited here directly. Its status changes only through ``tickets.services``
(resend, cancel, correct), so the admin's own change form is read-only for everyone.
"""

import json
import re
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from tickets import selectors, services
from tickets.choices import StoreHubService
from tickets.models import Attempt, Submission
from tickets.services import CUSTOMER_FIELDS, RESENDABLE_STATUSES

from .csv_export import submissions_csv_response
from .display import masked_email, status_badge
from .filters import NeedsAttentionFilter
from .forms import correction_form_class, correction_initial

BOTH_LOCATIONS = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]
# What a person types when searching by phone: "+60 12-345 6789", "012 345 6789".
PHONE_LIKE = re.compile(r"[+\d][\d\s().-]{5,}")
DELIVERY_FIELDS = (
    "reference",
    "provider",
    "status_label",
    "ticket_id",
    "case_number",
    "attempts",
    "next_attempt_at",
    "last_error_class",
    "last_error",
    "possible_duplicate",
    "created_at",
    "sent_at",
    "updated_at",
    "provider_ticket",
)
MAP_ZOOM = 17


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "reference",
        "name",
        "email_masked",
        "provider",
        "status_label",
        "provider_ticket_number",
        "attempts",
        "created_at",
    )
    list_display_links = ("reference",)
    list_filter = (
        NeedsAttentionFilter,
        "status",
        "provider",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("reference", "=ticket_id", "case_number", "name", "email", "phone")
    search_help_text = "Reference, ticket or case number, name, e-mail or phone."
    ordering = ("-created_at", "-pk")
    list_per_page = 50
    list_max_show_all = 500
    # Counting every row on each page view is the slow part of a big table; the filtered count
    # is enough to paginate.
    show_full_result_count = False
    readonly_fields = (*DELIVERY_FIELDS, "service")
    actions = [
        "resend_now",
        "cancel",
        "mark_duplicate_checked",
        "export_selected_csv",
        "erase_customer_data",
    ]
    change_list_template = "admin/tickets/submission/change_list.html"
    change_form_template = "admin/tickets/submission/change_form.html"

    class Media:
        css = {"all": ["tickets/admin-console.css"]}

    # --- permissions ----------------------------------------------------------------------
    # Submissions come from customers and change only through services: nobody adds, edits or
    # deletes them here (a deleted failure is a failure nobody will notice). Staff with the
    # "change submission" permission may resend, cancel and correct; "view" alone only looks.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest, obj=None) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    has_cancel_permission = has_resend_permission
    has_correct_permission = has_resend_permission

    def has_erase_permission(self, request: HttpRequest, obj=None) -> bool:
        # Erasure on a customer's request (PDPA / PDP law) is the one deletion staff may do,
        # and only with the "delete submission" permission.
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    # --- list -----------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest):
        return selectors.submission_list_for_staff()

    @admin.display(description="e-mail")
    def email_masked(self, submission: Submission) -> str:
        return masked_email(submission.email)

    @admin.display(description="status", ordering="status")
    def status_label(self, submission: Submission):
        return status_badge(submission.status, possible_duplicate=submission.possible_duplicate)

    @admin.display(description="provider ticket")
    def provider_ticket_number(self, submission: Submission) -> str:
        if submission.case_number and submission.ticket_id:
            return f"{submission.case_number} (#{submission.ticket_id})"
        return submission.customer_ticket_number

    @admin.display(description="attempts")
    def attempts(self, submission: Submission) -> int:
        return submission.ticket_calls

    @admin.display(description="service")
    def service(self, submission: Submission) -> str:
        if submission.service_id in StoreHubService.values:
            return f"{submission.service_id}: {StoreHubService(submission.service_id).label}"
        return "" if submission.service_id is None else str(submission.service_id)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if PHONE_LIKE.fullmatch(term):
            # Phones are stored as digits with the country code (60123456789); match what staff
            # type with or without "+", spaces, dashes or the leading trunk 0.
            digits = re.sub(r"\D", "", term).lstrip("0")
            if len(digits) >= 6:
                results = results | queryset.filter(phone__contains=digits)
        return results, may_have_duplicates

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if self.has_view_or_change_permission(request):
            extra_context = {**(extra_context or {}), **self._console_context(request)}
        return super().changelist_view(request, extra_context)

    def _console_context(self, request: HttpRequest) -> dict:
        summary = selectors.submission_staff_summary()
        changelist_url = reverse("admin:tickets_submission_changelist")
        return {
            "summary": summary,
            "summary_columns": [
                {
                    "badge": status_badge(row.status),
                    "today": row.today,
                    "recent": row.recent,
                    "url": f"{changelist_url}?{urlencode({'status__exact': row.status})}",
                }
                for row in summary.by_status
            ],
            "changelist_url": changelist_url,
            # Settings name hosts and accounts: only superusers, who can change them, see them.
            "provider_problems": (
                selectors.provider_configuration_problems() if request.user.is_superuser else {}
            ),
        }

    # --- detail ---------------------------------------------------------------------------
    def get_fieldsets(self, request: HttpRequest, obj=None):
        customer_fields = CUSTOMER_FIELDS[obj.provider] if obj else ()
        # StoreHub's service as its name, not only its number.
        customer_fields = tuple("service" if f == "service_id" else f for f in customer_fields)
        return [
            ("Delivery", {"fields": DELIVERY_FIELDS}),
            ("Customer", {"fields": customer_fields}),
        ]

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None:
            context.update(self._detail_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _detail_context(self, request: HttpRequest, submission: Submission) -> dict:
        attachments = selectors.submission_attachments(submission=submission)
        return {
            "map": _map_context(submission),
            "attachments": [
                {
                    "attachment": attachment,
                    "url": reverse(
                        "admin:tickets_submission_attachment",
                        args=[submission.pk, attachment.pk],
                    ),
                }
                for attachment in attachments
            ],
            "timeline": [
                _timeline_entry(attempt)
                for attempt in selectors.submission_timeline(submission=submission)
            ],
            "corrections": selectors.submission_corrections(submission=submission),
            "can_correct": (
                submission.status in RESENDABLE_STATUSES
                and self.has_correct_permission(request, submission)
            ),
        }

    # --- actions --------------------------------------------------------------------------
    @admin.action(description="Resend now", permissions=["resend"], location=BOTH_LOCATIONS)
    def resend_now(self, request: HttpRequest, queryset) -> None:
        self._refuse_unless(self.has_resend_permission(request))
        selected, done = queryset.count(), 0
        # Read in full first: each service call updates rows this query is reading.
        for submission in list(queryset.filter(status__in=RESENDABLE_STATUSES)):
            if services.submission_resend(submission=submission):
                self.log_change(request, submission, "Resent by staff.")
                done += 1
        self._report(request, selected, done, "queued to send now")

    @admin.action(description="Cancel delivery", permissions=["cancel"], location=BOTH_LOCATIONS)
    def cancel(self, request: HttpRequest, queryset) -> None:
        self._refuse_unless(self.has_cancel_permission(request))
        selected, done = queryset.count(), 0
        for submission in list(queryset.filter(status__in=RESENDABLE_STATUSES)):
            if services.submission_cancel(submission=submission):
                self.log_change(request, submission, "Cancelled by staff.")
                done += 1
        self._report(request, selected, done, "cancelled")

    @admin.action(
        description="Mark duplicate check done",
        permissions=["correct"],
        location=BOTH_LOCATIONS,
    )
    def mark_duplicate_checked(self, request: HttpRequest, queryset) -> None:
        self._refuse_unless(self.has_correct_permission(request))
        selected, done = queryset.count(), 0
        for submission in list(queryset.filter(possible_duplicate=True)):
            if services.submission_mark_duplicate_checked(submission=submission, user=request.user):
                self.log_change(request, submission, "Duplicate check done.")
                done += 1
        self._report(request, selected, done, "marked as checked for duplicates")

    @admin.action(description="Export selected to CSV", permissions=["view"])
    def export_selected_csv(self, request: HttpRequest, queryset):
        return submissions_csv_response(queryset)

    @admin.action(
        description="Erase these customers' data (on their request)", permissions=["erase"]
    )
    def erase_customer_data(self, request: HttpRequest, queryset):
        self._refuse_unless(self.has_erase_permission(request))
        # Every submission of each selected customer goes, found by e-mail or phone.
        customers = sorted({(s.email, s.phone) for s in queryset.only("email", "phone")})
        if request.POST.get("confirm_erase") != "yes":
            affected = selectors.submissions_of_customers(customers)
            return TemplateResponse(
                request,
                "admin/tickets/submission/erase_confirm.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": "Erase customers' data",
                    "selected": queryset.values_list("pk", flat=True),
                    "affected": affected.count(),
                    "customers": len(customers),
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        erased = sum(
            services.customer_data_erase(email=email, phone=phone) for email, phone in customers
        )
        self.message_user(
            request, f"{erased} submission(s) and their files erased.", messages.SUCCESS
        )
        return None

    def _refuse_unless(self, allowed: bool) -> None:
        # The admin already hides an action the user may not run and refuses its name in a
        # POST; this check keeps it refused if that ever changes.
        if not allowed:
            raise PermissionDenied

    def _report(self, request: HttpRequest, selected: int, done: int, what: str) -> None:
        skipped = selected - done
        self.message_user(request, f"{done} submission(s) {what}.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} skipped: already sent, being sent, cancelled, or nothing to do.",
                messages.WARNING,
            )

    # --- extra views ----------------------------------------------------------------------
    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_view), name="{}_{}_export".format(*info)),
            path(
                "<path:object_id>/correct/",
                wrap(self.correct_view),
                name="{}_{}_correct".format(*info),
            ),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                wrap(self.attachment_view),
                name="{}_{}_attachment".format(*info),
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's rows, with its filters, search and ordering, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect("admin:tickets_submission_changelist")
        return submissions_csv_response(changelist.queryset)

    def attachment_view(self, request: HttpRequest, object_id: str, attachment_id: int):
        """A customer's file, for staff only: MEDIA_URL is never served."""
        submission = self.get_object(request, unquote(object_id))
        if submission is None:
            raise Http404("No such submission.")
        if not self.has_view_permission(request, submission):
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

    def correct_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        submission = self.get_object(request, unquote(object_id))
        if submission is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_correct_permission(request, submission):
            raise PermissionDenied
        change_url = reverse("admin:tickets_submission_change", args=[submission.pk])
        if submission.status not in RESENDABLE_STATUSES:
            self.message_user(
                request,
                f"{submission.reference} is {submission.get_status_display().lower()}: "
                "it cannot be corrected.",
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)

        form_class = correction_form_class(submission.provider)
        initial = correction_initial(submission)
        if request.method == "POST":
            form = form_class(request.POST, initial=initial)
            if form.is_valid():
                changes = {
                    name: form.cleaned_data[name] for name in form.changed_data if name != "note"
                }
                try:
                    submission = services.submission_correct(
                        submission=submission,
                        changes=changes,
                        note=form.cleaned_data["note"],
                        user=request.user,
                    )
                except ValidationError as exc:
                    _add_service_errors(form, exc)
                else:
                    self.log_change(
                        request, submission, f"Corrected {', '.join(sorted(changes))}; resent."
                    )
                    self.message_user(
                        request,
                        f"{submission.reference} corrected and queued to send now.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(change_url)
        else:
            form = form_class(initial=initial)

        last_ticket_call = (
            submission.attempts.filter(kind=Attempt.Kind.TICKET).order_by("-started_at").first()
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Correct and resend {submission.reference}",
            "subtitle": None,
            "opts": self.opts,
            "original": submission,
            "status": status_badge(submission.status),
            "form": form,
            "media": self.media + form.media,
            "change_url": change_url,
            "last_ticket_call": last_ticket_call and _timeline_entry(last_ticket_call),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/tickets/submission/correct.html", context)


def _add_service_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _map_context(submission: Submission) -> dict | None:
    if submission.latitude is None or submission.longitude is None:
        return None
    lat, lng = str(submission.latitude), str(submission.longitude)
    return {
        "lat": lat,
        "lng": lng,
        "zoom": MAP_ZOOM,
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "osm_url": (
            f"https://www.openstreetmap.org/?{urlencode({'mlat': lat, 'mlon': lng})}"
            f"#map={MAP_ZOOM}/{lat}/{lng}"
        ),
    }


def _pretty(text_or_data) -> str:
    """JSON indented for reading; anything else as it came."""
    if isinstance(text_or_data, str):
        try:
            text_or_data = json.loads(text_or_data)
        except ValueError:
            return text_or_data
    return json.dumps(text_or_data, indent=2, ensure_ascii=False, sort_keys=False)


def _timeline_entry(attempt: Attempt) -> dict:
    return {
        "attempt": attempt,
        "error_badge": format_html(
            '<span class="error-class error-class-{}">{}</span>',
            attempt.error_class,
            attempt.get_error_class_display(),
        ),
        "request": _pretty(attempt.request) if attempt.request else "",
        "response": _pretty(attempt.response) if attempt.response else "",
    }
