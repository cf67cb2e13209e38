"""A real webhook receiver: an ``http.server`` on a free 127.0.0.1 port in a thread, verifying
each request's signature the way docs/api.md tells integrators to (its own code, not the
sender's), recording what arrived, and answering from a script (status codes, or ``"drop"``:
close the connection without an answer). Used by the webhook tests and ``bench/webhooks.py``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from core.timeutil import utcnow

TOLERANCE = 300  # seconds a signature's timestamp may be off


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: int) -> bool:
    """The docs' verification: HMAC-SHA256 over ``timestamp.body``, compared in constant time,
    and a timestamp within five minutes (an old, replayed request is refused)."""
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature) and abs(now - int(timestamp)) <= TOLERANCE


@dataclass
class Received:
    path: str
    event_id: str
    event: str
    attempt: int
    verified: bool
    body: dict[str, Any]
    answer: int | str


@dataclass
class Receiver:
    """``secrets[path]``: the secret each path verifies with; ``script[path]``: answers to give
    in turn (then 200). A request failing verification is answered 401."""

    secrets: dict[str, str] = field(default_factory=dict)
    script: dict[str, list[int | str]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self, path: str | None = None) -> list[Received]:
        """Requests answered 2xx (to ``path``), in arrival order."""
        return [r for r in self.received if r.answer == 200 and (path is None or r.path == path)]

    def _answer(self, path: str, verified: bool) -> int | str:
        if not verified:
            return 401
        with self.lock:
            planned = self.script.get(path)
            return planned.pop(0) if planned else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as most receivers
        # one write per answer, sent at once: headers and body in separate small writes meet
        # Nagle's algorithm and the client's delayed ACK (40 ms per request)
        wbufsize = 64 * 1024
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's hook
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            now = int(utcnow().replace(tzinfo=dt.UTC).timestamp())
            ok = verify(receiver.secrets.get(self.path, ""), self.headers.get("X-OMS-Timestamp", "0"), raw,
                        self.headers.get("X-OMS-Signature", ""), now)
            answer = receiver._answer(self.path, ok)
            with receiver.lock:
                receiver.received.append(Received(
                    self.path, self.headers.get("X-OMS-Event-Id", ""), self.headers.get("X-OMS-Event", ""),
                    int(self.headers.get("X-OMS-Delivery-Attempt", "0")), ok, json.loads(raw), answer))
            if answer == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            assert isinstance(answer, int)
            text = b"ok" if answer == 200 else f"error {answer}".encode()
            self.send_response(answer)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


@contextmanager
def running(receiver: Receiver | None = None) -> Iterator[Receiver]:
    receiver = receiver or Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
