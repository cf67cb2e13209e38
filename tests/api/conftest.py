"""A real API server on a free 127.0.0.1 port (uvicorn in a thread of the test process) over the
test's SQLite/PostgreSQL database, and a small urllib client."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from api.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class Client:
    base: str
    token: str | None = None

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token or self.token:
            req.add_header("Authorization", f"Bearer {token or self.token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 only
                return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.loads(resp.read() or b"null"))
        except urllib.error.HTTPError as err:
            return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, json.loads(err.read() or b"null"))


def serve(**settings: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(**settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def api_server(db_url: str) -> Iterator[Callable[..., Client]]:
    """``start(**create_app settings)`` → a client of a server over this test's database."""
    stops: list[Iterator[str]] = []

    def start(**settings: Any) -> Client:
        running = serve(**settings)
        stops.append(running)
        return Client(next(running))

    yield start
    for running in stops:
        next(running, None)


@pytest.fixture
def api(api_server: Callable[..., Client]) -> Client:
    return api_server()
