"""The staff console: Django's admin, made to find and rescue submissions that did not arrive."""

from tickets.admin.submission import SubmissionAdmin

__all__ = ["SubmissionAdmin"]
