"""Many writers racing for scarce stock: no oversell, no lost update, the ledger reconciles.

Runs on SQLite (threads) and, with OMS_TEST_BACKEND=postgres, on PostgreSQL where the 8
threads hold 8 real server connections.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from core import db
from core.errors import InsufficientStock, StaleVersion
from core.models import Order, OrderLine, StockLevel, StockMovement
from core.services import orders
from tests.factories import CLERK, SERVICE, make_product, order_input


def _place(i: int) -> str:
    try:
        orders.create_order(order_input(("HOT", 1), phone=f"139{i:08d}", warehouse="SH"), CLERK)
        return "ok"
    except InsufficientStock:
        return "refused"


def test_200_orders_race_for_50_units_exactly_50_win(db_url: str) -> None:
    pid = make_product("HOT", "9.90", {"SH": 50})
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(_place, range(200)))
    assert results.count("ok") == 50 and results.count("refused") == 150
    with db.transaction() as s:
        level = s.execute(select(StockLevel).where(StockLevel.product_id == pid)).scalars().all()
        sh = next(lv for lv in level if lv.on_hand == 50)
        assert sh.reserved == 50
        assert s.execute(select(func.count(Order.id))).scalar_one() == 50
        assert s.execute(select(func.sum(OrderLine.qty_reserved))).scalar_one() == 50
        ledger = s.execute(select(func.sum(StockMovement.qty_delta)).where(StockMovement.product_id == pid)).scalar_one()
        assert ledger == sum(lv.on_hand for lv in level)
        numbers = s.execute(select(Order.number)).scalars().all()
        assert len(set(numbers)) == 50


def test_concurrent_edits_one_wins_the_other_is_refused(db_url: str) -> None:
    make_product("HOT", "9.90", {"SH": 5})
    r = orders.create_order(order_input(("HOT", 1)), CLERK)
    version = orders.order_detail(r.id, CLERK).header["version"]

    def edit(i: int) -> str:
        try:
            orders.update_order(r.id, {"note": f"edit {i}"}, SERVICE, expected_version=version)
            return "ok"
        except StaleVersion:
            return "stale"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(edit, range(8)))
    assert results.count("ok") == 1 and results.count("stale") == 7
    assert orders.order_detail(r.id, CLERK).header["version"] == version + 1
