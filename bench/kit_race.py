"""Kits and single components racing for scarce components (issue #16, ``kit_race_oversold``).

``writers`` threads, each with its own database connection (real server connections on
PostgreSQL), place ``orders`` orders of existing customers between them: kit KR-A (2 × KR-X +
1 × KR-Y), kit KR-B (1 × KR-X + 1 × KR-Y), the components alone, and kits with components on
one order. Every reservation is the core's conditional UPDATE in (product, warehouse) order
(:mod:`core.services.orders.entry`), so whatever the interleaving: no component is reserved
beyond its stock, the stock rows' reservations equal the order lines', the ledger is intact,
and no writer meets a deadlock (counted from the unit of work's retry log, which would
otherwise hide them by re-running).

Used by ``bench/fulfillment.py`` (its JSON line) and ``tests/services/test_kit_race.py``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from sqlalchemy import func, insert, select

from core import db, stock
from core.errors import InsufficientStock
from core.models import OrderLine, Product, StockLevel, StockMovement, Warehouse
from core.permissions import Actor
from core.services import kits
from core.services.orders import LineInput, OrderInput, create_order
from core.timeutil import utcnow

CLERK = Actor("race-clerk", "clerk")
MANAGER = Actor("race-manager", "manager")
STOCK = {"KR-X": 60, "KR-Y": 40}  # scarce: the orders below ask for about three times as much
BASKETS = ([("KR-A", 1)], [("KR-B", 1)], [("KR-X", 1)], [("KR-Y", 2)], [("KR-Y", 1), ("KR-A", 1)],
           [("KR-X", 2), ("KR-B", 1)])


class _Deadlocks(logging.Handler):
    """Counts the deadlocks the unit of work saw (retried or surfaced)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "deadlock" in record.getMessage():
            self.count += 1


def _setup(warehouse: str, writers: int) -> dict[str, int]:
    with db.transaction() as s:
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == warehouse)).scalar_one()
        ids = {}
        for sku, price in (("KR-X", "10.00"), ("KR-Y", "20.00"), ("KR-A", "35.00"), ("KR-B", "25.00"),
                           ("KR-WARM", "1.00")):
            ids[sku] = s.execute(insert(Product).values(
                sku=sku, name=sku, category="race", attributes={}, unit_price=Decimal(price), unit_cost=None,
                pack_size=1, active=True, created_at=utcnow()).returning(Product.id)).scalar_one()
        for sku, qty in {**STOCK, "KR-WARM": writers}.items():
            stock.post_movement(s, product_id=ids[sku], warehouse_id=wh, qty_delta=qty, kind="initial",
                                actor="race", reason="race stock")
    kits.save_kit("KR-A", [("KR-X", 2), ("KR-Y", 1)], MANAGER)
    kits.save_kit("KR-B", [("KR-X", 1), ("KR-Y", 1)], MANAGER)
    for i in range(writers):  # existing customers: the racers race for stock, not for a customer number
        create_order(_order([("KR-WARM", 1)], i, warehouse), CLERK)
    return ids


def _order(lines: list[tuple[str, int]], i: int, warehouse: str) -> OrderInput:
    return OrderInput(channel="PHONE", lines=[LineInput(sku, qty) for sku, qty in lines], customer_name="竞争客户",
                      phone=f"137{i:08d}", province="上海", city="上海市", district="浦东新区", address="竞争路 1 号",
                      payment_method="wechat_pay", payment_status="paid", warehouse=warehouse)


def race(writers: int = 16, orders: int = 320, warehouse: str = "SH") -> dict[str, int]:
    """Run the race on the configured database (fresh: it creates the KR-* products) and report
    ``oversold`` (units reserved beyond stock, must be 0), ``mismatched`` (stock rows whose
    reservation or ledger disagrees with the order lines, must be 0), ``errors`` and
    ``deadlocks`` (must be 0), ``won`` and ``refused`` orders."""
    ids = _setup(warehouse, writers)
    counter = _Deadlocks()
    logging.getLogger("oms.db").addHandler(counter)
    logging.getLogger("oms.db").setLevel(logging.INFO)

    def place(i: int) -> str:
        try:
            create_order(_order(list(BASKETS[i % len(BASKETS)]), i % writers, warehouse), CLERK)
            return "won"
        except InsufficientStock:
            return "refused"
        except Exception:  # noqa: BLE001 - any other outcome is a finding, counted below
            logging.getLogger(__name__).exception("racer %d", i)
            return "error"

    try:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = list(pool.map(place, range(orders)))
    finally:
        logging.getLogger("oms.db").removeHandler(counter)
    oversold = mismatched = 0
    with db.transaction(readonly=True) as s:
        for sku in STOCK:
            pid = ids[sku]
            on_hand, reserved = s.execute(select(func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
                                          .where(StockLevel.product_id == pid)).one()
            held = s.execute(select(func.coalesce(func.sum(OrderLine.qty_reserved), 0))
                             .where(OrderLine.product_id == pid)).scalar_one()
            ledger = s.execute(select(func.sum(StockMovement.qty_delta)).where(StockMovement.product_id == pid)
                               ).scalar_one()
            oversold += max(0, held - STOCK[sku]) + max(0, reserved - on_hand)
            mismatched += (held != reserved) + (ledger != on_hand)
    return {"writers": writers, "orders": orders, "won": results.count("won"), "refused": results.count("refused"),
            "errors": results.count("error"), "deadlocks": counter.count, "oversold": oversold,
            "mismatched": mismatched}
