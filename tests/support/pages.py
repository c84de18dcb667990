"""The portal's pages as the test client gets them: where a form is, what errors it shows."""

import re

from django.urls import reverse


# --- builders -----------------------------------------------------------------------------
def form_url(alias: str) -> str:
    return reverse("tickets:form", args=[alias])


def errors_of(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


def error_html_next_to(response, field: str) -> str:
    """The error block crispy renders right under the field's input."""
    html = response.content.decode()
    match = re.search(
        rf'<div id="id_{field}_error" class="invalid-feedback">(.*?)</div>', html, re.S
    )
    assert match, f"no error shown next to {field}"
    return match.group(1)
