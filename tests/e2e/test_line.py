"""The phone line (tests/support/line.py) throttles, delays, drops and comes back, on raw TCP."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.line import PhoneLine


class CountingServer:
    """Reads until the client stops sending, then answers with the byte count and closes.
    ``resets`` counts connections the client side reset instead."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.resets = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._count, args=(connection,), daemon=True).start()

    def _count(self, connection: socket.socket) -> None:
        total = 0
        with connection:
            try:
                while data := connection.recv(65536):
                    total += len(data)
                connection.sendall(str(total).encode())
            except ConnectionResetError:
                self.resets += 1

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server() -> Iterator[CountingServer]:
    server = CountingServer()
    yield server
    server.close()


def send(line: PhoneLine, data: bytes) -> bytes:
    """Send ``data`` through the line and return the server's answer (its byte count)."""
    with socket.create_connection(("127.0.0.1", line.port), timeout=10) as client:
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        return client.recv(100)


def line_answers(line: PhoneLine) -> bool:
    try:
        return send(line, b"ping") == b"4"
    except OSError:
        # Reset, broken pipe, or (when the reset beats the shutdown) "not connected": a line
        # that is cut answers nothing, however the socket learns it.
        return False


def test_an_upload_goes_no_faster_than_the_line(server):
    with PhoneLine("127.0.0.1", server.port, up_bytes_per_second=50_000) as line:
        started = time.monotonic()
        answer = send(line, b"x" * 100_000)
        elapsed = time.monotonic() - started

    assert answer == b"100000"
    assert elapsed >= 1.5  # 2 s at 50 KB/s; the machine may be slow, never the line fast
    assert (line.bytes_up, line.bytes_down) == (100_000, 6)
    assert [(e.bytes_up, e.bytes_down) for e in line.exchanges] == [(100_000, 6)]


def test_connections_share_one_uplink(server):
    with PhoneLine("127.0.0.1", server.port, up_bytes_per_second=100_000) as line:
        answers = []
        senders = [
            threading.Thread(target=lambda: answers.append(send(line, b"x" * 50_000)))
            for _ in range(2)
        ]
        started = time.monotonic()
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=10)
        elapsed = time.monotonic() - started

    assert answers == [b"50000", b"50000"]
    assert elapsed >= 0.75  # 1 s for the two together, not 0.5 s each side by side


def test_latency_is_added_each_way(server):
    with PhoneLine("127.0.0.1", server.port, latency_seconds=0.2) as line:
        started = time.monotonic()
        assert send(line, b"ping") == b"4"
        elapsed = time.monotonic() - started

    assert elapsed >= 0.4


def test_a_cut_breaks_the_upload_under_way_and_refuses_new_connections_until_restored(server):
    with PhoneLine("127.0.0.1", server.port, up_bytes_per_second=50_000) as line:
        cut = line.cut_when_uploaded(20_000)
        client = socket.create_connection(("127.0.0.1", line.port), timeout=5)
        with client, pytest.raises((ConnectionResetError, BrokenPipeError)):
            started = time.monotonic()
            while time.monotonic() - started < 5:  # until the cut stops it
                client.sendall(b"x" * 4096)
            client.recv(100)

        assert cut.wait(1) and line.is_cut
        assert 20_000 <= line.bytes_up < 30_000
        assert not line_answers(line)
        assert line.refused == 1

        line.restore()
        assert line_answers(line)
    assert server.resets == 1
