"""Issue 13, "Two validators": every door into the orders table applies the one order rulebook.

Order entry, the import (GX suite and the history writer itself) and ``update_order`` refuse
the same things with the field named and nothing written: qty 200,000, a 400-character
address, delivery "teleport", payment "bitcoin", a 1 MB note, priority 10^18 or "high",
``placed_at`` in year 9999, and ``"EXT-1 "`` posing as a new reference. Runs on SQLite and
PostgreSQL (raw database errors there before the fix)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import Conflict, ValidationError
from core.models import Order
from core.refdata import snapshot
from core.services import orders
from core.services.import_orders import write_history
from tests.factories import CLERK, MANAGER, make_product, order_input
from tests.services.test_imports import GOOD_ROW, _csv, catalogue, codes, counts, orders_by_ref, run


def _order() -> tuple[int, int]:
    make_product("RB-1", "10.00", {"SH": 20})
    result = orders.create_order(order_input(("RB-1", 1)), CLERK)
    with db.transaction() as s:
        version = s.execute(select(Order.version).where(Order.id == result.id)).scalar_one()
    return result.id, version


@pytest.mark.parametrize("changes, field", [
    ({"delivery_method": "teleport"}, "delivery_method"),
    ({"payment_method": "bitcoin"}, "payment_method"),
    ({"note": "x" * 1_000_000}, "note"),
    ({"priority": 10**18}, "priority"),
    ({"priority": "high"}, "priority"),
    ({"ship_address": "路" * 400}, "ship_address"),
])
def test_update_order_refuses_what_order_entry_refuses(db_url: str, changes: dict[str, Any], field: str) -> None:
    order_id, version = _order()
    with pytest.raises(ValidationError) as err:
        orders.update_order(order_id, changes, CLERK, expected_version=version)
    assert [i.field for i in err.value.issues] == [field]
    with db.transaction() as s:
        assert s.execute(select(Order.version).where(Order.id == order_id)).scalar_one() == version


def test_update_order_still_edits_valid_fields(db_url: str) -> None:
    order_id, version = _order()
    orders.update_order(order_id, {"priority": 5, "delivery_method": "pickup", "note": "call first"}, CLERK,
                        expected_version=version)
    with db.transaction() as s:
        o = s.execute(select(Order).where(Order.id == order_id)).scalar_one()
    assert (o.priority, o.delivery_method, o.note) == (5, "pickup", "call first")


@pytest.mark.parametrize("priority", [Decimal("3"), 3.0])
def test_a_whole_priority_of_another_type_is_stored_as_a_number(db_url: str, priority: Any) -> None:
    """Found by the fuzz suite: Decimal("1") passed the rulebook and then reached SQLite's
    driver, which cannot bind a Decimal — a raw error instead of an order."""
    make_product("PRI-1", "10.00", {"SH": 5})
    created = orders.create_order(order_input(("PRI-1", 1), priority=priority), CLERK)
    orders.update_order(created.id, {"priority": priority + 1}, CLERK, expected_version=1)
    with db.transaction() as s:
        assert s.execute(select(Order.priority).where(Order.id == created.id)).scalar_one() == 4


@pytest.mark.parametrize("status", ["paid", "refunded"])
def test_payment_status_changes_only_through_payment_and_refund_actions(db_url: str, status: str) -> None:
    make_product("RB-1", "10.00", {"SH": 20})
    result = orders.create_order(order_input(("RB-1", 1), payment_status="unpaid"), CLERK)
    with pytest.raises(ValidationError) as err:
        orders.update_order(result.id, {"payment_status": status}, MANAGER, expected_version=1)
    assert [(i.field, i.message) for i in err.value.issues] == [("payment_status", "rb.payment_status_locked")]
    with db.transaction() as s:
        assert s.execute(select(Order.payment_status).where(Order.id == result.id)).scalar_one() == "unpaid"


def test_order_entry_refuses_a_date_in_year_9999(db_url: str) -> None:
    make_product("RB-1", "10.00", {"SH": 20})
    with pytest.raises(ValidationError) as err:
        orders.create_order(order_input(("RB-1", 1), placed_at=dt.datetime(9999, 1, 1)), CLERK)
    assert [(i.field, i.message) for i in err.value.issues] == [("placed_at", "rb.date_range")]


def test_a_trailing_space_does_not_make_a_new_external_reference(db_url: str) -> None:
    make_product("RB-1", "10.00", {"SH": 20})
    first = orders.create_order(order_input(("RB-1", 1), external_ref="EXT-1"), CLERK)
    with pytest.raises(Conflict):
        orders.create_order(order_input(("RB-1", 1), external_ref="EXT-1 "), CLERK)
    with db.transaction() as s:
        assert s.execute(select(Order.external_ref).where(Order.id == first.id)).scalar_one() == "EXT-1"
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 1


@pytest.mark.parametrize("body, code, field", [
    (GOOD_ROW.replace(",1,79.00", ",200000,79.00"), "rb_too_large", "qty"),
    (GOOD_ROW.replace("张杨路1号", "路" * 400), "rb_too_long", "address"),
    (GOOD_ROW.replace("2026-11-01", "9999-11-01"), "future_date", "placed_at"),
    (GOOD_ROW.replace("2026-11-01", "1900-11-01"), "rb_date_range", "placed_at"),
])
def test_the_import_refuses_history_outside_the_rulebook(db_url: str, body: str, code: str, field: str) -> None:
    catalogue()
    before = counts()
    report = run("orders", _csv("bad.csv", body))
    assert report.status == "rejected" and report.accepted == 0
    assert code in codes(report), report.issues
    assert report.issues.loc[report.issues["code"] == code, "field"].iloc[0] == field
    assert counts() == before


def test_the_import_trims_external_references(db_url: str) -> None:
    catalogue()
    assert run("orders", _csv("a.csv", GOOD_ROW)).status == "imported"
    again = run("orders", _csv("b.csv", GOOD_ROW.replace("B-1,", "B-1 ,")))
    assert again.counts.get("orders_created", 0) == 0
    assert list(orders_by_ref()) == ["B-1"]


def test_the_history_writer_applies_the_rulebook_itself(db_url: str) -> None:
    """A caller that skips the suite still cannot write qty 200,000 or a 400-character address."""
    import pandas as pd

    catalogue()
    product_ids = {"TS-001-BK-M": make_product("RB-9", "1.00")}
    row = {"_okey": "WECHAT\x1fH-1", "_row": 2, "_target": "completed", "payment_status_v": "paid",
           "payment_method_v": None, "delivery_method_v": None, "customer_name": "王芳", "phone_v": None,
           "province": "上海", "city": "上海市", "district": "浦东新区", "address": "路" * 400,
           "external_ref": "H-1", "carrier": None, "tracking_no": None, "note": None,
           "placed_at_v": pd.Timestamp("2026-11-01 02:00"), "qty_v": 200000.0, "_unit_price": 7900.0,
           "_disc": 0.0, "_line_total": 7900.0 * 200000, "_subtotal": 7900.0 * 200000, "_order_disc": 0.0,
           "_shipping": 0.0, "_total": 7900.0 * 200000, "sku": "TS-001-BK-M", "channel_v": "WECHAT",
           "warehouse_v": "SH", "customer_id": 0, "email_v": None, "approved_at_v": pd.NaT, "shipped_at_v": pd.NaT,
           "delivered_at_v": pd.NaT, "cancelled_at_v": pd.NaT}
    row["customer_id"] = orders.create_order(order_input(("TS-001-BK-M", 1)), CLERK).customer_id
    rows = pd.DataFrame([row])
    before = counts()
    with pytest.raises(ValidationError) as err, db.transaction() as s:
        write_history(s, rows, actor=MANAGER, ref=snapshot(s), note="test", product_ids=product_ids, deduct_stock=False,
                      progress=lambda _: None)
    assert sorted((i.field, i.row) for i in err.value.issues) == [("address", 2), ("qty", 2)]
    assert counts() == before


def test_stock_and_product_imports_are_bounded(db_url: str) -> None:
    """A stock level of 4×10^18 or a price of 10^12 is refused by the suite (the ceiling and the
    money width come from core.domain), not by an overflow or a raw database error."""
    catalogue()
    before = counts()
    stock = run("stock", _csv("huge.csv", "TS-001-BK-M,SH,4000000000000000000", "sku,warehouse,qty"))
    assert stock.status == "rejected" and codes(stock) == ["rb_too_large"]
    products = run("products", _csv("dear.csv", "TS-001-BK-M,T恤,1000000000000.00", "sku,name,unit_price"))
    assert products.status == "rejected" and codes(products) == ["rb_too_large"]
    assert counts() == before
