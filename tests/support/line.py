"""A phone's mobile-data line between a browser and a server: a TCP proxy on loopback.

Chromium's network emulation paces what the browser sends and receives, but it cannot drop a
connection half-way through an upload, and its bytes still cross loopback at full speed.
``PhoneLine`` sits between the browser and the web server and does what a phone's line does:

- Each direction has one token bucket shared by every connection (a phone has one uplink and one
  downlink), so any one connection, and all of them together, stay within the rate. Bytes move
  in chunks of at most a few KB, so the rate is smooth at every instant, not just on average.
- Every chunk arrives ``latency_seconds`` after it passed the bucket (one way), without lowering
  the throughput: the line is a delay line, not a wait before each chunk.
- ``cut()`` drops the line: every open connection is reset (RST) on both sides at once, bytes
  still on the line are lost, and every new connection is reset as soon as it is accepted, until
  ``restore()``. A reset from either end reaches the other end after the bytes sent before it.
- The counters count bytes delivered to the far side: ``bytes_up`` reached the server,
  ``bytes_down`` reached the browser. ``exchanges`` splits them per request and answer.

On a throttled direction the receiving socket has a small buffer, and the browser's side takes
a 1460-byte MSS as on a real network, so that the sender is held back by the line and not by
loopback's megabytes of buffer. The browser's own send buffer still takes up to a few hundred KB
ahead of the line: a page's upload progress runs that far ahead unless ``emulate_mobile_network
(page, behind_line=True)`` also paces the upload inside Chromium.

Standard library only; one accepting thread, and four threads per connection (a reader and a
writer each way). A reader takes a chunk only once the bucket lets it through, so a slow line
slows the sender as TCP would.
"""

import contextlib
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

# Lighthouse's mobile profile ("Slow 4G"): 1.6 Mbps down, 750 kbps up, 150 ms round trip.
# The keys are PhoneLine's keyword arguments: PhoneLine(host, port, **MOBILE_PROFILE).
MOBILE_PROFILE: Mapping[str, float] = MappingProxyType(
    {
        "up_bytes_per_second": 750e3 / 8,
        "down_bytes_per_second": 1.6e6 / 8,
        "latency_seconds": 0.150 / 2,
    }
)

# How often a blocked thread looks up to see whether its connection was dropped.
POLL_SECONDS = 0.1
BROWSER_SIDE_MSS = 1460
THROTTLED_RECEIVE_BUFFER = 4 * 1024
# Bytes in flight inside the line per direction of one connection, beyond the latency.
QUEUE_CHUNKS = 256
_EOF = b""
# Put in the queue where the sender reset its connection: the far side is reset once the bytes
# sent before it have been delivered, as on a real network.
_RESET = None


def chunk_size(rate: float | None) -> int:
    """About 50 chunks a second on a throttled line, between 512 bytes and 4 KB."""
    if rate is None:
        return 64 * 1024
    return int(min(4096, max(512, rate / 50)))


class _Bucket:
    """A token bucket kept as the time the line is next free; one per direction, shared.

    Each caller reserves its chunk's time on the line in turn, so callers are served first come,
    first served; after an idle spell at most one chunk goes at once.
    """

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.burst_seconds = chunk_size(rate) / rate if rate else 0.0
        self.free_at = 0.0
        self.lock = threading.Lock()

    def reserve(self, size: int) -> float:
        """The monotonic time at which ``size`` bytes will have passed."""
        now = time.monotonic()
        if not self.rate:
            return now
        with self.lock:
            self.free_at = max(self.free_at, now - self.burst_seconds) + size / self.rate
            return self.free_at


@dataclass
class Exchange:
    """One request and its answer on one connection: the bytes that went up from the request's
    first byte until the answer began, then the bytes of the answer. ``request_line`` is the
    first line the browser sent ("POST /onecloud/ HTTP/1.1")."""

    connection: int
    request_line: str
    started: float
    bytes_up: int = 0
    bytes_down: int = 0


def _reset(sock: socket.socket) -> None:
    """Close with RST: no FIN handshake, and unread or unsent data is thrown away."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Connection:
    """One browser connection and its connection to the server, carried both ways."""

    def __init__(self, line: "PhoneLine", number: int, client: socket.socket) -> None:
        self.line = line
        self.number = number
        self.client = client
        self.server: socket.socket | None = None
        self.dropped = threading.Event()
        self.lock = threading.Lock()
        self.threads_left = 4
        self.exchange: Exchange | None = None

    def start(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if self.line._down.rate:
                server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, THROTTLED_RECEIVE_BUFFER)
            server.settimeout(5)
            server.connect((self.line.target_host, self.line.target_port))
        except OSError:
            server.close()
            _reset(self.client)
            self.line._forget(self)
            return
        if self.dropped.is_set():  # cut while connecting
            _reset(server)
            _reset(self.client)
            self.line._forget(self)
            return
        self.server = server
        for sock in (self.client, server):
            sock.settimeout(POLL_SECONDS)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        directions = (
            ("up", self.client, server, self.line._up, self.line.latency_seconds),
            ("down", server, self.client, self.line._down, self.line.latency_seconds),
        )
        for name, source, target, bucket, latency in directions:
            chunks: queue.Queue[tuple[float, bytes | None]] = queue.Queue(QUEUE_CHUNKS)
            for role, work, args in (
                ("read", self._read, (source, bucket, chunks)),
                ("write", self._write, (name, target, latency, chunks)),
            ):
                threading.Thread(
                    target=self._run,
                    args=(work, *args),
                    name=f"phone-line-{self.number}-{name}-{role}",
                    daemon=True,
                ).start()

    def drop(self) -> None:
        """Reset both sides now; bytes still on the line are lost."""
        if self.dropped.is_set():
            return
        self.dropped.set()
        for sock in (self.client, self.server):
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # Wakes a reader blocked in recv without sending anything; the RST goes when
                # the last thread closes the socket.
                sock.shutdown(socket.SHUT_RD)

    def _run(self, work: Callable[..., None], *args: Any) -> None:
        try:
            work(*args)
        except OSError:
            # A reset or a broken pipe on either side: the other side is reset too.
            self.drop()
        finally:
            with self.lock:
                self.threads_left -= 1
                last = self.threads_left == 0
            if last:
                for sock in (self.client, self.server):
                    if sock is not None:
                        sock.close()
                self.line._forget(self)

    def _read(self, source: socket.socket, bucket: _Bucket, chunks: queue.Queue) -> None:
        size = chunk_size(bucket.rate)
        while not self.dropped.is_set():
            try:
                data = source.recv(size)
            except TimeoutError:
                continue
            except ConnectionResetError:
                data = _RESET
            if self.dropped.is_set():
                return
            passed_at = bucket.reserve(len(data)) if data else time.monotonic()
            # Reading the next chunk only once this one has passed is what slows the sender.
            if self.dropped.wait(max(0.0, passed_at - time.monotonic())):
                return
            while not self.dropped.is_set():
                try:
                    chunks.put((passed_at, data), timeout=POLL_SECONDS)
                    break
                except queue.Full:
                    continue
            if not data:
                return

    def _write(
        self, direction: str, target: socket.socket, latency: float, chunks: queue.Queue
    ) -> None:
        while not self.dropped.is_set():
            try:
                passed_at, data = chunks.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if self.dropped.wait(max(0.0, passed_at + latency - time.monotonic())):
                return
            if data is _RESET:
                self.drop()
                return
            if data == _EOF:
                # The sender closed its side: pass the half-close on.
                target.shutdown(socket.SHUT_WR)
                return
            view = memoryview(data)
            while view and not self.dropped.is_set():
                try:
                    sent = target.send(view)
                except TimeoutError:
                    continue
                self.line._count(self, direction, view[:sent])
                view = view[sent:]


class PhoneLine:
    """A throttled, delayed line that can be cut, from ``url`` to ``target_host:target_port``.

    Rates are bytes per second (None: as fast as loopback); ``latency_seconds`` is one way.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        up_bytes_per_second: float | None = None,
        down_bytes_per_second: float | None = None,
        latency_seconds: float = 0.0,
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.latency_seconds = latency_seconds
        self._up = _Bucket(up_bytes_per_second)
        self._down = _Bucket(down_bytes_per_second)
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._opened = 0
        self._is_cut = False
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._port = 0
        self._acceptor: threading.Thread | None = None
        self._timers: list[threading.Timer] = []
        self._cut_triggers: list[tuple[int, threading.Event, float | None]] = []
        self._bytes_up = 0
        self._bytes_down = 0
        self._exchanges: list[Exchange] = []
        self._refused = 0

    # --- life ------------------------------------------------------------------------------
    def start(self) -> "PhoneLine":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Set on the listener so that the handshake already advertises them.
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, BROWSER_SIDE_MSS)
        if self._up.rate:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, THROTTLED_RECEIVE_BUFFER)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(POLL_SECONDS)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, name="phone-line", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, reset every open connection and cancel pending cuts and restores."""
        self._stopping.set()
        with self._lock:
            timers, self._timers = self._timers, []
            connections = list(self._connections)
            self._cut_triggers.clear()
        for timer in timers:
            timer.cancel()
        for connection in connections:
            connection.drop()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> "PhoneLine":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the line is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- dropping the line -----------------------------------------------------------------
    def cut(self, *, restore_after: float | None = None) -> None:
        """Drop the line: reset every open connection, and reset new ones until ``restore()``
        (called by itself after ``restore_after`` seconds when given)."""
        with self._lock:
            self._is_cut = True
            connections = list(self._connections)
        for connection in connections:
            connection.drop()
        if restore_after is not None:
            self._later(restore_after, self.restore)

    def restore(self) -> None:
        """The line is back: new connections go through again."""
        with self._lock:
            self._is_cut = False

    @property
    def is_cut(self) -> bool:
        return self._is_cut

    def cut_after(self, seconds: float, *, restore_after: float | None = None) -> threading.Event:
        """Cut the line ``seconds`` from now; the event is set once it is cut."""
        done = threading.Event()

        def fire() -> None:
            self.cut(restore_after=restore_after)
            done.set()

        self._later(seconds, fire)
        return done

    def cut_when_uploaded(
        self, n_bytes: int, *, restore_after: float | None = None
    ) -> threading.Event:
        """Cut the line once ``n_bytes`` more have reached the server (counted from now, all
        connections together); the event is set once it is cut. On the mobile profile, "3 s
        into sending the photo" is ``cut_when_uploaded(int(3 * MOBILE_PROFILE[
        "up_bytes_per_second"]))`` armed just before the click."""
        done = threading.Event()
        with self._lock:
            self._cut_triggers.append((self._bytes_up + n_bytes, done, restore_after))
        return done

    # --- counters --------------------------------------------------------------------------
    @property
    def bytes_up(self) -> int:
        """Bytes that reached the server since the line started."""
        return self._bytes_up

    @property
    def bytes_down(self) -> int:
        """Bytes that reached the browser since the line started."""
        return self._bytes_down

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request so far with its bytes each way, in the order they began (a copy)."""
        with self._lock:
            return [Exchange(**vars(exchange)) for exchange in self._exchanges]

    @property
    def last_exchange(self) -> Exchange | None:
        """The request that began last (a copy); while a photo goes up, usually that one."""
        with self._lock:
            return Exchange(**vars(self._exchanges[-1])) if self._exchanges else None

    def uploads(self, request_line_start: str = "POST ") -> list[Exchange]:
        """The exchanges whose request line starts so (by default every POST), oldest first."""
        return [e for e in self.exchanges if e.request_line.startswith(request_line_start)]

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    @property
    def refused(self) -> int:
        """Connections reset on arrival because the line was cut."""
        return self._refused

    # --- inside ----------------------------------------------------------------------------
    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                refuse = self._is_cut or self._stopping.is_set()
                if refuse:
                    self._refused += 1
                else:
                    self._opened += 1
                    connection = _Connection(self, self._opened, client)
                    self._connections.add(connection)
            if refuse:
                _reset(client)
            else:
                connection.start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _later(self, seconds: float, action) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    def _count(self, connection: _Connection, direction: str, data: Any) -> None:
        fire = []
        with self._lock:
            if direction == "up":
                self._bytes_up += len(data)
                exchange = connection.exchange
                if exchange is None or exchange.bytes_down:
                    first_line = bytes(data[:200]).split(b"\r\n", 1)[0]
                    exchange = Exchange(
                        connection=connection.number,
                        request_line=first_line.decode("latin-1"),
                        started=time.monotonic(),
                    )
                    connection.exchange = exchange
                    self._exchanges.append(exchange)
                exchange.bytes_up += len(data)
                fire = [t for t in self._cut_triggers if self._bytes_up >= t[0]]
                self._cut_triggers = [t for t in self._cut_triggers if t not in fire]
            else:
                self._bytes_down += len(data)
                if connection.exchange is not None:
                    connection.exchange.bytes_down += len(data)
        for _, done, restore_after in fire:
            self.cut(restore_after=restore_after)
            done.set()


def emulate_mobile_network(page: Any, *, behind_line: bool = False) -> Any:
    """Apply Lighthouse's mobile profile to a Playwright page with Chromium's own network
    emulation, and return the CDP session (keep it referenced while the emulation is wanted).

    ``behind_line``: the page talks to a PhoneLine on MOBILE_PROFILE, which already throttles
    both ways and adds the latency; Chromium then paces only the upload, at the same rate.
    """
    # Behind a line, the line is what throttles (and can drop) the upload on the wire. Chromium
    # paces it too, inside the browser, so that the upload progress a page sees follows the line
    # instead of running into the socket's buffers; two equal rates in series cost no time
    # (500 KB at 94 KB/s: 5.4 s through the line alone, 5.5 s with both). Latency and downloads
    # come from one of the two only, or the round trip would count twice.
    session = page.context.new_cdp_session(page)
    _navigations_tried_again_when_stalled(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0 if behind_line else MOBILE_PROFILE["latency_seconds"] * 2 * 1000,
            "downloadThroughput": -1 if behind_line else MOBILE_PROFILE["down_bytes_per_second"],
            "uploadThroughput": MOBILE_PROFILE["up_bytes_per_second"],
        },
    )
    return session


# Chromium's emulated network now and then never completes a navigation's load (Playwright
# #22676: an interplay of Network.emulateNetworkConditions, not the page's): seen twice in the
# PostgreSQL pass of the test command, a page's first navigation still loading after 60 s.
STALLED_NAVIGATION_MS = 30_000


def _navigations_tried_again_when_stalled(page: Any) -> None:
    """``page.goto`` tried once more when the emulation stalls it. A page that does not load
    fails the second time as well."""
    goto = page.goto

    def goto_again_when_stalled(url: str, **options: Any) -> Any:
        try:
            return goto(url, **{"timeout": STALLED_NAVIGATION_MS, **options})
        except PlaywrightTimeoutError:
            print(f"\nnavigation to {url} stalled under the emulated network; tried again")
            return goto(url, **options)

    page.goto = goto_again_when_stalled
