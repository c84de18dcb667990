"""Delivery at a glance: the staff's page of figures and charts per provider."""

import re

import pytest
from django.urls import reverse

from tests.support.factories import stored_submission, storehub_data
from tickets.customer.intake import submission_create
from tickets.models import Status

DELIVERY = reverse("admin:tickets_submission_delivery")


def figure(page: str, alias: str, name: str) -> str:
    section = page[page.index(f'id="delivery-{alias}"') :]
    return re.search(rf'class="figure figure-{name}">.*?<dd>([^<]*)</dd>', section, re.S).group(1)


@pytest.mark.django_db(transaction=True)
def test_the_page_shows_the_figures_of_a_real_run(admin_client, sandbox, settings, run_worker):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    for _ in range(3):
        submission_create(provider="storehub", data=storehub_data())
    run_worker()
    sandbox.script("storehub", "-10000")  # refused: a rejected request
    submission_create(provider="storehub", data=storehub_data())
    run_worker()
    sandbox.script("storehub", "500")  # out of retries at once: a failed one
    submission_create(provider="storehub", data=storehub_data())
    run_worker()
    submission_create(provider="storehub", data=storehub_data())  # not worked on yet

    page = admin_client.get(DELIVERY).content.decode()

    assert [figure(page, "storehub", name) for name in ("sent", "rejected", "failed")] == [
        "3",
        "1",
        "1",
    ]
    assert figure(page, "storehub", "waiting") == "1"
    assert figure(page, "storehub", "queue") == "1"
    assert re.fullmatch(r"[\d.]+ s", figure(page, "storehub", "p50"))
    section = page[page.index('id="delivery-storehub"') :]
    # Three days of bars would do: today's bar has a segment for each outcome it had.
    assert section.count('<rect class="outcome-sent"') == 1
    assert 'class="outcome-rejected"' in section and 'class="outcome-failed"' in section
    assert re.search(r"Rejected</text>.*?>1</text>", section, re.S)
    assert figure(page, "onecloud", "sent") == "0"
    assert "No requests in this period." in page[page.index('id="delivery-onecloud"') :]


@pytest.mark.django_db
def test_the_page_offers_7_and_30_days(admin_client):
    stored_submission("storehub", status=Status.QUEUED)
    week = admin_client.get(DELIVERY).content.decode()
    month = admin_client.get(DELIVERY, {"days": "30"}).content.decode()
    odd = admin_client.get(DELIVERY, {"days": "9999"})

    assert 'href="?days=7" aria-current="page"' in week
    assert 'href="?days=30" aria-current="page"' in month
    # A row a day for the provider that had a request; the other has none to chart.
    assert len(re.findall(r'<tr><th scope="row">', month)) == 30
    assert odd.status_code == 200 and 'href="?days=7" aria-current="page"' in odd.content.decode()


@pytest.mark.django_db
def test_staff_who_may_only_look_see_it_and_the_public_does_not(viewer_client, client):
    assert viewer_client.get(DELIVERY).status_code == 200

    client.logout()
    response = client.get(DELIVERY)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_the_list_links_to_it(admin_client):
    page = admin_client.get(reverse("admin:tickets_submission_changelist")).content.decode()
    assert f'href="{DELIVERY}"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title", "period"),
    [
        ("ms", "Penghantaran sepintas lalu", "30 hari lalu"),
        ("id", "Sekilas pengiriman", "30 hari terakhir"),
    ],
)
def test_the_page_speaks_the_staff_s_language(admin_client, language, title, period):
    stored_submission("storehub", status=Status.SENT)

    page = admin_client.get(DELIVERY, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f"<title>{title}" in page
    assert period in page
