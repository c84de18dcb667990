from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's set_language: the language switcher posts here and the choice is kept in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("tickets.urls")),
]
