"""Orders/s created over HTTP (``oms api serve`` in its own process) against the same service
called in-process, on SQLite and PostgreSQL; no oversell; no duplicate under retried keys.

Per backend, on a fresh stocked database (the workload of ``bench/orders.py``: 200 SKUs, orders
of 1–4 lines):

* ``service_per_s`` — ``create_order`` in this process with 1 and 8 threads (the ceiling);
* ``create_order_per_s`` and ``p95_ms`` — ``POST /orders`` with 1 and 8 concurrent HTTP
  clients (keep-alive connections, one thread each) to a real uvicorn server process;
* ``api_vs_service_8`` — the 8-client rate as a share of the 8-thread service rate;
* ``oversold`` — breaches of the database invariants afterwards (``core.invariants``: ledger =
  on_hand, reserved = Σ line reservations, 0 ≤ reserved ≤ on_hand …); must be 0;
* ``duplicate_orders`` — every request sent twice at once with the same ``Idempotency-Key``
  (a client retrying before the first answer came back): orders created beyond one per key,
  plus keys whose two answers name different orders; must be 0.

Prints one JSON line.

    python bench/api.py [--orders 600] [--keys 200] [--pg-url postgresql+psycopg://root@127.0.0.1:5432/postgres]
    python bench/api.py --sqlite-only | --pg-only
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.schemas import OrderIn  # noqa: E402
from bench import webhooks as webhook_bench  # noqa: E402
from bench.orders import CLERK, _fresh_database, _order, _run_service  # noqa: E402
from core import db, invariants  # noqa: E402
from core.permissions import SYSTEM  # noqa: E402
from core.services import api_tokens, orders  # noqa: E402
from core.services.orders import OrderInput  # noqa: E402

CLIENTS = (1, 8)
WEBHOOK_EVENTS = 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str) -> Iterator[tuple[str, int]]:
    """``oms api serve`` on a free port over ``url`` (no rate limit: the bench measures the work)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "OMS_API_RATE": "1000000",
           "OMS_API_BURST": "1000000"}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "api", "serve", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the API server did not start") from None
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(15)


def _body(data: OrderInput) -> bytes:
    """The order as a client sends it: the API's fields that are set (amounts as strings)."""
    return json.dumps({k: v for k, v in asdict(data).items() if k in OrderIn.model_fields and v is not None},
                      default=str).encode()


def _post_all(address: tuple[str, int], token: str, work: queue.Queue[tuple[str | None, bytes]],
              clients: int) -> tuple[float, list[float], list[tuple[str | None, int, str]]]:
    """Drain ``work`` with ``clients`` threads: (requests/s, latencies in ms, (key, status, number))."""
    latencies: list[float] = []
    answers: list[tuple[str | None, int, str]] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(*address, timeout=60)
        while True:
            try:
                key, body = work.get_nowait()
            except queue.Empty:
                break
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            if key:
                headers["Idempotency-Key"] = key
            start = time.perf_counter()
            conn.request("POST", "/orders", body, headers)
            resp = conn.getresponse()
            reply = json.loads(resp.read())
            took = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(took)
                answers.append((key, resp.status, reply.get("number", reply.get("code", ""))))
        conn.close()

    total = work.qsize()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return total / (time.perf_counter() - start), latencies, answers


def _p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1)


def _order_count(url: str) -> int:
    with db.transaction(url, readonly=True) as s:
        return len(orders.search_orders(SYSTEM, limit=10**7, session=s))


def _webhook_deliveries(url: str) -> dict[str, Any]:
    """``webhook_deliveries_per_s``: signed deliveries of ``WEBHOOK_EVENTS`` events to a local
    receiver through the worker's delivery code (``bench/webhooks.py``), on the same database."""
    os.environ["DATABASE_URL"] = url
    figures = webhook_bench.measure(WEBHOOK_EVENTS)
    return {"webhook_deliveries_per_s": figures["webhook_deliveries_per_s"],
            "webhook_all_verified": figures["all_verified"], "webhook_duplicates": figures["duplicates"]}


def _backend(url: str, args: argparse.Namespace) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = url
    token = api_tokens.create_token("bench", "clerk", ["orders:write"], SYSTEM).token
    _run_service(url, 100, 1, args.lines_max)  # warm-up: statement caches, connections
    service = {str(c): round(_run_service(url, args.orders, c, args.lines_max)) for c in CLIENTS}
    rates: dict[str, float] = {}
    p95: dict[str, float] = {}
    failed = 0
    all_answers: list[tuple[str | None, int, str]] = []
    with _server(url) as address:
        for clients in CLIENTS:
            work: queue.Queue[tuple[str | None, bytes]] = queue.Queue()
            for i in range(args.orders if clients > 1 else args.orders // 2):
                work.put((None, _body(_order(random.Random(clients * 7_000_001 + i), args.lines_max))))
            warm: queue.Queue[tuple[str | None, bytes]] = queue.Queue()
            for i in range(20):
                warm.put((None, _body(_order(random.Random(i), args.lines_max))))
            _post_all(address, token, warm, clients)
            rate, latencies, answers = _post_all(address, token, work, clients)
            rates[str(clients)], p95[str(clients)] = round(rate), _p95(latencies)
            failed += sum(status != 201 for _, status, _ in answers)
            all_answers += answers
        before = _order_count(url)
        retried: queue.Queue[tuple[str | None, bytes]] = queue.Queue()
        for i in range(args.keys):
            body = _body(_order(random.Random(9_000_001 + i), args.lines_max))
            retried.put((f"retry-{i}", body))
            retried.put((f"retry-{i}", body))  # the retry, sent while the first is in flight
        _, _, answers = _post_all(address, token, retried, 8)
        all_answers += answers
    created = _order_count(url) - before
    numbers: dict[str | None, set[str]] = {}
    for key, status, number in answers:
        if status in (200, 201):
            numbers.setdefault(key, set()).add(number)
    with db.transaction(url, readonly=True) as s:
        breaches = invariants.check(session=s)
    return {
        "create_order_per_s": rates, "p95_ms": p95, "service_per_s": service,
        "api_vs_service_8": round(rates["8"] / service["8"], 2),
        "failed_requests": failed + sum(status not in (200, 201) for _, status, _ in answers),
        "failures": sorted({f"{status} {code}" for _, status, code in all_answers if status not in (200, 201)}),
        "oversold": len(breaches), "duplicate_orders": max(0, created - args.keys)
        + sum(len(n) > 1 for n in numbers.values()),
        **_webhook_deliveries(url),
    }


def _measure(args: argparse.Namespace, pg_url: str | None) -> dict[str, Any]:
    if pg_url:
        os.environ["DATABASE_URL"] = pg_url
    else:
        os.environ.pop("DATABASE_URL", None)
    url, cleanup = _fresh_database()
    try:
        return _backend(url, args)
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=600, help="orders per measurement (8 clients; 1 client: half)")
    parser.add_argument("--keys", type=int, default=200, help="idempotency keys, each sent twice at once")
    parser.add_argument("--lines-max", type=int, default=4)
    parser.add_argument("--pg-url", default=os.environ.get("OMS_BENCH_PG_URL",
                                                           "postgresql+psycopg://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg-only", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "api", "orders": args.orders, "keys": args.keys,
                              "lines_per_order": f"1-{args.lines_max}", "actor": CLERK.role}
    if not args.pg_only:
        result["sqlite"] = _measure(args, None)
    if not args.sqlite_only:
        result["postgresql"] = _measure(args, args.pg_url)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
