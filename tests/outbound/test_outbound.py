"""A forward's outbound path, through each provider's client and the shared HTTP layer, against
the loopback sandbox: a redirect is never followed, and credentials in a provider's address are
never stored."""

import http.server
import threading

import pytest

from tests.providers import PROVIDERS
from tests.support.factories import CUSTOMER_DATA, set_provider_options, storehub_data
from tests.support.submissions import refreshed
from tickets.customer.intake import submission_create
from tickets.models import ErrorClass, ProviderCall, Status

pytestmark = pytest.mark.django_db(transaction=True)


class Watcher(http.server.BaseHTTPRequestHandler):
    """A loopback server standing for an internal address: it counts who reaches it."""

    hits: list[str] = []

    def do_GET(self):
        Watcher.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"secret")

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def internal_address():
    Watcher.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Watcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/latest/meta-data/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirect_is_refused_and_nothing_is_fetched(
    sandbox, run_worker, internal_address, provider
):
    sandbox.script(provider, f"redirect:{internal_address}")
    submission = submission_create(provider=provider, data=CUSTOMER_DATA[provider]())

    run_worker()

    submission = refreshed(submission)
    assert Watcher.hits == []
    assert submission.status == Status.HELD
    assert submission.last_error_class == ErrorClass.CONFIGURATION
    assert "redirects are never followed" in submission.last_error
    call = submission.calls.filter(kind=ProviderCall.Kind.TICKET).get()
    assert call.http_status == 307
    assert "secret" not in call.response


def test_credentials_in_a_provider_url_are_never_stored(sandbox, settings, run_worker):
    url = settings.TICKET_PROVIDERS["storehub"]["OPTIONS"]["url"]
    with_credentials = url.replace("http://", "http://portal:hunter2@")
    set_provider_options(settings, "storehub", url=with_credentials)
    sandbox.script("storehub", "500")
    submission = submission_create(provider="storehub", data=storehub_data())

    run_worker()

    calls = list(refreshed(submission).calls.values_list("url", "message", "response"))
    assert len(calls) == 2
    for stored in calls:
        assert "hunter2" not in str(stored)
    assert calls[0][0] == url + "/api/ticket/create"
