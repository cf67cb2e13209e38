"""Reconciliation finds planted discrepancies with their causes; alerts are raised once per
condition, acknowledged by people and resolved when the condition clears."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, select, update

from core import db
from core.errors import PermissionDenied, ValidationError
from core.models import Alert, Order, OrderLine, StockLevel, StockMovement, Warehouse
from core.services import orders
from core.services.alerts import acknowledge, list_alerts, open_alert_counts, scan_alerts
from core.services.fulfillment import scan_item, ship_order
from core.services.reconciliation import reconcile, reconciliation_history, run_reconciliation, stored_report
from core.services.transfers import create_transfer, receive_transfer, ship_transfer
from core.timeutil import utcnow
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input


def _wh(s, code: str) -> int:  # noqa: ANN001 - a Session
    return s.execute(select(Warehouse.id).where(Warehouse.code == code)).scalar_one()


def test_a_busy_but_sound_database_reconciles(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10, "GZ": 3})
    r = orders.create_order(order_input(("A", 2)), CLERK)
    orders.create_order(order_input(("A", 1)), CLERK)
    orders.create_order(order_input(("A", 50), allow_backorder=True), CLERK)
    scan_item(r.id, "A", WAREHOUSE)
    scan_item(r.id, "A", WAREHOUSE)
    ship_order(r.id, "SF", "SF1", WAREHOUSE)
    t = ship_transfer(create_transfer("SH", "GZ", [("A", 2)], WAREHOUSE).id, WAREHOUSE)
    receive_transfer(t.id, {t.lines[0].id: 1}, WAREHOUSE)
    report = reconcile(MANAGER)
    assert report.ok, report.discrepancies.to_dict("records")
    assert report.movements == 5 and report.stock_rows == 2


def test_planted_discrepancies_are_found_with_their_cause(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    b = make_product("B", "10.00", {"SH": 10})
    c = make_product("C", "10.00", {"SH": 10})
    d = make_product("D", "10.00")
    confirmed = orders.create_order(order_input(("A", 2)), CLERK)
    cancelled = orders.create_order(order_input(("B", 1)), CLERK)
    with db.transaction() as s:
        sh, gz = _wh(s, "SH"), _wh(s, "GZ")
        # 1. on_hand edited around the ledger
        s.execute(update(StockLevel).where(StockLevel.product_id == c, StockLevel.warehouse_id == sh)
                  .values(on_hand=StockLevel.on_hand + 3))
        # 2. a movement written but never applied to on_hand
        s.execute(insert(StockMovement).values(at=utcnow(), product_id=b, warehouse_id=sh, qty_delta=-4,
                                               kind="adjustment", actor="script"))
        # 3. a stock row that no movement explains
        s.execute(insert(StockLevel).values(product_id=d, warehouse_id=gz, on_hand=5, reserved=0,
                                            safety_stock=0, reorder_point=0))
        # 4. an order cancelled behind the service's back (its reservation never released)
        s.execute(update(Order).where(Order.id == cancelled.id).values(status="cancelled"))
        # 5. a confirmed order whose line lost part of its reservation
        s.execute(update(OrderLine).where(OrderLine.order_id == confirmed.id).values(qty_reserved=1))
    report = run_reconciliation(MANAGER)
    found = report.discrepancies.set_index(["check", "sku"])
    assert found.loc[("ledger", "C"), ["cause", "expected", "actual"]].tolist() == ["edited_outside_ledger", 10, 13]
    assert found.loc[("ledger", "B"), ["cause", "expected", "actual"]].tolist() == [
        "last_movement_not_applied", 6, 10]
    assert found.loc[("ledger", "D"), "cause"] == "no_movements"
    assert found.loc[("closed_order", "B"), ["cause", "reference"]].tolist() == ["closed_order_holds",
                                                                                  cancelled.number]
    assert found.loc[("open_order", "A"), ["cause", "reference", "expected", "actual"]].tolist() == [
        "open_order_not_reserved", confirmed.number, 2, 1]
    assert found.loc[("reserved", "A"), ["cause", "expected", "actual"]].tolist() == [
        "reservation_without_order", 1, 2]
    assert len(report.discrepancies) == 6
    # stored as the daily report, with one critical alert
    history = reconciliation_history(MANAGER)
    assert history.loc[0, ["success", "discrepancies"]].tolist() == [False, 6]
    assert len(stored_report(int(history.loc[0, "id"]), MANAGER)) == 6
    alerts = list_alerts(MANAGER, kinds=["reconciliation"])
    assert list(alerts["severity"]) == ["critical"]
    run_reconciliation(MANAGER)  # still broken → no second alert
    assert len(list_alerts(MANAGER, kinds=["reconciliation"])) == 1
    with pytest.raises(PermissionDenied):
        run_reconciliation(WAREHOUSE)


def test_alert_scan_raises_once_acknowledges_and_resolves(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    late = orders.create_order(order_input(("A", 1)), CLERK)
    fresh = orders.create_order(order_input(("A", 1)), CLERK)
    shipped = orders.create_order(order_input(("A", 1)), CLERK)
    waiting = orders.create_order(order_input(("A", 99), allow_backorder=True), CLERK)
    scan_item(shipped.id, "A", WAREHOUSE)
    ship_order(shipped.id, "SF", "SF9", WAREHOUSE)
    with db.transaction() as s:
        s.execute(update(StockLevel).values(safety_stock=7))  # 9 on hand, 2 reserved → 7 available: fine
    now = utcnow()
    with db.transaction() as s:  # age the orders as if time had passed
        s.execute(update(Order).where(Order.id == late.id).values(
            approved_at=now - dt.timedelta(hours=30), due_by=now - dt.timedelta(hours=1)))
        s.execute(update(Order).where(Order.id == fresh.id).values(due_by=now + dt.timedelta(hours=2)))
        s.execute(update(Order).where(Order.id == shipped.id).values(shipped_at=now - dt.timedelta(days=9)))
    summary = scan_alerts(WAREHOUSE)
    assert summary.raised == {"sla_breach": 1, "due_soon": 2, "delivery_overdue": 1, "below_safety": 0,
                              "backorder": 0}  # the backorder alert was raised when the order was stored
    open_ = list_alerts(WAREHOUSE)
    by_kind = {(k, e): (sev, msg) for k, e, sev, msg in open_[["kind", "entity_id", "severity", "message"]].values}
    assert by_kind[("due_soon", late.number)][0] == "critical" and "was due" in by_kind[("due_soon", late.number)][1]
    assert by_kind[("due_soon", fresh.number)][0] == "warning"
    assert "SLA 24 h" in by_kind[("sla_breach", late.number)][1]
    assert ("backorder", waiting.number) in by_kind
    codes = dict(zip(zip(open_["kind"], open_["entity_id"], strict=True), open_["message_codes"], strict=True))
    assert codes[("sla_breach", late.number)] == [{"key": "alert_msg.sla_breach",
                                                    "params": {"number": late.number, "hours": 30, "sla": 24}}]
    assert all(codes.values()), "every alert keeps its message as codes (shown in the reader's language)"
    assert scan_alerts(WAREHOUSE).raised == dict.fromkeys(summary.raised, 0)  # raised once per condition

    sla_id = int(open_[open_["kind"] == "sla_breach"]["id"].iloc[0])
    assert acknowledge([sla_id], WAREHOUSE) == 1
    assert acknowledge([sla_id], WAREHOUSE) == 0
    with pytest.raises(ValidationError):
        acknowledge([999999], WAREHOUSE)
    with pytest.raises(PermissionDenied):
        acknowledge([sla_id], CLERK)
    assert "sla_breach" not in open_alert_counts(MANAGER)
    assert scan_alerts(WAREHOUSE).raised["sla_breach"] == 0  # acknowledged, still true: not raised again

    orders.transition(late.id, "cancelled", SERVICE)  # causes clear
    orders.transition(waiting.id, "cancelled", SERVICE)
    orders.create_order(order_input(("A", 2)), CLERK)  # 9 on hand, 3 reserved → 6 < 7 safety
    result = scan_alerts(WAREHOUSE)
    assert result.raised["below_safety"] == 1 and result.resolved == 3  # sla, due (late), backorder
    with db.transaction() as s:
        resolved = s.execute(select(Alert.kind, Alert.entity_id).where(Alert.resolved_at.is_not(None))).all()
    assert {k for k, _ in resolved} == {"sla_breach", "due_soon", "backorder"}
    with pytest.raises(PermissionDenied):
        scan_alerts(CLERK)
