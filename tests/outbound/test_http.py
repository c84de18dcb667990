"""What the shared HTTP layer keeps of a call: never a secret, whatever a provider names it."""

import http.server
import json
import threading
from datetime import UTC, datetime

import pytest

from tickets.outbound.errors import ProviderUnknownOutcome
from tickets.outbound.http import (
    REDACTED,
    HttpClient,
    outbound_url_problem,
    parse_retry_after,
    redact,
    safe_url,
)


@pytest.mark.parametrize(
    "key",
    [
        "Authorization",
        "authorization",
        "X-Api-Key",
        "api_key",
        "apiKey",
        "token",
        "accessToken",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "client_secret",
    ],
)
def test_secret_looking_keys_are_redacted_at_any_depth(key):
    stored = redact({"headers": {key: "s3cret"}, "body": [{"nested": {key: "s3cret"}}]})

    assert stored == {"headers": {key: REDACTED}, "body": [{"nested": {key: REDACTED}}]}


def test_ordinary_fields_are_kept():
    body = {"Name": "Ahmad", "Phone": "60123456789", "subject": "Printer"}

    assert redact(body) == body


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://portal:hunter2@api.example.com/x", "https://api.example.com/x"),
        ("https://token@api.example.com:8443/x", "https://api.example.com:8443/x"),
        (
            "https://api.example.com/x?access_token=abc&page=2&API-KEY=k",
            "https://api.example.com/x?access_token=***&page=2&API-KEY=***",
        ),
        ("https://api.example.com/x#secret-fragment", "https://api.example.com/x"),
    ],
)
def test_urls_are_stored_without_credentials(url, stored):
    assert safe_url(url) == stored


@pytest.mark.parametrize(
    ("url", "on_loopback_allowed", "refused"),
    [
        ("https://api.example.com", False, False),
        ("https://127.0.0.1:8443", False, False),
        ("http://api.example.com", False, True),
        ("http://127.0.0.1:8001", False, True),
        # DEBUG: plain http only to this machine (the sandbox).
        ("http://127.0.0.1:8001", True, False),
        ("http://localhost:8001", True, False),
        ("http://[::1]:8001", True, False),
        ("http://api.example.com", True, True),
        ("http://10.0.0.5", True, True),
        ("ftp://api.example.com", True, True),
        ("api.example.com/ticket", True, True),
    ],
)
def test_only_https_is_called_except_loopback_in_debug(url, on_loopback_allowed, refused):
    problem = outbound_url_problem("X_URL", url, allow_http_on_loopback=on_loopback_allowed)

    assert bool(problem) is refused
    if refused:
        assert problem.startswith("X_URL ")


NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120),
        (" 7 ", 7),
        ("Tue, 24 Nov 2026 09:02:00 GMT", 120),
        ("Tue, 24 Nov 2026 08:00:00 GMT", 0),  # already past: go now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


class EchoingProvider(http.server.BaseHTTPRequestHandler):
    """A provider that puts credentials in its answer, as some token endpoints and gateways do."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {"ticketId": 7, "session": {"accessToken": "eyJ.secret", "Refresh-Token": "r1"}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_secret_looking_keys_in_an_answer_are_stored_redacted():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoingProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exchanges = []
    try:
        reply = HttpClient(connect_timeout=2, read_timeout=2).post(
            url=f"http://user:pw@127.0.0.1:{server.server_address[1]}/api/ticket/create",
            kind="ticket",
            headers={"X-Api-Key": "k-123"},
            exchanges=exchanges,
            data={"client_secret": "s-456", "name": "Siti"},
        )
    finally:
        server.shutdown()
        server.server_close()

    [exchange] = exchanges
    assert reply.json["session"]["accessToken"] == "eyJ.secret"  # the provider code sees it all
    stored = json.dumps([exchange.url, exchange.request, exchange.response])
    for secret in ("eyJ.secret", "r1", "k-123", "s-456", "pw"):
        assert secret not in stored
    assert "Siti" in stored


class ParrotProvider(http.server.BaseHTTPRequestHandler):
    """A provider that repeats the credentials it was sent, under ordinary keys and in text."""

    def do_POST(self):
        sent = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        key = self.headers["Authorization"].removeprefix("Bearer ")
        body = json.dumps({"message": f"key {key} is not valid for this store", "echo": sent})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def test_secrets_a_provider_echoes_under_ordinary_keys_are_never_seen_past_the_call():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ParrotProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exchanges = []
    try:
        reply = HttpClient(connect_timeout=2, read_timeout=2).post(
            url=f"http://127.0.0.1:{server.server_address[1]}/api/ticket/create",
            kind="ticket",
            headers={"Authorization": "Bearer tk_live_5f2a9c"},
            exchanges=exchanges,
            json_body={"name": "Siti", "auth": {"password": "hunter2-long"}},
        )
    finally:
        server.shutdown()
        server.server_close()

    [exchange] = exchanges
    # Neither the stored call nor what the provider's code reads (and may turn into a failure
    # text or a log line) carries them; the rest of the answer is as it came.
    for seen in (exchange.response, reply.text, json.dumps(reply.json)):
        assert "tk_live_5f2a9c" not in seen
        assert "hunter2-long" not in seen
        assert "Siti" in seen
    assert reply.json["message"] == "key *** is not valid for this store"


# --- TLS ------------------------------------------------------------------------------------
@pytest.fixture
def tls_certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted by requests for this test only."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))
    return cert_file, key_file


def test_a_tls_failure_after_the_answer_began_is_an_unknown_outcome(tls_certificate):
    """The request went out and the provider had begun to answer: it may have the ticket."""
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, tls_certificate))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def provider() -> None:
        raw, _ = listener.accept()
        with context.wrap_socket(raw, server_side=True) as connection:
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"ticketId": '
            )
            # Then bytes that are no TLS record at all: the encrypted stream breaks mid-answer.
            socket.socket.sendall(connection, b"\x17\x03\x03\x00\x10" + b"\x00" * 16)
            connection.recv(1)

    threading.Thread(target=provider, daemon=True).start()
    exchanges = []
    with pytest.raises(ProviderUnknownOutcome):
        HttpClient(connect_timeout=2, read_timeout=2).post(
            url=f"https://127.0.0.1:{port}/api/ticket/create",
            kind="ticket",
            headers={},
            exchanges=exchanges,
            json_body={"fullName": "Agung"},
        )
    listener.close()
    [call] = exchanges
    assert call.kind == "ticket" and call.url.startswith("https://127.0.0.1:")
