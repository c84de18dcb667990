"""A customer reads and fills the portal in Bahasa Melayu or Bahasa Indonesia."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import PHONE, audit, fill_storehub_minimum
from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.models import Status, Submission

pytestmark = pytest.mark.e2e


def test_the_language_chosen_on_a_form_is_kept_on_the_status_page(browsing):
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/storehub/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("button", name="Bahasa Melayu").click()

    expect(page.locator("html")).to_have_attribute("lang", "ms")
    expect(page.get_by_role("button", name="Bahasa Melayu")).to_have_attribute(
        "aria-current", "true"
    )
    assert "Send request" not in page.content()
    fill_storehub_minimum(page, by_id=True)
    page.locator("form[data-submit-once] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))

    expect(page.locator("html")).to_have_attribute("lang", "ms")
    assert "Your reference" not in page.content()
    assert Submission.objects.get().language == "ms"


@pytest.mark.parametrize("locale,language", [("ms-MY", "ms"), ("id-ID", "id")])
def test_pages_in_malay_and_indonesian_pass_axe_on_a_phone(browsing, locale, language):
    submission = submission_create(provider="storehub", data=storehub_data(), language=language)
    Submission.objects.filter(pk=submission.pk).update(status=Status.SENT, ticket_id="1001")
    page = browsing.page(viewport=PHONE, inject_axe=True, locale=locale)

    for path, name in (
        ("/", "landing"),
        ("/onecloud/", "onecloud-form"),
        ("/storehub/", "storehub-form"),
        (f"/status/{submission.public_id}/", "status-sent"),
    ):
        page.goto(browsing.server_url + path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        audit(page, f"{name}-{language}")

    # The form sent empty: every error from the server, in the page's language.
    page.goto(browsing.server_url + "/storehub/")
    page.locator("form[data-submit-once] button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#error-summary")).not_to_contain_text("This field is required")
    audit(page, f"storehub-form-errors-{language}")
