from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("status/<uuid:public_id>/", views.submission_status, name="status"),
    path("status/<uuid:public_id>.json", views.submission_status_json, name="status-json"),
]
