"""Channel stock sync pass: seconds per pass over N SKUs × 5 synced channels, with a webhook
subscription to every channel — the first pass (every figure published), a quiet pass (nothing
changed) and a pass after 10 % of the SKUs' stock moved — and the longest write transaction
(at most ``PUBLISH_BATCH`` events), which is how long a pass holds SQLite's write lock at once.
SQLite in a temp file by default, PostgreSQL when DATABASE_URL points to a server. One JSON line.

    python bench/channel_stock.py [--skus 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from core import db  # noqa: E402
from core.models import Notification, Product, StockLevel, Warehouse, WebhookSubscription  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.services import channel_stock  # noqa: E402
from core.timeutil import utcnow  # noqa: E402

MANAGER = Actor("bench", "manager")
POLICIES = [("TMALL", 40, False), ("JD", 30, False), ("DOUYIN", 20, False), ("WECHAT", 10, False), ("POS", 100, True)]


def _stock(url: str, skus: int) -> None:
    with db.transaction(url) as s:
        now = utcnow()
        s.execute(insert(Product), [dict(sku=f"C-{i:05d}", barcode=None, name=f"Bench {i}", category="bench",
                                         attributes={}, unit_price=Decimal("9.90"), unit_cost=Decimal("5.00"),
                                         pack_size=1, active=True, created_at=now) for i in range(skus)])
        pids = s.execute(select(Product.id)).scalars().all()
        whs = s.execute(select(Warehouse.id)).scalars().all()
        s.execute(insert(StockLevel), [dict(product_id=p, warehouse_id=w, on_hand=100 + p % 50, reserved=0,
                                            safety_stock=0, reorder_point=0) for p in pids for w in whs])
        s.execute(insert(WebhookSubscription).values(name="all", url="http://127.0.0.1:9/all", secret="s" * 32,
                                                     events=["stock.changed"], active=True, created_at=now,
                                                     created_by="bench"))


WRITES: list[float] = []
_publish = channel_stock._publish


def _timed_publish(changes: list[channel_stock._Change]) -> int:
    start = time.perf_counter()
    try:
        return _publish(changes)
    finally:
        WRITES.append(time.perf_counter() - start)


def _timed_pass() -> tuple[float, channel_stock.SyncResult]:
    start = time.perf_counter()
    result = channel_stock.sync(MANAGER)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=5000)
    args = parser.parse_args()
    url, cleanup = fresh_database("channel_stock")
    os.environ["DATABASE_URL"] = url
    channel_stock._publish = _timed_publish  # type: ignore[assignment]  # sync() looks it up per call
    try:
        _stock(url, args.skus)
        for code, share, oversell in POLICIES:
            channel_stock.save_policy(channel_stock.PolicyInput(code, share, threshold=5, oversell=oversell), MANAGER)
        first_s, first = _timed_pass()
        quiet_s, quiet = _timed_pass()
        with db.transaction(url) as s:  # 10 % of the SKUs lose 40 units in every warehouse
            s.execute(update(StockLevel).where(StockLevel.product_id % 10 == 0).values(on_hand=StockLevel.on_hand - 40))
        moved_s, moved = _timed_pass()
        with db.transaction(url, readonly=True) as s:
            outbox = s.execute(select(func.count(Notification.id))).scalar_one()
        print(json.dumps({
            "backend": db.get_engine(url).dialect.name, "skus": args.skus, "channels": len(POLICIES),
            "first_pass_s": round(first_s, 2), "first_published": first.published,
            "quiet_pass_s": round(quiet_s, 2), "quiet_published": quiet.published,
            "moved_pass_s": round(moved_s, 2), "moved_published": moved.published,
            "longest_write_ms": round(max(WRITES) * 1000, 1), "events_per_write": channel_stock.PUBLISH_BATCH,
            "outbox_rows": outbox,
        }))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
