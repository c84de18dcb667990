from django.urls import path

from tickets.admin.second_factor import views

app_name = "second_factor"

urlpatterns = [
    path("", views.verify_view, name="verify"),
    path("setup/", views.setup_view, name="setup"),
    path("recovery-codes/", views.recovery_codes_view, name="recovery-codes"),
    path("devices/", views.devices_view, name="devices"),
]
