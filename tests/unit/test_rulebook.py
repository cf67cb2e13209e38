"""The order rulebook and the quantity rules alone: no database, no session (core.domain is pure)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from core.domain import quantities, rulebook
from core.models import Customer, Money, Order, Payment, Product
from core.services.shop_settings import BY_FIELD

NOW = dt.datetime(2026, 11, 25, 4, 0)


def test_text_widths_are_the_widths_of_the_columns_they_are_stored_in() -> None:
    o, c = Order.__table__.c, Customer.__table__.c
    stored = {"customer_name": c.name, "ship_name": o.ship_name, "phone": c.phone, "ship_phone": o.ship_phone,
              "email": c.email, "province": o.ship_province, "ship_province": o.ship_province, "city": o.ship_city,
              "ship_city": o.ship_city, "district": o.ship_district, "ship_district": o.ship_district,
              "address": o.ship_address, "ship_address": o.ship_address, "external_ref": o.external_ref,
              "payment_ref": Payment.__table__.c.provider_ref, "carrier": o.carrier, "tracking_no": o.tracking_no}
    assert set(rulebook.TEXT_WIDTHS) == set(stored) | {"note"}  # note is Text: the rulebook bounds it
    for name, column in stored.items():
        assert rulebook.TEXT_WIDTHS[name] == column.type.length, name
    assert Customer.__table__.c.province.type.length == rulebook.TEXT_WIDTHS["province"]
    assert Product.__table__.c.sku.type.length >= 1


def test_enums_and_money_match_the_schema() -> None:
    o = Order.__table__.c
    for name in ("payment_method", "payment_status", "delivery_method", "status"):
        assert max(map(len, rulebook.ENUMS[name])) <= o[name].type.length
    assert isinstance(o.total.type, Money)  # whole cents in a BIGINT (docs/money.md)
    assert rulebook.MAX_AMOUNT == Decimal(10 ** 10) - Decimal("0.01")
    # a million amounts of the largest size still sum inside a 64-bit integer (SQLite's SUM)
    assert rulebook.MAX_AMOUNT * 100 * 1_000_000 < 2 ** 63


def test_the_rulebook_is_pure() -> None:
    code = ("import sys, core.domain.rulebook, core.domain.quantities; "
            "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'streamlit', 'core.db'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("header, field, code", [
    ({"delivery_method": "teleport"}, "delivery_method", "issue.one_of"),
    ({"payment_method": "bitcoin"}, "payment_method", "issue.one_of"),
    ({"payment_status": "free"}, "payment_status", "issue.one_of"),
    ({"status": "lost"}, "status", "issue.one_of"),
    ({"note": "x" * 1_000_000}, "note", "issue.too_long"),
    ({"ship_address": "路" * 301}, "ship_address", "issue.too_long"),
    ({"external_ref": "EXT\x00"}, "external_ref", "issue.bad_text"),
    ({"priority": 10 ** 18}, "priority", "rb.between"),
    ({"priority": "high"}, "priority", "issue.whole_number"),
    ({"priority": True}, "priority", "issue.whole_number"),
    ({"placed_at": dt.datetime(9999, 1, 1)}, "placed_at", "rb.date_range"),
    ({"placed_at": dt.datetime(1999, 12, 31, 23, 59)}, "placed_at", "rb.date_range"),
    ({"placed_at": "2026-11-01"}, "placed_at", "rb.not_a_date"),
    ({"shipping_fee": "1e400"}, "shipping_fee", "issue.at_most"),
    ({"total": "-1"}, "total", "issue.negative"),
    ({"total": "-1e400"}, "total", "issue.negative"),
    ({"discount": "abc"}, "discount", "issue.not_a_number"),
])
def test_header_checks(header: dict[str, object], field: str, code: str) -> None:
    assert [(i.field, i.message) for i in rulebook.validate_header(header, NOW)] == [(field, code)]


def test_a_valid_header_and_the_date_window() -> None:
    header = {"delivery_method": "pickup", "payment_method": None, "payment_status": "paid", "priority": 1000,
              "note": "n" * 2000, "placed_at": NOW + rulebook.FUTURE_SLACK, "total": Decimal("9999999999.99")}
    assert rulebook.validate_header(header, NOW) == []
    assert rulebook.validate_header({"placed_at": rulebook.EARLIEST_DATE}, NOW) == []
    assert rulebook.validate_header({"placed_at": NOW + rulebook.FUTURE_SLACK + dt.timedelta(seconds=1)}, NOW)


def test_an_entered_order_needs_the_full_address_unless_picked_up() -> None:
    missing = rulebook.validate_header({"delivery_method": "express", "province": "上海"}, NOW, require_address=True)
    assert [i.field for i in missing] == ["city", "district", "address"]
    assert rulebook.validate_header({"delivery_method": "pickup"}, NOW, require_address=True) == []


@pytest.mark.parametrize("line, field, code", [
    ({"qty": 200_000, "unit_price": 1}, "qty", "issue.at_most"),
    ({"qty": 0, "unit_price": 1}, "qty", "issue.positive"),
    ({"qty": -5, "unit_price": 1}, "qty", "issue.positive"),
    ({"qty": 2.5, "unit_price": 1}, "qty", "issue.whole_number"),
    ({"qty": "5", "unit_price": 1}, "qty", "issue.whole_number"),
    ({"qty": 1, "unit_price": -1}, "unit_price", "issue.negative"),
    ({"qty": 1, "unit_price": 5, "discount": 6}, "discount", "issue.discount_too_large"),
    ({"qty": 100_000, "unit_price": "9999999999.99"}, "line_total", "issue.at_most"),
])
def test_line_checks(line: dict[str, object], field: str, code: str) -> None:
    qty, issues = rulebook.validate_line(line, 3)
    assert [(i.field, i.message, i.row) for i in issues] == [(field, code, 3)]


def test_a_valid_line_and_trimmed_references() -> None:
    assert rulebook.validate_line({"qty": 2.0, "unit_price": "9.90", "discount": "1"}, 1) == (2, [])
    assert rulebook.clean_ref("  EXT-1 ") == "EXT-1"
    assert rulebook.clean_ref("   ") is None and rulebook.clean_ref(None) is None


def test_stock_quantities_are_bounded_in_both_directions() -> None:
    qty, issues = quantities.check_qty(-10 ** 12, "qty_delta", signed=True)
    assert qty is None and [(i.field, i.message) for i in issues] == [("qty_delta", "rb.qty_at_most")]
    assert quantities.check_qty(4 * 10 ** 18, "qty")[1][0].message == "rb.qty_at_most"
    assert quantities.check_qty(-3, "qty", 2)[1][0].message == "issue.negative"
    assert quantities.check_qty(0, "qty")[1][0].message == "issue.positive"
    assert quantities.check_qty(0, "counted", allow_zero=True) == (0, [])
    assert quantities.check_qty(0, "qty_delta", signed=True)[1][0].message == "rb.not_zero"
    assert quantities.check_qty(1.5, "qty")[1][0].message == "issue.whole_number"
    assert quantities.check_qty(quantities.MAX_ROW_QTY, "qty") == (quantities.MAX_ROW_QTY, [])


def test_no_sum_can_overflow() -> None:
    """The arithmetic in core.domain.quantities' docstring, checked."""
    int32, int64 = 2 ** 31 - 1, 2 ** 63 - 1
    assert quantities.MAX_ON_HAND + quantities.MAX_ROW_QTY < int32  # on_hand + delta in PostgreSQL INTEGER
    assert int64 // quantities.MAX_ON_HAND > 9 * 10 ** 9  # stock rows before Σ on_hand could overflow
    assert quantities.check_ceiling(quantities.MAX_ON_HAND - 1, 2, "qty")[0].message == "rb.on_hand_ceiling"
    assert quantities.check_ceiling(quantities.MAX_ON_HAND - 1, 1, "qty") == []


@pytest.mark.parametrize("reason, delta, ok", [
    ("found", 5, True), ("found", -5, False), ("damage", -5, True), ("damage", 5, False),
    ("data_correction", 5, True), ("data_correction", -5, True), ("nonsense", 5, False),
])
def test_adjustment_reasons_fit_the_sign(reason: str, delta: int, ok: bool) -> None:
    assert (quantities.check_reason(reason, delta) == []) is ok


def test_the_adjustment_size_setting_defaults_to_the_rule() -> None:
    assert BY_FIELD["adjustment_approval.units"].default == quantities.DEFAULT_APPROVAL_UNITS


def test_the_screens_agree_with_the_checks() -> None:
    """A row the vectorised screen passes must pass the per-row checks; a flagged one must fail them."""
    import pandas as pd

    headers = pd.DataFrame({
        "status": ["completed", "lost", None, "completed", "completed", "completed", "completed"],
        "payment_method": [None, None, "bitcoin", "cash", None, None, None],
        "address": ["路1号", None, None, "路" * 301, "a\x00b", 5, None],
        "placed_at": [NOW, NOW, NOW, NOW, NOW, NOW, dt.datetime(9999, 1, 1)],
    })
    flagged = rulebook.screen_headers(headers, NOW).tolist()
    for record, flag in zip(headers.to_dict("records"), flagged, strict=True):
        present = {k: v for k, v in record.items() if v is not None and v == v}
        assert bool(rulebook.validate_header(present, NOW)) is flag, record
    qty = pd.Series([1.0, 0.0, 2.5, 200_000.0, 2.0, 1.0, 1.0, float("nan")])
    unit = pd.Series([790.0, 790.0, 790.0, 790.0, -1.0, 1e13, 500.0, 790.0])
    disc = pd.Series([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 600.0, 0.0])
    flagged = rulebook.screen_lines(qty, unit, disc).tolist()
    for q, u, d, flag in zip(qty, unit, disc, flagged, strict=True):
        line = {"qty": q, "unit_price": Decimal(u) / 100, "discount": Decimal(d) / 100} if u == u else {"qty": q}
        assert bool(rulebook.validate_line(line, 1)[1]) is flag, (q, u, d)
