"""Database data quality with GX: a clean shop passes; each planted inconsistency fails its
expectation and names the rows; runs are stored and readable."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import insert, select, update

from core import db
from core.errors import PermissionDenied
from core.models import AuditLog, DQRun, Order, OrderLine, Product, StockLevel
from core.services import data_quality
from core.services.orders import create_order, transition
from core.timeutil import utcnow
from tests.conftest import BACKEND
from tests.factories import CLERK, MANAGER, WAREHOUSE, make_product, order_input, pack_by_scan


@pytest.fixture
def shop() -> list[str]:
    make_product("TEA-1", "25.00", {"SH": 10, "GZ": 5})
    make_product("CUP-2", "12.50", {"SH": 3})
    first = create_order(order_input(("TEA-1", 2), ("CUP-2", 1)), CLERK)
    second = create_order(order_input(("TEA-1", 1), customer_name="李四", phone="13900139000"), CLERK)
    pack_by_scan(second.id, MANAGER)
    transition(second.id, "shipped", MANAGER, tracking_no="SF1")
    return [first.number, second.number]


def _failed(report: data_quality.DQReport) -> dict[str, data_quality.ExpectationResult]:
    return {r.code: r for _, r in report.failures()}


def test_a_consistent_shop_passes_and_the_run_is_stored(db_url: str, shop: list[str]) -> None:
    report = data_quality.run_checks(MANAGER)
    assert report.success, report.failures()
    assert [r.suite for r in report.results] == ["db.stock_levels", "db.orders", "db.order_lines"]
    stock = report.results[0]
    assert stock.rows == 3 and stock.stats()["expectations"] == 5
    assert report.results[1].rows == 2
    runs = data_quality.list_runs(MANAGER)
    assert runs["suite"].tolist()[:3] == ["db.order_lines", "db.orders", "db.stock_levels"]
    assert runs["success"].all()
    with db.transaction() as s:
        assert s.execute(select(AuditLog.action).where(AuditLog.entity == "dq_run")).scalars().all() == ["dq.run"]


def test_planted_inconsistencies_fail_and_name_their_rows(db_url: str, shop: list[str]) -> None:
    now = utcnow()
    with db.transaction() as s:
        tea = s.execute(select(Product.id).where(Product.sku == "TEA-1")).scalar_one()
        s.execute(update(StockLevel).where(StockLevel.product_id == tea, StockLevel.reserved == 0)
                  .values(on_hand=StockLevel.on_hand - 1))  # GZ: on hand no longer matches its ledger
        s.execute(update(Order).where(Order.number == shop[0]).values(total=Order.total + 1))
        s.execute(update(Order).where(Order.number == shop[1]).values(placed_at=now + dt.timedelta(days=3)))
        cust = s.execute(select(Order.customer_id).where(Order.number == shop[0])).scalar_one()
        s.execute(insert(Order).values(
            number="SO-EMPTY", channel_id=1, customer_id=cust, status="confirmed", subtotal=0, total=0, placed_at=now,
            updated_at=now, version=1, payment_status="unpaid", delivery_method="express", priority=0, discount=0,
            shipping_fee=0))
    report = data_quality.run_checks(MANAGER)
    assert not report.success
    failed = _failed(report)
    assert set(failed) == {"ledger", "order_total", "placed_future", "shipped_after_placed", "order_lines"}
    ledger = failed["ledger"].failing
    assert ledger[["sku", "warehouse", "on_hand", "ledger_sum"]].values.tolist() == [["TEA-1", "GZ", 4, 5]]
    assert failed["order_total"].failing["number"].tolist() == [shop[0]]
    assert failed["placed_future"].failing["number"].tolist() == [shop[1]]
    assert failed["order_lines"].failing["number"].tolist() == ["SO-EMPTY"]
    run_id = data_quality.list_runs(MANAGER).loc[lambda r: r["suite"] == "db.stock_levels", "id"].iloc[0]
    detail = data_quality.run_detail(int(run_id), MANAGER)
    assert not detail.run["success"] and detail.expectations["success"].tolist()[0] is False
    assert detail.failing["ledger"][["sku", "warehouse"]].values.tolist() == [["TEA-1", "GZ"]]


def test_reservations_must_match_what_open_orders_hold(db_url: str, shop: list[str]) -> None:
    with db.transaction() as s:
        s.execute(update(OrderLine).where(OrderLine.qty_reserved > 0).values(qty_reserved=0))  # lost reservations
    failed = _failed(data_quality.run_checks(MANAGER))
    assert set(failed) == {"reserved_matches"}
    assert sorted(failed["reserved_matches"].failing["sku"]) == ["CUP-2", "TEA-1"]


@pytest.mark.skipif(BACKEND == "postgres", reason="PostgreSQL enforces the foreign key; SQLite files may not")
def test_orphan_lines_are_found(db_url: str, shop: list[str]) -> None:
    db.dispose_all()
    raw = sqlite3.connect(db_url.removeprefix("sqlite:///"))  # a tool that never turned foreign keys on
    raw.execute("INSERT INTO order_lines (order_id, line_no, product_id, qty, unit_price, discount, line_total, "
                "warehouse_id, qty_reserved, qty_shipped, qty_returned) VALUES (9999, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0)")
    raw.commit()
    raw.close()
    failed = _failed(data_quality.run_checks(MANAGER))
    assert failed["orphan_lines"].failing["order_id"].tolist() == [9999]


def test_other_features_runs_are_shown_as_stored(db_url: str) -> None:
    with db.transaction() as s:
        run_id = s.execute(insert(DQRun).values(
            at=utcnow(), suite="stock_reconciliation", target="stock", success=False, stats={"rows": 1},
            results=[{"check": "ledger", "sku": "X", "difference": 2}], created_by="system").returning(DQRun.id)
        ).scalar_one()
    detail = data_quality.run_detail(run_id, MANAGER)
    assert detail.expectations.empty and detail.failing["result"].to_dict("records") == \
        [{"check": "ledger", "sku": "X", "difference": 2}]


def test_permissions(db_url: str) -> None:
    with pytest.raises(PermissionDenied):
        data_quality.run_checks(CLERK)
    with pytest.raises(PermissionDenied):
        data_quality.list_runs(WAREHOUSE)
    assert data_quality.run_checks(MANAGER).success  # an empty shop is consistent too


def test_the_runner_lists_failing_rows_and_observed_values_after_its_quick_pass() -> None:
    """``validate`` asks GX only pass/fail first; failing, aggregate and ``mostly`` checks get
    their complete result (failing rows, observed value, counts) from a second pass."""
    import pandas as pd

    from expectations.runner import validate

    frame = pd.DataFrame({"row": [2, 3, 4, 5], "qty": [1.0, -2.0, 3.0, None], "ok": [True, True, False, True]})

    def build(gxe: object) -> list[object]:
        return [
            gxe.ExpectColumnValuesToBeBetween(column="qty", min_value=0, meta={"code": "negative", "field": "qty"}),
            gxe.ExpectColumnValuesToBeInSet(column="ok", value_set=[True], mostly=0.5, meta={"code": "flag"}),
            gxe.ExpectColumnValuesToNotBeNull(column="row", meta={"code": "required"}),
            gxe.ExpectColumnMeanToBeBetween(column="qty", min_value=0, max_value=5, meta={"code": "mean"}),
        ]

    result = validate("t", frame, build, ["row"])
    by_code = {r.code: r for r in result.results}
    assert set(by_code) == {"negative", "flag", "required", "mean"}
    assert not by_code["negative"].success and by_code["negative"].unexpected_count == 1
    assert by_code["negative"].failing["row"].tolist() == [3]
    assert by_code["flag"].success and by_code["flag"].unexpected_count == 1  # mostly: counted, not failed
    assert by_code["required"].success and by_code["required"].unexpected_count == 0
    assert by_code["required"].element_count == 4 and by_code["required"].failing.empty
    assert by_code["mean"].success and by_code["mean"].observed == pytest.approx(2 / 3)
    assert not result.success
