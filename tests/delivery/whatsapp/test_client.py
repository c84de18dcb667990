"""The Cloud API client (``tickets.delivery.whatsapp.client``) against the sandbox's fake, written
from Meta's reference: the body it sends, and the failure class of every documented answer, of an
undocumented one, of Meta's servers failing and of the line dropping."""

import pytest

from tickets.delivery.whatsapp.client import CloudApi
from tickets.outbound.errors import (
    AccountError,
    ConfigurationError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransientError,
    ProviderUnknownOutcome,
)


@pytest.fixture
def api(whatsapp, settings):
    return CloudApi(settings.WHATSAPP)


def send(api, **overrides):
    exchanges: list = []
    arguments = {
        "to": "60123456789",
        "template": "portal_receipt",
        "language": "ms",
        "parameters": ["REQ-7EB8RK", "StoreHub", "https://help.example.my/status/x/"],
        "exchanges": exchanges,
        **overrides,
    }
    return api.send_template(**arguments), exchanges


def test_a_template_message_as_meta_documents_it(api, whatsapp):
    wamid, exchanges = send(api)

    assert wamid.startswith("wamid.")
    (message,) = whatsapp.sent
    assert message["messaging_product"] == "whatsapp" and message["type"] == "template"
    assert message["template"]["language"] == {"code": "ms"}
    assert [p["text"] for p in message["template"]["components"][0]["parameters"]] == [
        "REQ-7EB8RK",
        "StoreHub",
        "https://help.example.my/status/x/",
    ]
    (exchange,) = exchanges
    assert exchange.http_status == 200
    assert exchange.request["headers"]["Authorization"] == "***"


def test_an_authentication_template_carries_its_code_for_the_copy_button(api, whatsapp):
    send(api, template="portal_access_code", parameters=["482913"], copy_code="482913")

    button = whatsapp.sent[0]["template"]["components"][1]
    assert button == {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "482913"}],
    }


@pytest.mark.parametrize(
    ("outcome", "failure", "code"),
    [
        ("130429", ProviderRateLimited, 130429),
        ("131056", ProviderRateLimited, 131056),
        ("131048", ProviderRateLimited, 131048),
        ("131026", ProviderRejected, 131026),
        ("131047", ProviderRejected, 131047),
        ("132000", ProviderRejected, 132000),
        ("132001", ProviderRejected, 132001),
        ("132015", ProviderRejected, 132015),
        ("100", ProviderRejected, 100),
        ("190", ConfigurationError, 190),
        ("133010", ConfigurationError, 133010),
        ("131031", AccountError, 131031),
        ("131000", ProviderTransientError, 131000),
        ("131016", ProviderTransientError, 131016),
        ("500", ProviderTransientError, None),
        ("503", ProviderTransientError, None),
        ("502", ProviderUnknownOutcome, None),
        ("drop", ProviderUnknownOutcome, None),
        ("nonjson", ProviderUnknownOutcome, None),
        ("redirect:http://127.0.0.1:9/elsewhere", ConfigurationError, None),
    ],
)
def test_each_answer_has_its_failure_class(api, sandbox, outcome, failure, code):
    sandbox.script("whatsapp", outcome)

    with pytest.raises(failure) as raised:
        send(api)

    assert getattr(raised.value, "meta_code", None) == code


def test_a_wrong_token_is_a_configuration_error(api, settings):
    api = CloudApi({**settings.WHATSAPP, "ACCESS_TOKEN": "EAAG-not-the-sandbox-s"})

    with pytest.raises(ConfigurationError, match="190"):
        send(api)


def test_a_body_the_reference_does_not_allow_is_refused_for_good(api):
    with pytest.raises(ProviderRejected, match="empty"):
        send(api, parameters=["REQ-7EB8RK", " ", "x"])


def test_the_token_never_reaches_a_stored_call(api, sandbox, settings):
    sandbox.script("whatsapp", "190")
    exchanges: list = []

    with pytest.raises(ConfigurationError) as raised:
        send(api, exchanges=exchanges)

    token = settings.WHATSAPP["ACCESS_TOKEN"]
    (exchange,) = exchanges
    assert exchange.http_status == 401
    assert token not in str(raised.value) + str(exchange.request) + exchange.response
