from django.http import HttpResponse
from django.urls import path

from . import views

urlpatterns = [
    path("", views.message_form),
    path("thanks/", lambda request: HttpResponse("Thanks")),
]
