"""One form per provider, in parallel modules: tickets/forms/<provider>.py."""

from .base import SubmissionForm
from .onecloud import OneCloudForm
from .storehub import StoreHubForm

FORMS: dict[str, type[SubmissionForm]] = {
    OneCloudForm.provider: OneCloudForm,
    StoreHubForm.provider: StoreHubForm,
}

__all__ = ["FORMS", "OneCloudForm", "StoreHubForm", "SubmissionForm"]
