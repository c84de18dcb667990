"""Clients that send a form body one byte at a time, and the form page timed beside them."""

import socket
import statistics
import threading
import time
from urllib.parse import urlsplit

import requests


class DrippingClients:
    """``count`` connections, each posting a form whose body trickles in a byte a second.

    Each holds a gunicorn thread for as long as it drips when nothing buffers the body in front.
    """

    def __init__(self, base_url: str, count: int, *, path: str = "/onecloud/") -> None:
        address = urlsplit(base_url)
        self.peer = (address.hostname, address.port)
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        ).encode()
        self.count = count
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        self.dripper = threading.Thread(target=self._drip, daemon=True)

    def __enter__(self) -> "DrippingClients":
        for _ in range(self.count):
            connection = socket.create_connection(self.peer, timeout=5)
            connection.sendall(self.head)
            self.sockets.append(connection)
        self.dripper.start()
        time.sleep(1.5)  # every connection has started its body before the page is timed
        return self

    def _drip(self) -> None:
        while not self.stopped.wait(1.0):
            for connection in list(self.sockets):
                try:
                    connection.sendall(b"a")
                except OSError:
                    self.sockets.remove(connection)

    @property
    def still_dripping(self) -> int:
        return len(self.sockets)

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.dripper.join()
        for connection in self.sockets:
            connection.close()


def form_page_times(url: str, samples: int, *, give_up_after: float = 20.0) -> list[float]:
    """Seconds each of ``samples`` form page loads took, one after another. A page that does not
    answer within ``give_up_after`` seconds fails: the web is starved, not slow."""
    times = []
    for _ in range(samples):
        started = time.monotonic()
        response = requests.get(url, timeout=give_up_after)
        assert response.status_code == 200, response.status_code
        times.append(time.monotonic() - started)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]
