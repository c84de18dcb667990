from django import forms
from django.shortcuts import redirect, render

from .models import Message


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = ["name", "email", "text"]


def message_form(request):
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("/thanks/")
    return render(request, "form.html", {"form": form})
