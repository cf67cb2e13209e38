"""PostgreSQL race: new orders against goods receipts that release multi-line backorders.

16 processes (each with its own server connection) are released together. Three in four
actions are clerks' orders of existing customers for LOW + HIGH (backorder allowed); one in
four is a goods receipt of HIGH against one purchase order, which walks the backorders needing
LOW and HIGH — releasing the ones it can serve. Before the lock-order rule
(``core.stock``), such receipts locked HIGH first and LOW after it while the orders lock LOW
first: they deadlocked. ``--without-fix`` runs the same race with the arrival locks and the
unit of work's retries switched off, to show the difference.

Prints one JSON line: actions, deadlocks seen by the server (retried or surfaced), retries,
busy refusals, raw errors (must be 0), oversold units (must be 0) and ledger / reservation
mismatches (must be 0), and the wall time.

    DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/postgres python bench/pg_race.py
    python bench/pg_race.py --processes 16 --actions 16 --without-fix
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from core import db, invariants, stock  # noqa: E402
from core.errors import Busy, OMSError  # noqa: E402
from core.models import (  # noqa: E402
    Order,
    POLine,
    Product,
    PurchaseOrder,
    StockLevel,
    Supplier,
    Warehouse,
)
from core.permissions import Actor  # noqa: E402
from core.timeutil import utcnow  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/postgres"
CLERK, RECEIVER = Actor("clerk1", "clerk"), Actor("wh1", "warehouse")
PER_RECEIPT = 3
BACKORDERS = 8  # half small (released by the first receipt), half too big for any receipt
HIGH_STOCK = 100  # HIGH in stock when the race starts, so orders queue on its row
ADDRESS = dict(channel="PHONE", province="上海", city="上海市", district="浦东新区", address="世纪大道 100 号",
               payment_method="wechat_pay", payment_status="paid", warehouse="SH")


class _Count(logging.Handler):
    """Counts the unit of work's retry and give-up records per SQLSTATE kind."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        kind = "deadlock" if "deadlock" in record.getMessage() else "serialization"
        self.counts[f"{'retry' if record.levelno == logging.INFO else 'gave_up'}_{kind}"] += 1


def _order(phone: str, lines: list[tuple[str, int]]) -> object:
    from core.services.orders import LineInput, OrderInput

    return OrderInput(lines=[LineInput(sku, qty) for sku, qty in lines], customer_name="张三", phone=phone,
                      allow_backorder=True, **ADDRESS)  # type: ignore[arg-type]


def _without_fix() -> None:
    """The code as it was: no arrival locks, no retries (a deadlock surfaces as Busy)."""
    from core.services import orders, purchasing

    def nothing(*_a: object, **_k: object) -> None:
        return None

    orders.lock_for_arrival = nothing  # type: ignore[assignment]
    purchasing.lock_for_arrival = nothing  # type: ignore[assignment]
    db.MAX_RETRIES = 0


def _worker(url: str, index: int, actions: int, ids: dict, without_fix: bool, gate: object, out: object) -> None:
    os.environ["DATABASE_URL"] = url
    if without_fix:
        _without_fix()
    from core.services.orders import create_order
    from core.services.purchasing import receive_po

    counter = _Count()
    logging.getLogger("oms.db").addHandler(counter)
    logging.getLogger("oms.db").setLevel(logging.INFO)
    outcomes: Counter[str] = Counter()
    samples: dict[str, str] = {}
    gate.wait(60)  # type: ignore[attr-defined]
    for n in range(actions):
        receipt = (index + n) % 4 == 0
        try:
            if receipt:
                receive_po(ids["po"], {ids["line"]: PER_RECEIPT}, RECEIVER)
            else:
                create_order(_order(ids["phones"][index], [("LOW", 1), ("HIGH", 1)]), CLERK)
            outcomes["receipts" if receipt else "orders"] += 1
        except Busy as exc:
            outcomes["busy_refusals"] += 1
            outcomes["deadlocks_surfaced"] += db.sqlstate(exc.__cause__) == "40P01"
            samples.setdefault("busy", str(exc)[:200])
        except OMSError as exc:
            outcomes[f"refused_{type(exc).__name__}"] += 1
        except Exception as exc:  # noqa: BLE001 - a raw error is the finding this bench counts
            outcomes["raw_errors"] += 1
            samples.setdefault(type(exc).__name__, str(exc)[:200])
    db.dispose_all()
    out.put((dict(outcomes), dict(counter.counts), samples))  # type: ignore[attr-defined]


def _setup(processes: int, receipts: int) -> dict:
    """Existing customers, LOW (plenty), backorders needing LOW and HIGH — some small enough
    to be released by the receipts, some too big for any (every receipt tries them) — then
    some HIGH stock that does not release them, and one sent PO of HIGH."""
    from core.services.orders import create_order

    phones = [f"139{i:08d}" for i in range(processes)]
    with db.transaction() as s:
        sh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        for sku, qty in (("WARM", processes), ("LOW", 1_000_000), ("HIGH", 0)):
            p = Product(sku=sku, barcode=None, name=f"商品 {sku}", category="bench", brand="bench", attributes={},
                        unit_price=Decimal("9.90"), unit_cost=Decimal("5.00"), pack_size=1, active=True,
                        created_at=utcnow())
            s.add(p)
            s.flush()
            stock.ensure_level(s, p.id, sh)
            stock.post_movement(s, product_id=p.id, warehouse_id=sh, qty_delta=qty, kind="initial", actor="bench")
        high = s.execute(select(Product.id).where(Product.sku == "HIGH")).scalar_one()
        supplier = Supplier(name="bench", lead_time_days=7, moq=1)
        s.add(supplier)
        s.flush()
        po = PurchaseOrder(number="PO-BENCH", supplier_id=supplier.id, warehouse_id=sh, status="sent",
                           created_at=utcnow(), created_by="bench", total=Decimal("0"))
        s.add(po)
        s.flush()
        line = POLine(po_id=po.id, product_id=high, qty_ordered=receipts * PER_RECEIPT, qty_received=0,
                      unit_cost=Decimal("5"))
        s.add(line)
        s.flush()
        ids = {"po": po.id, "line": line.id, "phones": phones, "sh": sh}
    for phone in phones:  # every racer is an existing customer: they race for stock only
        create_order(_order(phone, [("WARM", 1)]), CLERK)
    for i, phone in enumerate(phones[:BACKORDERS]):
        create_order(_order(phone, [("LOW", 1), ("HIGH", 2 if i % 2 else 10_000)]), CLERK)
    with db.transaction() as s:  # stock the racing orders find (and wait for) on HIGH's row
        stock.post_movement(s, product_id=high, warehouse_id=ids["sh"], qty_delta=HIGH_STOCK, kind="receipt",
                            actor="bench", reason="bench set-up")
    return ids


def _oversold_and_mismatches() -> tuple[int, int]:
    with db.transaction(readonly=True) as s:
        oversold = s.execute(select(func.coalesce(func.sum(StockLevel.reserved - StockLevel.on_hand), 0))
                             .where(StockLevel.reserved > StockLevel.on_hand)).scalar_one()
    return int(oversold), len(invariants.check())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--actions", type=int, default=16, help="actions per process")
    parser.add_argument("--without-fix", action="store_true", help="no arrival locks, no retries (the old code)")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", PG_DEFAULT)
    if not os.environ["DATABASE_URL"].startswith("postgresql"):
        sys.exit("pg_race needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://…")
    url, cleanup = fresh_database("pg_race")
    os.environ["DATABASE_URL"] = url
    try:
        receipts = sum((i + n) % 4 == 0 for i in range(args.processes) for n in range(args.actions))
        ids = _setup(args.processes, receipts)
        db.dispose_all()
        ctx = mp.get_context("spawn")
        gate, out = ctx.Barrier(args.processes), ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(url, i, args.actions, ids, args.without_fix, gate, out))
                 for i in range(args.processes)]
        for p in procs:
            p.start()
        started = time.perf_counter()
        results = [out.get(timeout=300) for _ in procs]
        seconds = time.perf_counter() - started
        for p in procs:
            p.join(timeout=30)
        outcomes: Counter[str] = Counter()
        logs: Counter[str] = Counter()
        samples: dict[str, str] = {}
        for o, c, smp in results:
            outcomes.update(o)
            logs.update(c)
            samples.update(smp)
        oversold, breaches = _oversold_and_mismatches()
        with db.transaction(readonly=True) as s:
            backordered = s.execute(select(func.count(Order.id)).where(Order.status == "backordered")).scalar_one()
        print(json.dumps({
            "bench": "pg_race", "fix": not args.without_fix, "processes": args.processes,
            "actions": args.processes * args.actions, "orders_ok": outcomes["orders"],
            "receipts_ok": outcomes["receipts"], "still_backordered": backordered,
            "deadlocks": logs["retry_deadlock"] + outcomes["deadlocks_surfaced"],
            "deadlocks_surfaced": outcomes["deadlocks_surfaced"],
            "retries": logs["retry_deadlock"] + logs["retry_serialization"],
            "busy_refusals": outcomes["busy_refusals"], "raw_errors": outcomes["raw_errors"],
            "other_refusals": {k: v for k, v in outcomes.items() if k.startswith("refused_")},
            "oversold_units": oversold, "invariant_breaches": breaches, "seconds": round(seconds, 2),
            **({"samples": samples} if samples else {}),
        }, ensure_ascii=False))
    finally:
        cleanup()


if __name__ == "__main__":
    main()
