"""Meta's webhook (``/whatsapp/webhook/``): the subscription check, the signature of every POST,
and what the news does: statuses move a message forward, a late failure is decided as a failed
send would be, a STOP opts the number out. Replays change nothing."""

import json
import time

import pytest

from tests.support.factories import storehub_data
from tests.support.workers import wait_for
from tickets.customer.intake import submission_create
from tickets.delivery.whatsapp.sandbox import webhook_payload
from tickets.delivery.whatsapp.webhook import sign
from tickets.models import WhatsAppMessage, WhatsAppOptOut

URL = "/whatsapp/webhook/"


def post(client, settings, value: dict, *, secret: str | None = None, signature=None):
    body = json.dumps(webhook_payload(value)).encode()
    header = (
        signature
        if signature is not None
        else sign(body, secret or settings.WHATSAPP["APP_SECRET"])
    )
    extra = {"HTTP_X_HUB_SIGNATURE_256": header} if header else {}
    return client.post(URL, data=body, content_type="application/json", **extra)


def status(wamid: str, name: str, *, at: int, errors=None) -> dict:
    entry = {"id": wamid, "status": name, "timestamp": str(at), "recipient_id": "60123456789"}
    if errors:
        entry["errors"] = errors
    return {"statuses": [entry]}


def reply(text: str, phone: str = "60123456789") -> dict:
    return {
        "contacts": [{"profile": {"name": "Ahmad"}, "wa_id": phone}],
        "messages": [
            {
                "from": phone,
                "id": "wamid.reply",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }


@pytest.fixture
def sent_message(whatsapp, run_worker, settings):
    """A receipt Meta took (state "sent"), its ticket-number message left out."""
    settings.WHATSAPP["TEMPLATES"] = {**settings.WHATSAPP["TEMPLATES"], "ticket_number": ""}
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="ms"
    )
    run_worker()
    message = submission.whatsapp_messages.get()
    assert message.state == "sent"
    return message


# --- the subscription check --------------------------------------------------------------------
@pytest.mark.django_db
def test_meta_s_subscription_check_gets_its_challenge_back(client, whatsapp, settings):
    token = settings.WHATSAPP["VERIFY_TOKEN"]
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}

    answer = client.get(URL, params)

    assert answer.status_code == 200 and answer.content == b"1158201444"


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["wrong", "", None])
def test_a_wrong_verify_token_is_refused(client, whatsapp, token):
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    if token is not None:
        params["hub.verify_token"] = token

    answer = client.get(URL, params)

    assert answer.status_code == 403 and b"1158201444" not in answer.content


@pytest.mark.django_db
def test_there_is_no_webhook_while_whatsapp_is_off(client, settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": "", "ACCESS_TOKEN": ""}

    assert client.get(URL, {"hub.mode": "subscribe"}).status_code == 404
    assert client.post(URL, data=b"{}", content_type="application/json").status_code == 404


# --- the signature -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "forged",
    ["missing", "another secret", "another body", "not hex", "sha1"],
)
def test_anything_not_signed_by_meta_is_refused_and_changes_nothing(
    client, settings, sent_message, forged
):
    value = status(sent_message.wamid, "delivered", at=int(time.time()))
    body = json.dumps(webhook_payload(value)).encode()
    signature = {
        "missing": "",
        "another secret": sign(body, "not-the-app-secret"),
        "another body": sign(body + b" ", settings.WHATSAPP["APP_SECRET"]),
        "not hex": "sha256=zz",
        "sha1": "sha1=" + sign(body, settings.WHATSAPP["APP_SECRET"]).removeprefix("sha256="),
    }[forged]

    answer = post(client, settings, value, signature=signature)

    assert answer.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.state == "sent"


@pytest.mark.django_db
def test_signed_but_not_json_is_a_clear_400(client, whatsapp, settings):
    body = b"not json"
    answer = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(body, settings.WHATSAPP["APP_SECRET"]),
    )

    assert answer.status_code == 400


# --- statuses ----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_statuses_move_a_message_forward_and_never_back(client, settings, sent_message):
    now = int(time.time())
    wamid = sent_message.wamid

    for name, at in (("delivered", now), ("read", now + 5), ("delivered", now + 6)):
        assert post(client, settings, status(wamid, name, at=at)).status_code == 200
    # An old "sent", delivered late by Meta.
    post(client, settings, status(wamid, "sent", at=now - 60))

    sent_message.refresh_from_db()
    assert sent_message.state == "read"


@pytest.mark.django_db(transaction=True)
def test_a_replayed_delivery_changes_nothing(client, settings, sent_message):
    value = status(sent_message.wamid, "failed", at=int(time.time()), errors=[{"code": 131000}])

    first = post(client, settings, value)
    sent_message.refresh_from_db()
    after_first = (sent_message.state, sent_message.next_attempt_at, sent_message.attempts)
    again = post(client, settings, value)

    sent_message.refresh_from_db()
    assert first.status_code == again.status_code == 200
    assert after_first[0] == "queued"  # Meta's own trouble: sent again later
    assert (sent_message.state, sent_message.next_attempt_at, sent_message.attempts) == after_first


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("code", "state", "retried"),
    [(131026, "failed", False), (130429, "queued", True), (190, "held", True)],
)
def test_a_late_failure_is_decided_as_a_failed_send_would_be(
    client, settings, sent_message, code, state, retried
):
    errors = [{"code": code, "title": "Message undeliverable", "error_data": {"details": "x"}}]

    post(client, settings, status(sent_message.wamid, "failed", at=int(time.time()), errors=errors))

    sent_message.refresh_from_db()
    assert sent_message.state == state
    assert sent_message.error_code == code
    assert (sent_message.next_attempt_at is not None) == retried


@pytest.mark.django_db(transaction=True)
def test_a_status_that_beats_the_message_s_id_is_asked_for_again(client, settings, whatsapp):
    """Meta may report a message before the worker that sent it has written its ID: the webhook
    answers 503, so Meta delivers it again; an old one of someone else's is let go."""
    fresh = status("wamid.not-written-yet", "delivered", at=int(time.time()))
    old = status("wamid.someone-elses", "delivered", at=int(time.time()) - 3600)

    assert post(client, settings, fresh).status_code == 503
    assert post(client, settings, old).status_code == 200


# --- replies -------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("word", ["STOP", "Stop.", "berhenti", "BERHENTI!", " unsubscribe "])
def test_a_stop_in_any_language_opts_the_number_out(client, settings, whatsapp, run_worker, word):
    # A request the customer opted in with, not yet on its way when they reply STOP.
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="ms"
    )

    assert post(client, settings, reply(word)).status_code == 200
    run_worker()

    assert WhatsAppOptOut.objects.filter(phone="60123456789").exists()
    submission.refresh_from_db()
    assert submission.status == "sent"
    assert whatsapp.sent == []


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["stop the printer from jamming", "Terima kasih", "STOPPED"])
def test_other_replies_opt_nobody_out(client, settings, whatsapp, text):
    post(client, settings, reply(text))

    assert not WhatsAppOptOut.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_form_ticked_with_the_number_does_not_undo_its_stop(
    client, settings, whatsapp, run_worker
):
    post(client, settings, reply("STOP"))

    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="en"
    )
    run_worker()

    assert WhatsAppOptOut.objects.exists()
    assert submission.whatsapp_messages.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("word", ["START", "mula", "Mulai"])
def test_the_number_itself_opts_back_in(client, settings, whatsapp, run_worker, word):
    post(client, settings, reply("STOP"))
    post(client, settings, reply(word))

    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="en"
    )
    run_worker()

    assert not WhatsAppOptOut.objects.exists()
    assert [m.state for m in submission.whatsapp_messages.all()] == ["sent", "sent"]


# --- the sandbox calls back as Meta does ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_sandbox_reports_each_message_delivered_and_read_signed(
    live_server, whatsapp, run_worker, settings
):
    whatsapp.webhook_url = f"{live_server.url}{URL}"
    whatsapp.app_secret = settings.WHATSAPP["APP_SECRET"]
    whatsapp.callback_pace = 0.05
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="id"
    )
    run_worker()

    wait_for(
        lambda: set(submission.whatsapp_messages.values_list("state", flat=True)) == {"read"},
        30,
        what="both messages read",
    )
    assert WhatsAppMessage.objects.filter(status_at__isnull=True).count() == 0
