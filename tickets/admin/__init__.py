"""The staff console: Django's admin, made to find and rescue submissions that did not arrive,
behind a second factor (``site``, ``second_factor``)."""

from tickets.admin.submission import SubmissionAdmin
from tickets.admin.users import StaffAdmin

__all__ = ["StaffAdmin", "SubmissionAdmin"]
