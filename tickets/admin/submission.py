"""The Submission console: list, detail and permissions. Actions, extra views and presentation
live beside it (``actions.py``, ``views.py``, ``presentation.py``).

A submission is never edited here directly. Its status changes only through ``staff`` services
(resend, cancel, correct), so the admin's own change form is read-only for everyone.
"""

import re
from functools import partial, update_wrapper
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db import connection
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.admin import actions as staff_actions
from tickets.admin import selectors, staff, views
from tickets.admin.filters import NeedsAttentionFilter, ProviderFilter
from tickets.admin.presentation import (
    attachment_rows,
    customer_details,
    map_context,
    pretty,
    request_about,
    staff_history,
    status_badge,
    timeline,
)
from tickets.models import (
    CANCELLABLE_STATUSES,
    CHECKED_BY_STAFF_STATUSES,
    CUSTOMER_COLUMNS,
    PENDING_STATUSES,
    RESENDABLE_STATUSES,
    Submission,
)
from tickets.providers import enabled_providers, provider_label


def free_text_field_names() -> list[str]:
    """Every enabled provider's customer fields of free text kept in ``details``."""
    names: list[str] = []
    for provider in enabled_providers():
        for name, field in provider.form_class.customer_fields(provider=provider).items():
            free_text = isinstance(field, forms.CharField) and not getattr(field, "choices", None)
            if free_text and name not in CUSTOMER_COLUMNS and name not in names:
                names.append(name)
    return names


def applies(action_name: str, submission: Submission) -> bool:
    """Whether the staff action ``action_name`` would change anything about ``submission``."""
    if action_name == "resend_now":
        return submission.status in RESENDABLE_STATUSES
    if action_name == "cancel":
        return submission.status in CANCELLABLE_STATUSES
    if action_name == "reopen":
        return staff.reopenable(submission)
    if action_name == "mark_duplicate_checked":
        return submission.possible_duplicate
    if action_name in ("release_held", "discard_held"):
        return submission.status in CHECKED_BY_STAFF_STATUSES
    return True


# What a person types when searching by phone: "+60 12-345 6789", "012 345 6789".
PHONE_LIKE = re.compile(r"[+\d][\d\s().-]{5,}")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    # What an agent scans for: who asked about what, how it stands, since when. It fits 1280 px
    # beside the navigation sidebar; at 360 px each row is a card (admin-console.css).
    list_display = (
        "reference",
        "status_label",
        "name",
        "about",
        "provider_and_ticket",
        "waiting_since",
    )
    list_display_links = ("reference",)
    list_filter = (
        NeedsAttentionFilter,
        "status",
        ProviderFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("reference", "=ticket_id", "case_number", "name", "email", "phone")
    search_help_text = gettext_lazy(
        "Reference, ticket or case number, name, e-mail, phone, or words of the request (a shop, "
        "an issue, a subject)."
    )
    ordering = ("-created_at", "-pk")
    list_per_page = 50
    list_max_show_all = 500
    # Counting every row on each page view is the slow part of a big table; the filtered count
    # is enough to paginate.
    show_full_result_count = False
    actions = [
        staff_actions.resend_now,
        staff_actions.cancel,
        staff_actions.reopen,
        staff_actions.release_held,
        staff_actions.discard_held,
        staff_actions.mark_duplicate_checked,
        staff_actions.export_selected_csv,
        staff_actions.erase_customer_data,
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

    def get_object(self, request: HttpRequest, object_id, from_field=None):
        # Read once per request: the page and the choice of its actions both need it.
        read = request.__dict__.setdefault("_submissions_read", {})
        if (object_id, from_field) not in read:
            read[object_id, from_field] = super().get_object(request, object_id, from_field)
        return read[object_id, from_field]

    def get_actions(self, request: HttpRequest, action_location=admin.ActionLocation.CHANGE_LIST):
        """On a submission's own page, only the actions that would do something to it."""
        actions = super().get_actions(request, action_location=action_location)
        if action_location != admin.ActionLocation.CHANGE_FORM:
            return actions
        object_id = (
            request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        )
        submission = self.get_object(request, object_id) if object_id else None
        if submission is None:
            return actions
        return {name: act for name, act in actions.items() if applies(name, submission)}

    # --- list -----------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest):
        return selectors.submission_list_for_staff()

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_label(self, submission: Submission):
        return status_badge(submission.status, possible_duplicate=submission.possible_duplicate)

    @admin.display(description=gettext_lazy("about"))
    def about(self, submission: Submission) -> str:
        """The subject or issue in the customer's words, shortened; the whole of it on hover."""
        whole = request_about(submission, length=None)
        shortened = request_about(submission)
        if shortened == whole:
            return whole
        return format_html('<span title="{}">{}</span>', whole, shortened)

    @admin.display(description=gettext_lazy("provider and ticket"), ordering="provider")
    def provider_and_ticket(self, submission: Submission) -> str:
        """Where the request went, and the ticket number it got there once it has one."""
        number = self.provider_ticket_number(submission)
        if not number:
            return provider_label(submission.provider)
        return format_html("{}<br>{}", provider_label(submission.provider), number)

    def provider_ticket_number(self, submission: Submission) -> str:
        if submission.case_number and submission.ticket_id:
            return f"{submission.case_number} (#{submission.ticket_id})"
        return submission.customer_ticket_number

    @admin.display(description=gettext_lazy("age"), ordering="created_at")
    def waiting_since(self, submission: Submission) -> str:
        """How long ago the customer sent it ("3 hours"), the date on hover."""
        sent = date_format(localtime(submission.created_at), "DATETIME_FORMAT")
        age = timesince(submission.created_at, depth=1)
        return format_html('<span title="{}">{}</span>', sent, age)

    @admin.display(description=gettext_lazy("next try"))
    def next_try(self, submission: Submission) -> str:
        """When the portal tries again by itself, and why it is waiting."""
        if submission.next_attempt_at is None or submission.status not in PENDING_STATUSES:
            return "—"
        when = date_format(localtime(submission.next_attempt_at), "DATETIME_FORMAT")
        why = submission.get_last_error_class_display() or _("first try")
        if submission.last_error:
            why = f"{why}: {submission.last_error}"
        return f"{when} ({why})"

    @admin.display(description=gettext_lazy("possible duplicate"))
    def duplicate_check(self, submission: Submission) -> str:
        """What to do about it, only when there is something to do."""
        if not submission.possible_duplicate:
            return _("no")
        return _("yes: a call may have reached the provider without an answer; check its tickets")

    @admin.display(description=gettext_lazy("duplicate ticket at the provider"))
    def duplicate_tickets(self, submission: Submission) -> str:
        """Tickets the provider created besides the customer's (a late answer was recorded)."""
        if not submission.extra_tickets:
            return "—"
        others = ", ".join(
            extra.get("case_number") or extra["ticket_id"] for extra in submission.extra_tickets
        )
        return _("%(others)s (besides %(number)s): close it at the provider") % {
            "others": others,
            "number": submission.customer_ticket_number,
        }

    @admin.display(description=gettext_lazy("ticket calls"))
    def ticket_calls(self, submission: Submission) -> int:
        """Create-ticket calls ever made, across resends (token fetches not counted)."""
        return submission.ticket_calls

    def get_search_fields(self, request: HttpRequest):
        """The columns, then the words customers wrote in their forms (a shop's name, an issue,
        a subject...): each provider's free-text fields, kept in ``details``. On PostgreSQL the
        words are searched by full text instead (``get_search_results``)."""
        if connection.vendor == "postgresql":
            return self.search_fields
        return (*self.search_fields, *(f"details__{name}" for name in free_text_field_names()))

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if PHONE_LIKE.fullmatch(term):
            # Phones are stored as digits with the country code (60123456789); match what staff
            # type with or without "+", spaces, dashes or the leading trunk 0.
            digits = re.sub(r"\D", "", term).lstrip("0")
            if len(digits) >= 6:
                results = results | queryset.filter(phone__contains=digits)
        if connection.vendor == "postgresql":
            results = results | selectors.submissions_matching_words(
                queryset, term, fields=["name", *(f"details__{n}" for n in free_text_field_names())]
            )
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
        # Nothing is edited here: the page is the summary, the timeline and the customer's
        # fields as the provider's form words them (change_form.html).
        return [(None, {"fields": ()})]

    def render_change_form(
        self, request: HttpRequest, context, add=False, change=False, form_url="", obj=None
    ):
        if obj is not None:
            context.update(self._detail_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _detail_context(self, request: HttpRequest, submission: Submission) -> dict:
        attachments = selectors.submission_attachments(submission=submission)
        return {
            "about": request_about(submission, length=None),
            "status": self.status_label(submission),
            "ticket_number": self.provider_ticket_number(submission),
            "provider": provider_label(submission.provider),
            "next_try": submission.status in PENDING_STATUSES and self.next_try(submission),
            "held_for": submission.get_held_for_display() if submission.held_for else "",
            "duplicate_check": submission.possible_duplicate and self.duplicate_check(submission),
            "duplicate_tickets": submission.extra_tickets and self.duplicate_tickets(submission),
            "provider_answer": pretty(submission.provider_ticket)
            if submission.provider_ticket
            else "",
            "customer_details": customer_details(submission),
            "map": map_context(submission),
            "attachments": attachment_rows(submission, attachments),
            "timeline": timeline(
                submission,
                calls=selectors.submission_timeline(submission=submission),
                corrections=staff_history(
                    submission, selectors.submission_corrections(submission=submission)
                ),
                log_entries=selectors.submission_staff_log(submission=submission),
                emails=selectors.submission_emails(submission=submission),
                whatsapp_messages=selectors.submission_whatsapp_messages(submission=submission),
            ),
            "can_correct": (
                submission.status in RESENDABLE_STATUSES
                and self.has_correct_permission(request, submission)
            ),
        }

    # --- extra views (tickets/admin/views.py) ----------------------------------------------
    def get_urls(self):
        info = (self.opts.app_label, self.opts.model_name)

        def wrap(view):
            bound = partial(view, self)
            return self.admin_site.admin_view(update_wrapper(bound, view))

        return [
            path("export.csv", wrap(views.export_view), name="{}_{}_export".format(*info)),
            path("delivery/", wrap(views.delivery_view), name="{}_{}_delivery".format(*info)),
            path(
                "<path:object_id>/correct/",
                wrap(views.correct_view),
                name="{}_{}_correct".format(*info),
            ),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/",
                wrap(views.attachment_view),
                name="{}_{}_attachment".format(*info),
            ),
            *super().get_urls(),
        ]
