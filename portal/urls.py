from django.contrib import admin
from django.urls import include, path

from tickets.admin.views import console_home

urlpatterns = [
    # Staff land on the requests, not on Django's list of apps.
    path("admin/", admin.site.admin_view(console_home), name="console-home"),
    # The staff's second factor, and passkeys' ceremonies (django-otp-webauthn): for a signed-in
    # staff member only, since passkeys are a second factor here, never a way to sign in alone.
    path("admin/second-factor/", include("tickets.admin.second_factor.urls")),
    path(
        "admin/second-factor/passkeys/",
        include("django_otp_webauthn.urls", namespace="otp_webauthn"),
    ),
    path("admin/", admin.site.urls),
    # Django's set_language: the language switcher posts here and the choice is kept in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("tickets.urls")),
]
