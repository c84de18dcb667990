"""Sent once means once: the same request sent again from the same browser is shown, not made.

A form sent in the background (by the form's script) is answered with where its status page is.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from tests.support.factories import form_post
from tickets.customer.browser import COOKIE_NAME
from tickets.forms.base import issue_form_token
from tickets.models import Submission

pytestmark = pytest.mark.django_db

URL = reverse("tickets:form", args=["storehub"])


def send(client, **extra):
    """The StoreHub form as a fresh page gives it: a new form token each time."""
    return client.post(URL, form_post("storehub", **extra))


def test_the_first_request_gives_the_browser_a_cookie_of_its_own(client, settings):
    response = send(client)

    assert response.status_code == 302
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] >= 24 * 3600
    # The database keeps a keyed hash of it, never the cookie itself.
    submission = Submission.objects.get()
    assert len(submission.browser_key) == 64 and cookie.value not in submission.browser_key


def test_the_form_page_gives_the_cookie_so_a_send_whose_answer_was_lost_is_known(client):
    page = client.get(URL)
    cookie = page.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    token = issue_form_token()
    # The first send reached the portal, but the line dropped before its answer: the browser
    # never saw a Set-Cookie from it.
    client.post(URL, form_post("storehub", form_token=token))
    client.cookies[COOKIE_NAME] = cookie.value

    again = send(client)  # later: Back, or "Start again", then the same request

    assert "You already sent this" in again.content.decode()
    assert Submission.objects.count() == 1
    assert COOKIE_NAME not in client.get(URL).cookies  # given once, not on every page


def test_the_same_request_sent_again_from_the_same_browser_shows_the_first(client):
    send(client)
    first = Submission.objects.get()

    again = send(client)

    assert again.status_code == 200
    html = again.content.decode()
    assert f"You already sent this: {first.reference}" in html
    assert f'href="/status/{first.public_id}/"' in html
    assert Submission.objects.count() == 1
    # Offered back whole, with a new token, to be sent as a new request on purpose.
    assert 'value="Ahmad Ibrahim"' in html
    token = re.search(r'name="form_token" value="([^"]+)"', html)[1]
    assert 'name="send_again" value="1"' in html

    on_purpose = client.post(URL, form_post("storehub", form_token=token, send_again="1"))

    assert on_purpose.status_code == 302
    assert Submission.objects.count() == 2


def test_another_browser_sending_the_same_request_is_never_shown_the_first(client):
    send(client)
    client.cookies.clear()

    other = send(client)

    assert other.status_code == 302
    assert Submission.objects.count() == 2


def test_a_changed_request_or_one_sent_a_day_later_is_a_new_request(client):
    send(client)
    Submission.objects.update(created_at=Submission.objects.get().created_at - timedelta(days=1))

    assert send(client).status_code == 302  # a day later: a new problem
    assert send(client, remark="Printer offline again").status_code == 302
    assert Submission.objects.count() == 3


def test_the_same_form_sent_twice_is_still_one_request_and_no_notice(client):
    token = issue_form_token()
    post = form_post("storehub", form_token=token)

    first = client.post(URL, post)
    second = client.post(URL, post)  # a double tap, or a send retried after a dropped line

    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert Submission.objects.count() == 1


def test_a_background_send_is_answered_with_its_status_page(client):
    response = client.post(
        URL,
        form_post("storehub"),
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 201
    submission = Submission.objects.get()
    assert response.json() == {
        "reference": submission.reference,
        "status_url": f"/status/{submission.public_id}/",
    }
    assert COOKIE_NAME in response.cookies


def test_a_background_send_with_errors_is_answered_with_the_form_to_fix(client):
    response = client.post(
        URL,
        form_post("storehub", phone="12"),
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert 'id="error-summary"' in response.content.decode()
    assert Submission.objects.count() == 0
