"""Meta's webhook (``/whatsapp/webhook/``): the subscription check, the signature of every POST,
what it answers to a body that is not JSON or not a delivery, and what the news does: statuses
move a message forward, a late failure is decided as a failed send would be, a STOP opts the
number out and a START back in. Replays, and replies delivered late, change nothing."""

import itertools
import json
import logging
import time

import pytest
from django.test import Client

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


# Each reply a second after the one before, with its own ID, as a customer types them.
REPLY_TIMES = itertools.count(int(time.time()))
REPLY_IDS = (f"wamid.reply-{n}" for n in itertools.count())


def reply(text: str, phone: str = "60123456789", *, at: int | None = None) -> dict:
    return {
        "contacts": [{"profile": {"name": "Ahmad"}, "wa_id": phone}],
        "messages": [
            {
                "from": phone,
                "id": next(REPLY_IDS),
                "timestamp": str(next(REPLY_TIMES) if at is None else at),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }


def signed_post(client, settings, body: bytes, *, content_type: str = "application/json"):
    return client.post(
        URL,
        data=body,
        content_type=content_type,
        HTTP_X_HUB_SIGNATURE_256=sign(body, settings.WHATSAPP["APP_SECRET"]),
    )


def opted_out() -> bool:
    return WhatsAppOptOut.objects.stopped("60123456789")


@pytest.fixture
def sent_message(whatsapp, run_worker, settings, confirmed_customers):
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


# --- what is not a delivery ----------------------------------------------------------------------
BOUNDARY = "----WebhookTestBoundary"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (f"multipart/form-data; boundary={BOUNDARY}", "a form"),
        # No closing boundary: a form parsed before the view would be answered 400 instead.
        (f"multipart/form-data; boundary={BOUNDARY}", "a form cut short"),
        ("application/x-www-form-urlencoded", "status=read"),
        ("text/plain", "a signed delivery"),
    ],
)
def test_a_post_that_is_not_json_is_refused_415_before_its_body_is_read(
    whatsapp, settings, content_type, body
):
    client = Client(raise_request_exception=False)
    raw = {
        "a form": f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="status"\r\n\r\n'
        f"read\r\n--{BOUNDARY}--\r\n".encode(),
        "a form cut short": f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"\r\n\r\n'
        "read\r\n".encode(),
        "a signed delivery": json.dumps(webhook_payload(reply("STOP"))).encode(),
    }.get(body, body.encode())

    answer = signed_post(client, settings, raw, content_type=content_type)

    assert answer.status_code == 415
    assert not WhatsAppOptOut.objects.exists()


ENVELOPE = b'{"object": "whatsapp_business_account", "entry": '


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not JSON"),
        pytest.param(b"\xff\xfe{}", id="not UTF-8"),
        pytest.param(b"[1, 2]", id="a list"),
        pytest.param(b'"whatsapp_business_account"', id="a string"),
        pytest.param(b'{"entry": []}', id="no object"),
        pytest.param(ENVELOPE + b"5}", id="entry a number"),
        pytest.param(ENVELOPE + b"[5]}", id="an entry a number"),
        pytest.param(ENVELOPE + b'[{"changes": {"value": {}}}]}', id="changes an object"),
        pytest.param(ENVELOPE + b'[{"changes": [{"value": []}]}]}', id="a value a list"),
        pytest.param(ENVELOPE + b'[{"changes": [{"value": {"statuses": 7}}]}]}', id="statuses 7"),
        pytest.param(
            ENVELOPE + b'[{"changes": [{"value": {"messages": ["STOP"]}}]}]}',
            id="a message a string",
        ),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100,000 deep"),
        pytest.param(ENVELOPE + b"[" * 100_000, id="100,000 deep, unclosed"),
    ],
)
def test_a_signed_body_that_is_not_a_delivery_is_a_logged_400(whatsapp, settings, caplog, body):
    client = Client(raise_request_exception=False)

    with caplog.at_level(logging.WARNING, logger="tickets"):
        answer = signed_post(client, settings, body)

    assert answer.status_code == 400
    assert "could not be read" in caplog.text


@pytest.mark.django_db
def test_a_delivery_refused_400_applies_nothing_of_it(client, whatsapp, settings):
    payload = webhook_payload(reply("STOP"))
    payload["entry"].append({"changes": "not a list"})

    answer = signed_post(client, settings, json.dumps(payload).encode())

    assert answer.status_code == 400
    assert not opted_out()


@pytest.mark.django_db(transaction=True)
def test_statuses_and_messages_the_portal_does_not_take_are_skipped_the_rest_applied(
    client, settings, sent_message
):
    now = int(time.time())
    good = status(sent_message.wamid, "delivered", at=now)["statuses"][0]
    junk_statuses = [
        {"id": 5, "status": [], "timestamp": {}},
        {"id": "wamid.\x00", "status": "read", "timestamp": str(now)},
        {"id": sent_message.wamid, "status": "read", "timestamp": "1e99"},
        {"id": sent_message.wamid, "status": "read", "timestamp": True},
    ]
    junk_messages = [
        {
            "from": "60123456789",
            "id": "wamid.a",
            "timestamp": str(now),
            "type": "button",
            "button": 5,
        },
        {
            "from": "60123456789",
            "id": "wamid.b",
            "timestamp": str(now),
            "type": "text",
            "text": "STOP",
        },
        {
            "from": "6" * 40,
            "id": "wamid.c",
            "timestamp": str(now),
            "type": "text",
            "text": {"body": "STOP"},
        },
        {
            "from": "\u0661\u0662",
            "id": "wamid.d",
            "timestamp": str(now),
            "type": "text",
            "text": {"body": "STOP"},
        },
        {"from": "60123456789", "timestamp": str(now), "type": "text", "text": {"body": "STOP"}},
        {"from": "60123456789", "id": "wamid.e", "type": "image", "image": {"id": "1"}},
    ]
    value = {"statuses": [*junk_statuses, good], "messages": junk_messages}

    answer = post(client, settings, value)

    assert answer.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.state == "delivered"
    assert not WhatsAppOptOut.objects.exists()


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
@pytest.mark.parametrize("errors", [5, {"code": 131026}, [{"code": 10**30}], [{"code": "\u00b2"}]])
def test_a_late_failure_without_meta_s_error_is_decided_as_an_unknown_one(
    client, settings, sent_message, errors
):
    value = status(sent_message.wamid, "failed", at=int(time.time()))
    value["statuses"][0]["errors"] = errors

    assert post(client, settings, value).status_code == 200

    sent_message.refresh_from_db()
    assert (sent_message.state, sent_message.error_code) == ("queued", None)
    assert sent_message.next_attempt_at is not None


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

    assert opted_out()
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

    assert not opted_out()
    assert [m.state for m in submission.whatsapp_messages.all()] == ["sent", "sent"]


@pytest.mark.django_db
def test_a_start_replayed_after_a_stop_changes_nothing(client, settings, whatsapp):
    """Meta delivers again what it is not sure of: a START it delivers twice, the second time
    after the customer's STOP, must not opt the number back in."""
    post(client, settings, reply("STOP"))
    start = reply("START")
    post(client, settings, start)
    post(client, settings, reply("STOP"))

    assert post(client, settings, start).status_code == 200

    assert opted_out()


@pytest.mark.django_db
@pytest.mark.parametrize(("latest", "older"), [("STOP", "START"), ("START", "STOP")])
def test_an_older_reply_delivered_late_changes_nothing(client, settings, whatsapp, latest, older):
    now = int(time.time())
    post(client, settings, reply(latest, at=now))

    post(client, settings, reply(older, at=now - 60))

    assert opted_out() == (latest == "STOP")


@pytest.mark.django_db
def test_the_same_stop_twice_is_one_change(client, settings, whatsapp, caplog):
    stop = reply("STOP")

    with caplog.at_level(logging.INFO, logger="tickets"):
        post(client, settings, stop)
        post(client, settings, stop)
    post(client, settings, reply("START"))
    post(client, settings, stop)

    assert caplog.text.count("opted out of WhatsApp updates") == 1
    assert not opted_out()


@pytest.mark.django_db
@pytest.mark.parametrize("order", [("STOP", "START"), ("START", "STOP")])
def test_of_a_stop_and_a_start_in_the_same_second_the_stop_wins(client, settings, whatsapp, order):
    now = int(time.time())

    for word in order:
        post(client, settings, reply(word, at=now))

    assert opted_out()


# --- the sandbox calls back as Meta does ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_sandbox_reports_each_message_delivered_and_read_signed(
    live_server, whatsapp, run_worker, settings, confirmed_customers
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
