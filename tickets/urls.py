from django.urls import path

from tickets.customer import views
from tickets.delivery.whatsapp import views as whatsapp_views
from tickets.operations.favicon import favicon

app_name = "tickets"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("favicon.ico", favicon, name="favicon"),
    path("manifest.webmanifest", views.web_app_manifest, name="manifest"),
    path("service-worker.js", views.service_worker, name="service-worker"),
    path("offline/<str:language>/", views.offline_page, name="offline"),
    path("send-tokens.json", views.send_tokens, name="send-tokens"),
    path("privacy/", views.privacy_notice, name="privacy"),
    path("find/", views.find_request, name="find"),
    path("find/code/", views.find_request_code, name="find-code"),
    path("status/<uuid:public_id>/", views.submission_status, name="status"),
    path("status/<uuid:public_id>.json", views.submission_status_json, name="status-json"),
    path("whatsapp/webhook/", whatsapp_views.whatsapp_webhook, name="whatsapp-webhook"),
    # Each form has its own address (the provider's alias), so a business can link straight to
    # the one it needs. An alias that is not configured is a 404 from the view.
    path("<slug:alias>/", views.submission_form, name="form"),
]
