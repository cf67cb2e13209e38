"""Webhook delivery speed: ``--events`` events queued through ``core.events.publish`` (an
order.created-sized payload), then delivered by the worker's real pass
(``core.services.webhook_delivery.deliver_due``: claim, sign, POST over keep-alive, record each
outcome in its own transaction) to a local receiver on 127.0.0.1 that verifies every signature
(tests/webhook_receiver.py). With ``--subscriptions`` > 1 every event goes to each of them and
they are served in parallel; one subscription's events go one at a time, in order.

Uses a fresh SQLite file, or a throw-away PostgreSQL database when DATABASE_URL points to a
server. Prints one JSON line; :func:`measure` is what ``bench/api.py`` folds in.

    python bench/webhooks.py [--events 2000] [--subscriptions 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import fresh_database  # noqa: E402
from core import db, events  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.services import webhook_delivery, webhooks  # noqa: E402
from tests.webhook_receiver import running  # noqa: E402

ADMIN = Actor("bench", "admin")
BATCH = 500  # events queued per transaction


def _payload(i: int) -> dict[str, Any]:
    """About the size of an order.created payload with two lines."""
    line = {"sku": "SKU-0001", "qty": 2, "unit_price": "49.90", "discount": "0.00", "line_total": "99.80",
            "warehouse": "SH", "qty_shipped": 0, "qty_returned": 0}
    return {"order": {"number": f"SO20261207-{i:06d}", "channel": "TMALL", "external_ref": f"tb{i:09d}",
                      "status": "confirmed", "total": "199.60", "currency": "CNY",
                      "placed_at": "2026-12-07T08:00:00Z", "ship_to": {"province": "上海", "city": "上海市"},
                      "lines": [{"line_no": n, **line} for n in (1, 2)]}}


def measure(n_events: int = 2000, subscriptions: int = 1) -> dict[str, Any]:
    """Deliver ``n_events`` × ``subscriptions`` webhooks in the database of ``DATABASE_URL``;
    the figures (``webhook_deliveries_per_s``) and the receiver's checks."""
    with running() as receiver:
        for k in range(subscriptions):
            path = f"/bench{k}"
            receiver.secrets[path] = webhooks.create_subscription(receiver.url(path), ["order.created"], ADMIN,
                                                                  name=f"bench-{k}").secret
        for start in range(0, n_events, BATCH):
            with db.transaction() as s:
                for i in range(start, min(n_events, start + BATCH)):
                    events.publish(s, "order.created", _payload(i))
        expected = n_events * subscriptions
        began = time.perf_counter()
        passes = 0
        while len(receiver.received) < expected and passes < expected:
            webhook_delivery.deliver_due()
            passes += 1
        elapsed = time.perf_counter() - began
        got = receiver.delivered()
        per_path: dict[str, list[str]] = {}
        for r in got:
            per_path.setdefault(r.path, []).append(r.body["data"]["order"]["number"])
        in_order = all(numbers == sorted(numbers) for numbers in per_path.values())
        return {"events": n_events, "subscriptions": subscriptions, "delivered": len(got),
                "webhook_deliveries_per_s": round(len(got) / elapsed, 1) if elapsed else None,
                "passes": passes, "all_verified": all(r.verified for r in got),
                "duplicates": len(got) - len({(r.path, r.event_id) for r in got}), "in_order": in_order}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=1)
    args = parser.parse_args()
    url, cleanup = fresh_database("webhooks")
    os.environ["DATABASE_URL"] = url
    try:
        figures = measure(args.events, args.subscriptions)
    finally:
        cleanup()
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(json.dumps({"bench": "webhooks", "backend": backend, **figures}, ensure_ascii=False))


if __name__ == "__main__":
    main()
