"""Signed but hostile deliveries never give the webhook a server error.

Hypothesis posts, signed with the app secret as Meta signs, random bytes, random JSON, and
Meta's own deliveries (statuses of a message the portal sent, a failure with its error, STOP and
START replies) with any part replaced by a random JSON value or left out. The webhook must answer
200, 400 (not a delivery) or 503 (a message not known yet); never a 5xx of its own.
"""

import json
import os
import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.delivery.whatsapp.sandbox import webhook_payload
from tickets.delivery.whatsapp.webhook import sign
from tickets.models import WhatsAppMessage

URL = "/whatsapp/webhook/"
# A few hundred deliveries in the fast loop; the test command asks for more (FUZZ_EXAMPLES,
# scripts/test.sh).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
# The keys Meta uses, so that random objects often stand where the portal looks.
KEYS = [
    "object", "entry", "changes", "value", "statuses", "messages", "id", "status", "timestamp",
    "errors", "code", "from", "type", "text", "body", "button", "error_data", "details",
]  # fmt: skip

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(
        ["", "\x00", "STOP", "START", "failed", "read", "9" * 40, "1e99", "\u0661", "wamid.x"]
    ),
)
json_values = st.recursive(
    hostile_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=4
        ),
    ),
    max_leaves=16,
)


def meta_delivery(wamid: str) -> dict:
    now = str(int(time.time()))
    return webhook_payload(
        {
            "contacts": [{"profile": {"name": "Ahmad"}, "wa_id": "60123456789"}],
            "statuses": [
                {"id": wamid, "status": "delivered", "timestamp": now},
                {
                    "id": wamid,
                    "status": "failed",
                    "timestamp": now,
                    "errors": [{"code": 131026, "title": "x", "error_data": {"details": "y"}}],
                },
            ],
            "messages": [
                {"from": "60123456789", "id": "wamid.in1", "timestamp": now, "type": "text",
                 "text": {"body": "STOP"}},
                {"from": "60123456789", "id": "wamid.in2", "timestamp": now, "type": "button",
                 "button": {"text": "START", "payload": "START"}},
            ],
        }
    )  # fmt: skip


def places(tree, path=()):
    """The path of every value in ``tree``, the tree itself first."""
    yield path
    items = (
        tree.items()
        if isinstance(tree, dict)
        else enumerate(tree)
        if isinstance(tree, list)
        else ()
    )
    for key, child in items:
        yield from places(child, (*path, key))


@st.composite
def hostile_deliveries(draw, wamid: str) -> bytes:
    kind = draw(st.sampled_from(["meta's, changed", "meta's, changed", "any JSON", "any bytes"]))
    if kind == "any bytes":
        return draw(st.binary(min_size=1, max_size=200))
    if kind == "any JSON":
        return json.dumps(draw(json_values)).encode()
    delivery = meta_delivery(wamid)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        inside = list(places(delivery))[1:]
        if not inside:  # an earlier change left nothing under the top: that is hostile enough
            break
        path = draw(st.sampled_from(inside))
        parent = delivery
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return json.dumps(delivery).encode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_hostile_signed_deliveries_never_give_a_server_error(whatsapp, run_worker, django_settings):
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="en"
    )
    run_worker()
    message = submission.whatsapp_messages.first()
    client = Client(raise_request_exception=False)
    secret = django_settings.WHATSAPP["APP_SECRET"]
    answers = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(body=hostile_deliveries(message.wamid))
    def post_it(body):
        WhatsAppMessage.objects.filter(pk=message.pk).update(state="sent", status_at=None)
        answer = client.post(
            URL,
            data=body,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=sign(body, secret),
        )
        assert answer.status_code in (200, 400, 503), body
        answers.add(answer.status_code)

    post_it()
    # Both ways were taken: deliveries read, and bodies refused.
    assert {200, 400} <= answers


@pytest.fixture
def django_settings(settings):
    return settings
