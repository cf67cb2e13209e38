"""Adjustments with reasons, cycle counts in one transaction, approval above the threshold, ad hoc
receipts releasing backorders — and the refusals (negative count, stale sheet, reserved units)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.analytics.inventory import count_sheet, product_ledger, stock_over_time, stock_overview
from core.errors import IllegalTransition, PermissionDenied, ValidationError
from core.models import StockAdjustment, StockLevel, StockMovement, Warehouse
from core.services import orders
from core.services.inventory import (
    CountLine,
    adjust_stock,
    decide_adjustment,
    list_adjustments,
    post_count,
    receive_adhoc,
)
from core.timeutil import utcnow
from tests.factories import BUYER, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan


def _level(product_id: int, wh: str = "SH") -> tuple[int, int]:
    with db.transaction() as s:
        row = s.execute(select(StockLevel.on_hand, StockLevel.reserved).join(
            Warehouse, Warehouse.id == StockLevel.warehouse_id).where(
            StockLevel.product_id == product_id, Warehouse.code == wh)).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def _movements(kind: str) -> list[tuple[int, str | None, str | None]]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(select(StockMovement.qty_delta, StockMovement.reason,
                                                   StockMovement.ref_type)
                                            .where(StockMovement.kind == kind).order_by(StockMovement.id))]


def test_small_adjustment_posts_at_once_with_reason(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 10})  # unit cost 5.00
    r = adjust_stock("A", "SH", -2, "damage", WAREHOUSE, note="dropped")
    assert (r.status, r.value, r.reference) == ("posted", Decimal("10.00"), f"ADJ-{r.id}")
    assert _level(a) == (8, 0)
    assert _movements("adjustment") == [(-2, "damage", "adjustment")]
    ledger = product_ledger(a)
    assert ledger.loc[0, ["kind", "qty_delta", "balance", "reference", "actor"]].tolist() == [
        "adjustment", -2, 8, r.reference, "wh1"]


def test_large_adjustment_waits_for_a_manager(db_url: str) -> None:
    a = make_product("TV", "6000.00", {"SH": 3})  # unit cost 3000 > 2000 threshold
    r = adjust_stock("TV", "SH", -1, "loss", WAREHOUSE)
    assert r.status == "pending" and _level(a) == (3, 0) and _movements("adjustment") == []
    with pytest.raises(PermissionDenied):
        decide_adjustment(r.id, True, WAREHOUSE)
    decided = decide_adjustment(r.id, True, MANAGER, note="confirmed by CCTV")
    assert decided.status == "approved" and _level(a) == (2, 0)
    with pytest.raises(IllegalTransition):
        decide_adjustment(r.id, False, MANAGER)
    rejected = decide_adjustment(adjust_stock("TV", "SH", 1, "found", WAREHOUSE).id, False, MANAGER)
    assert rejected.status == "rejected" and _level(a) == (2, 0)
    # a manager's own large adjustment is already a manager's decision
    assert adjust_stock("TV", "SH", -1, "loss", MANAGER).status == "posted"
    listed = list_adjustments(MANAGER)
    assert list(listed["status"]) == ["posted", "rejected", "approved"]
    assert "value" not in list_adjustments(WAREHOUSE).columns  # costs hidden from warehouse staff


def test_approval_rechecks_reserved_units(db_url: str) -> None:
    make_product("TV", "6000.00", {"SH": 2})
    pending = adjust_stock("TV", "SH", -1, "damage", WAREHOUSE)
    orders.create_order(order_input(("TV", 2), warehouse="SH"), CLERK)  # reserves both
    with pytest.raises(ValidationError) as err:
        decide_adjustment(pending.id, True, MANAGER)
    assert "reserved for orders" in str(err.value)
    with db.transaction() as s:
        assert s.execute(select(StockAdjustment.status)).scalar_one() == "pending"


@pytest.mark.parametrize(("args", "field"), [
    (("A", "SH", 0, "damage"), "qty_delta"),
    (("A", "SH", 1.5, "damage"), "qty_delta"),
    (("A", "SH", -1, "because"), "reason_code"),
    (("NOPE", "SH", -1, "damage"), "sku"),
    (("A", "XX", -1, "damage"), "warehouse"),
    (("A", "SH", -11, "loss"), "qty_delta"),
])
def test_bad_adjustments_write_nothing(db_url: str, args: tuple, field: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    with pytest.raises(ValidationError) as err:
        adjust_stock(*args, WAREHOUSE)
    assert [i.field for i in err.value.issues] == [field]
    with db.transaction() as s:
        assert s.execute(select(func.count(StockAdjustment.id))).scalar_one() == 0


def test_cycle_count_posts_differences_in_one_transaction(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 10})
    b = make_product("B", "10.00", {"SH": 5})
    c = make_product("C", "10.00", {"SH": 7})
    sheet = count_sheet("SH")
    assert sheet[["sku", "expected"]].values.tolist() == [["A", 10], ["B", 5], ["C", 7]]
    result = post_count("SH", [CountLine("A", 10, 8, "damage"), CountLine("B", 5, 6, "found"),
                               CountLine("C", 7, 7)], WAREHOUSE)
    assert (result.lines, result.matched, len(result.posted), len(result.pending)) == (3, 1, 2, 0)
    assert (_level(a), _level(b), _level(c)) == ((8, 0), (6, 0), (7, 0))
    assert _movements("count") == [(-2, "damage", "adjustment"), (1, "found", "adjustment")]


@pytest.mark.parametrize(("line", "field"), [
    (CountLine("B", 5, -1, "loss"), "counted"),  # negative count
    (CountLine("B", 4, 3, "loss"), "expected"),  # stale sheet: the system has 5
    (CountLine("B", 5, 3, None), "reason_code"),
    (CountLine("A", 10, 9, "loss"), "sku"),  # listed twice
])
def test_bad_count_refuses_the_whole_sheet(db_url: str, line: CountLine, field: str) -> None:
    a = make_product("A", "10.00", {"SH": 10})
    make_product("B", "10.00", {"SH": 5})
    with pytest.raises(ValidationError) as err:
        post_count("SH", [CountLine("A", 10, 9, "loss"), line], WAREHOUSE)
    assert [(i.field, i.row) for i in err.value.issues] == [(field, 2)]
    assert _level(a) == (10, 0) and _movements("count") == []


def test_count_below_reservations_is_refused(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 5})
    orders.create_order(order_input(("A", 4), warehouse="SH"), CLERK)
    with pytest.raises(ValidationError) as err:
        post_count("SH", [CountLine("A", 5, 3, "loss")], WAREHOUSE)
    assert "4 are reserved" in str(err.value)
    post_count("SH", [CountLine("A", 5, 4, "loss")], WAREHOUSE)
    assert _level(a) == (4, 4)


def test_adhoc_receipt_releases_backorders(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 0})
    waiting = orders.create_order(order_input(("A", 2), warehouse="SH", allow_backorder=True), CLERK)
    with pytest.raises(PermissionDenied):
        receive_adhoc("SH", [("A", 3)], SERVICE)
    with pytest.raises(ValidationError) as err:
        receive_adhoc("SH", [("A", 0), ("NOPE", 1)], BUYER)
    assert [(i.field, i.row) for i in err.value.issues] == [("qty", 1), ("sku", 2)]
    result = receive_adhoc("SH", [("A", 3)], BUYER, note="supplier extra delivery")
    assert (result.units, result.released_orders) == (3, (waiting.number,))
    assert _level(a) == (3, 2)
    assert _movements("receipt") == [(3, "supplier extra delivery", "adhoc")]


def test_stock_overview_in_transit_cover_and_over_time(db_url: str) -> None:
    from core.services.transfers import create_transfer, ship_transfer

    a = make_product("A", "10.00", {"SH": 0, "GZ": 1})
    with db.transaction() as s:  # opening stock two days ago (the ledger is append-only: insert, never edit)
        sh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        s.add(StockMovement(at=utcnow() - dt.timedelta(days=2), product_id=a, warehouse_id=sh, qty_delta=30,
                            kind="initial", actor="test"))
        s.execute(StockLevel.__table__.update().where(StockLevel.warehouse_id == sh).values(on_hand=30))
        s.execute(StockLevel.__table__.update().values(safety_stock=5))
    for _ in range(2):  # 2 × 7 units shipped in the demand window → 0.5 a day
        r = orders.create_order(order_input(("A", 7), warehouse="SH"), CLERK)
        pack_by_scan(r.id)
        orders.transition(r.id, "shipped", WAREHOUSE, tracking_no="T")
    ship_transfer(create_transfer("SH", "GZ", [("A", 4)], WAREHOUSE).id, WAREHOUSE)
    view = stock_overview().set_index("warehouse")
    assert view.loc["SH", ["on_hand", "available", "daily_demand", "days_of_cover"]].tolist() == [12, 12, 0.5, 24.0]
    assert view.loc["GZ", ["in_transit", "below_safety"]].tolist() == [4, True]
    assert list(stock_overview(below_safety_only=True)["warehouse"]) == ["GZ"]
    assert "stock_value" in stock_overview(include_cost=True).columns
    series = stock_over_time(a, days=3)
    assert series[series["warehouse"] == "SH"]["on_hand"].tolist() == [30, 30, 12]


def test_units_reserved_between_check_and_post_refuse_the_adjustment(db_url: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from core.services import inventory

    a = make_product("A", "10.00", {"SH": 10})
    orders.create_order(order_input(("A", 9), warehouse="SH"), CLERK)
    monkeypatch.setattr(inventory, "_level", lambda *_: (10, 0))  # the check saw the stock before the order
    with pytest.raises(ValidationError) as err:
        adjust_stock("A", "SH", -5, "loss", WAREHOUSE)
    assert "reserved for orders" in str(err.value)
    assert _level(a) == (10, 9)
    with db.transaction() as s:
        assert s.execute(select(func.count(StockAdjustment.id))).scalar_one() == 0
