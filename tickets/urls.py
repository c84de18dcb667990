from django.urls import path, register_converter

from . import views
from .models import Provider


class ProviderConverter:
    """A provider's name as the first path segment: /onecloud/, /storehub/."""

    regex = "|".join(Provider.values)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


register_converter(ProviderConverter, "provider")

app_name = "tickets"

urlpatterns = [
    path("", views.landing, name="landing"),
    # Each form has its own address, so a business can link straight to the one it needs.
    path("<provider:provider>/", views.submission_form, name="form"),
    path("status/<uuid:public_id>/", views.submission_status, name="status"),
    path("status/<uuid:public_id>.json", views.submission_status_json, name="status-json"),
]
