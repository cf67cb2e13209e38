"""Settlement matching speed: a million payout lines against a million payments.

Loads ``--lines`` paid orders of one channel (one payment row each, a few refunds) into a fresh
SQLite file (or a throw-away PostgreSQL database when DATABASE_URL points to a server), builds
their payout statement with one of each planted difference (``data/payouts.py``: missing payout,
short payment, double payout, refund without payout, fee change), stores its lines, and times
the matching run the import and the daily job use (``settlements.rematch``: load, match, write
each line's payment and the differences — one transaction). The statement is stored directly:
this measures matching, not the validation of a million-row file (docs/imports.md has those
figures). Prints one JSON line: ``lines_per_s``, ``lines``, ``planted`` and ``found`` (the planted
differences found: must equal ``planted``), ``load_avg`` (the machine's 1-minute load at the end).

    python bench/finance.py [--lines 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from core import db  # noqa: E402
from core.importing.bulk import Cents, Same, insert_columns  # noqa: E402
from core.models import Channel, ImportBatch, Order, Payment, SettlementLine  # noqa: E402
from core.permissions import SYSTEM  # noqa: E402
from core.services import settlements  # noqa: E402
from data.payouts import PLANTED, statement  # noqa: E402

CHANNEL = "WECHAT"
START = dt.datetime(2026, 10, 1)


def _load(url: str, n: int) -> tuple[pd.DataFrame, int]:
    """``n`` paid orders with one payment each and one refund per thousand; the payments frame
    the statement generator takes, and the channel id."""
    rng = np.random.default_rng(21)
    totals = rng.integers(990, 99_900, n)
    placed = pd.Series(START + pd.to_timedelta(np.sort(rng.integers(0, 30 * 86_400, n)), unit="s"))
    numbers = [f"SO-B{i:08d}" for i in range(n)]
    with db.transaction(url) as s:
        channel = s.execute(select(Channel.id).where(Channel.code == CHANNEL)).scalar_one()
        conn = s.connection()
        insert_columns(conn, Order.__table__, {
            "number": numbers, "channel_id": Same(channel), "status": Same("completed"), "payment_status": Same("paid"),
            "delivery_method": Same("express"), "priority": Same(0), "subtotal": Cents(pd.Series(totals, dtype=float)),
            "discount": Same(0), "shipping_fee": Same(0), "total": Cents(pd.Series(totals, dtype=float)),
            "placed_at": placed, "updated_at": placed, "version": Same(1)})
        ids = dict(conn.execute(select(Order.number, Order.id)).all())
        order_ids = [ids[x] for x in numbers]
        refunded = np.arange(0, n, 1000)
        kinds = ["payment"] * n + ["refund"] * len(refunded)
        amounts = np.concatenate([totals, totals[refunded] // 2])
        at = pd.concat([placed, placed.iloc[refunded] + pd.Timedelta(days=2)], ignore_index=True)
        refs = [f"42{i:016d}" for i in range(n)] + [f"50{i:016d}" for i in range(len(refunded))]
        insert_columns(conn, Payment.__table__, {
            "order_id": order_ids + [order_ids[i] for i in refunded], "kind": kinds, "method": Same("wechat_pay"),
            "provider_ref": refs, "amount": Cents(pd.Series(amounts, dtype=float)), "fee": Same(0), "at": at,
            "status": Same("succeeded"), "refund_id": Same(None), "created_by": Same("bench")})
    payments = pd.DataFrame({"kind": kinds, "provider_ref": refs, "order_number": numbers + [numbers[i] for i in refunded],
                             "amount": amounts, "at": at}).sort_values("at", kind="stable", ignore_index=True)
    return payments, channel


def _store_statement(url: str, lines: pd.DataFrame, channel: int) -> None:
    with db.transaction(url) as s:
        batch = s.execute(insert(ImportBatch).values(
            kind="settlements", channel_id=channel, file_name="bench.csv", sha256="0" * 64, status="imported",
            rows=len(lines), accepted=len(lines), rejected=0, created_at=START, created_by="bench"
        ).returning(ImportBatch.id)).scalar_one()
        insert_columns(s.connection(), SettlementLine.__table__, {
            "batch_id": Same(batch), "row": list(range(2, len(lines) + 2)), "channel_id": Same(channel),
            "kind": lines["kind"].tolist(), "provider_ref": lines["provider_ref"].tolist(),
            "order_ref": lines["order_ref"].tolist(), "amount": Cents(lines["amount"].astype(float)),
            "fee": Cents(lines["fee"].astype(float)), "commission": Same(0), "net": Cents(lines["net"].astype(float)),
            "settled_at": pd.to_datetime(lines["settled_at"]), "note": Same(None), "payment_id": Same(None),
            "matched_by": Same(None)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    url, cleanup = fresh_database("finance")
    try:
        started = time.perf_counter()
        payments, channel = _load(url, args.lines)
        lines, planted = statement(payments, CHANNEL)
        _store_statement(url, lines, channel)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        with db.transaction(url) as s:
            counts = settlements.rematch(s, [channel])
        match_s = time.perf_counter() - started
        found: dict[str, set[str]] = {}
        with db.transaction(url) as s:
            diffs = settlements.list_differences(SYSTEM, limit=100_000, session=s)
        for kind, order, reference in zip(diffs["kind"], diffs["order"], diffs["reference"], strict=True):
            found.setdefault(kind, set()).add(order or reference)
        hits = {kind: planted[kind] in found.get(kind, set()) for kind in PLANTED}
        print(json.dumps({
            "bench": "finance", "backend": db.get_engine(url).dialect.name, "payout_lines": len(lines),
            "payments": len(payments), "load_s": round(load_s, 1), "match_s": round(match_s, 2),
            "lines_per_s": round(len(lines) / match_s), "lines": len(lines), "matched": counts["matched"],
            "differences": counts["differences"], "planted": len(PLANTED), "found": sum(hits.values()),
            "planted_found": sum(hits.values()), "all_found": all(hits.values()),
            "load_avg": round(os.getloadavg()[0], 1),
        }))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
