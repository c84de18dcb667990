"""Recipients who did not ask (``tickets.delivery.recipients``): however many forms name an
address or a number, it hears of one request a day by e-mail (its receipt and its ticket number)
and gets no WhatsApp update until its owner shows it is theirs; then every message of theirs
flows. Against the SMTP server and the fake Cloud API on loopback, the forms sent from many
addresses behind the operator's proxy."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.support.factories import form_post
from tickets.customer.access import access_code_ask
from tickets.delivery.recipients import (
    EMAIL_DAY_USED,
    WHATSAPP_CODE_DAY_USED,
    WHATSAPP_UNCONFIRMED,
    recipient_digest,
)
from tickets.delivery.whatsapp.sandbox import webhook_payload
from tickets.delivery.whatsapp.webhook import sign
from tickets.models import OutgoingEmail, Recipient, Submission, WhatsAppMessage

pytestmark = pytest.mark.django_db(transaction=True)

VICTIM_EMAIL = "victim@example.my"
VICTIM_PHONE = "60129876543"
STATUS_LINK = re.compile(r"http://127\.0\.0\.1:8000/status/[0-9a-f-]+/\?confirm=[0-9a-f]+")


@pytest.fixture
def behind_the_proxy(settings):
    """The portal behind the operator's proxy, one form per client address allowed."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORM_RATE_LIMIT = 1


def send_forms(alias: str, count: int, **fields) -> list[Submission]:
    """``count`` forms, each from its own address and browser (a script keeps no cookie)."""
    for n in range(count):
        response = Client().post(
            reverse("tickets:form", args=[alias]),
            form_post(alias, name=f"Stranger {n}", **fields),
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}",
        )
        assert response.status_code == 302, response.content[:500]
    return list(Submission.objects.order_by("created_at", "id"))


def mail_to(smtp_server, address: str) -> list:
    return [message for message in smtp_server.messages if address in message.to]


def webhook_reply(client, settings, *, phone: str, text: str) -> None:
    message = {"from": phone, "id": f"wamid.{phone}", "timestamp": "1796600000", "type": "text"}
    body = json.dumps(webhook_payload({"messages": [{**message, "text": {"body": text}}]}))
    response = client.post(
        "/whatsapp/webhook/",
        data=body.encode(),
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(body.encode(), settings.WHATSAPP["APP_SECRET"]),
    )
    assert response.status_code == 200


# --- a stranger's inbox, a stranger's number -------------------------------------------------
@pytest.mark.usefixtures("behind_the_proxy")
def test_twelve_forms_from_twelve_addresses_give_the_named_inbox_two_emails_of_one_request(
    sandbox, run_worker, smtp_server
):
    submissions = send_forms("onecloud", 12, email=VICTIM_EMAIL)
    run_worker(max_tasks=100)

    assert len(submissions) == 12  # every request is stored and forwarded: only mail is held
    assert all(submission.ticket_id for submission in Submission.objects.all())
    received = mail_to(smtp_server, VICTIM_EMAIL)
    assert len(received) == 2  # the first request's receipt and its ticket number
    (first,) = {
        submission.reference
        for submission in submissions
        if all(submission.reference in message.subject for message in received)
    }
    assert first
    withheld = OutgoingEmail.objects.filter(state=OutgoingEmail.State.WITHHELD)
    assert withheld.count() == 22  # 11 receipts and 11 ticket numbers
    assert set(withheld.values_list("last_error", flat=True)) == {EMAIL_DAY_USED}


@pytest.mark.usefixtures("behind_the_proxy")
def test_five_forms_naming_a_number_with_whatsapp_ticked_send_it_nothing(
    sandbox, whatsapp, run_worker, smtp_server
):
    send_forms("storehub", 5, phone=VICTIM_PHONE, whatsapp_updates=True, email="")
    run_worker(max_tasks=100)

    assert whatsapp.sent == []
    messages = WhatsAppMessage.objects.all()
    assert messages.count() == 10  # a receipt and a ticket number each, none sent
    assert set(messages.values_list("state", "last_error")) == {("withheld", WHATSAPP_UNCONFIRMED)}


def test_one_inbox_under_other_spellings_is_one_recipient(sandbox, run_worker, smtp_server):
    for n, spelling in enumerate(["Ahmad.Ibrahim@Gmail.com", "ahmadibrahim+shop2@googlemail.com"]):
        Client().post(
            reverse("tickets:form", args=["onecloud"]),
            form_post("onecloud", name=f"Shop {n}", email=spelling),
        )
    run_worker()

    # One inbox: one request's receipt and ticket number, whichever spelling it came under.
    assert len(smtp_server.messages) == 2
    assert len({message.subject.split()[-1] for message in smtp_server.messages}) == 1
    assert Recipient.objects.count() == 1


def test_recipients_are_kept_as_keyed_digests_only(sandbox, run_worker, smtp_server):
    Client().post(
        reverse("tickets:form", args=["onecloud"]), form_post("onecloud", email=VICTIM_EMAIL)
    )
    run_worker()

    (recipient,) = Recipient.objects.values()
    assert recipient["digest"] == recipient_digest(channel="email", address=VICTIM_EMAIL)
    assert "victim" not in json.dumps(recipient, default=str)


# --- the owner confirms -----------------------------------------------------------------------
def test_a_customer_who_opens_the_first_emails_link_gets_both_requests_messages(
    sandbox, run_worker, smtp_server, client
):
    for subject in ("Printer offline", "Invoice missing"):
        Client().post(
            reverse("tickets:form", args=["onecloud"]),
            form_post("onecloud", subject=subject, email=VICTIM_EMAIL),
        )
    run_worker()
    # One request's receipt and ticket number, the other request's held back.
    receipt, number = smtp_server.messages
    assert "Please open that link once" in receipt.text
    assert receipt.subject.split()[-1] in number.subject

    link = STATUS_LINK.search(receipt.text).group()
    opened = client.get(link)
    # The page itself, without the token in its address.
    assert opened.status_code == 302 and "confirm" not in opened["Location"]
    assert link.startswith("http://127.0.0.1:8000" + opened["Location"])
    run_worker()

    references = Submission.objects.values_list("reference", flat=True)
    sent = OutgoingEmail.objects.filter(state="sent").values_list("submission__reference", "kind")
    assert sorted(sent) == sorted(
        (reference, kind) for reference in references for kind in ("receipt", "ticket_number")
    )
    assert len(mail_to(smtp_server, VICTIM_EMAIL)) == 4
    # A later request's e-mails go at once, and the receipt no longer asks for the link.
    Client().post(
        reverse("tickets:form", args=["onecloud"]),
        form_post("onecloud", subject="Third", email=VICTIM_EMAIL),
    )
    run_worker()
    assert len(mail_to(smtp_server, VICTIM_EMAIL)) == 6
    assert not any("Please open that link once" in m.text for m in smtp_server.messages[-2:])


def test_a_status_link_with_a_wrong_token_confirms_nothing(sandbox, run_worker, smtp_server):
    send_forms("onecloud", 2, email=VICTIM_EMAIL)
    run_worker()
    held_back = Submission.objects.filter(emails__state="withheld").distinct().get()

    status_url = reverse("tickets:status", args=[held_back.public_id])
    response = Client().get(status_url, {"confirm": "0" * 32})
    run_worker()

    assert response.status_code == 302
    assert not Recipient.objects.filter(confirmed_at__isnull=False).exists()
    assert held_back.emails.filter(state="withheld").count() == 2


def test_a_number_that_writes_to_the_business_gets_its_messages(
    sandbox, whatsapp, run_worker, client, settings
):
    Client().post(
        reverse("tickets:form", args=["storehub"]),
        form_post("storehub", phone=VICTIM_PHONE, whatsapp_updates=True, email=""),
    )
    run_worker()
    submission = Submission.objects.get()
    assert whatsapp.sent == []

    # The status page's button opens WhatsApp with the reference written.
    page = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()
    assert f'href="https://wa.me/60300000000?text={submission.reference}"' in page

    webhook_reply(client, settings, phone=VICTIM_PHONE, text=submission.reference)
    run_worker()

    assert [sent["template"]["name"] for sent in whatsapp.sent] == [
        "portal_receipt",
        "portal_ticket_number",
    ]
    assert set(submission.whatsapp_messages.values_list("state", flat=True)) == {"sent"}


# --- Find my request ---------------------------------------------------------------------------
def test_an_unconfirmed_number_gets_one_code_a_day_and_the_page_says_so(
    sandbox, whatsapp, run_worker, client
):
    Client().post(
        reverse("tickets:form", args=["storehub"]),
        form_post("storehub", phone=VICTIM_PHONE, whatsapp_updates=True, email=""),
    )
    run_worker()
    submission = Submission.objects.get()

    for browser in ("browser-one", "browser-two"):
        access_code_ask(reference=submission.reference, phone=VICTIM_PHONE, browser_key=browser)
        run_worker()

    assert [sent["template"]["name"] for sent in whatsapp.sent] == ["portal_access_code"]
    codes = submission.whatsapp_messages.filter(kind="access_code").order_by("id")
    assert list(codes.values_list("state", "last_error")) == [
        ("sent", ""),
        ("withheld", WHATSAPP_CODE_DAY_USED),
    ]
    # Nothing is left of the withheld code in clear.
    assert not submission.access_codes.exclude(code_to_send="").exists()
    # The page after asking says the same to everyone, matched or not.
    client.post(reverse("tickets:find"), {"reference": "REQ-222222", "phone": "0123456789"})
    page = client.get(reverse("tickets:find-code")).content.decode()
    assert "gets at most one message from us a day" in page


def test_an_address_that_had_its_email_today_gets_no_code_by_email(
    sandbox, run_worker, smtp_server
):
    Client().post(
        reverse("tickets:form", args=["onecloud"]),
        form_post("onecloud", phone="0812 3456 7890", email=VICTIM_EMAIL),
    )
    run_worker()
    submission = Submission.objects.get()
    updates = [message.subject for message in smtp_server.messages]
    assert len(updates) == 2  # the receipt and the ticket number

    access_code_ask(reference=submission.reference, phone="0812 3456 7890", browser_key="b")
    run_worker()

    assert [message.subject for message in smtp_server.messages] == updates
    code_email = submission.emails.get(kind="access_code")
    assert (code_email.state, code_email.last_error) == ("withheld", EMAIL_DAY_USED)


# --- staff --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "e-mails have already gone to it today"),
        ("ms", "e-mel permintaan lain telah pun dihantar kepadanya hari ini"),
        ("id", "email permintaan lain sudah terkirim kepadanya hari ini"),
    ],
)
def test_staff_see_why_an_email_was_not_sent_in_their_language(
    sandbox, run_worker, smtp_server, client, language, reason
):
    send_forms("onecloud", 2, email=VICTIM_EMAIL)
    run_worker()
    submission = Submission.objects.filter(emails__state="withheld").distinct().get()
    staff = User.objects.create_superuser("agent", "agent@example.my", "a-long-password-1")
    client.force_login(staff)

    url = reverse("admin:tickets_submission_change", args=[submission.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert reason in page
