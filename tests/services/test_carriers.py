"""Carriers at dispatch: the cheapest carrier by province × weight band, a carrier forced by a
rule, tracking-number patterns, pre-allocated number ranges (no number twice under a race; an
empty range refused with an alert), weighing tolerance, shipping labels, permissions."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core import db
from core.documents.shipping_label import render_labels
from core.domain import parcels
from core.errors import NotFound, PermissionDenied, Refused, ValidationError
from core.models import Alert, Order, Product, TrackingRange
from core.services import (
    carriers,
    labels,
    master_data,
    orders,
    rules_admin,
    shop_settings,
    tracking_numbers,
    waves,
)
from core.services.fulfillment import ship_bulk, ship_order
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan
from tests.pdf_text import pdf_text


def _weigh(sku: str, kg: str) -> None:
    with db.transaction() as s:
        s.execute(update(Product).where(Product.sku == sku).values(weight_kg=Decimal(kg)))


@pytest.fixture
def floor(db_url: str) -> None:
    """Two carriers: SF (any province, pricier; SF + 12 digits) and ZTO (only 上海, cheap)."""
    make_product("A", "10.00", {"SH": 500})
    make_product("B", "20.00", {"SH": 500})
    _weigh("A", "0.400")
    _weigh("B", "2.000")
    master_data.update_carrier(master_data.CarrierInput("SF", "顺丰速运", services="标快, 特快",
                                                        tracking_pattern=r"SF\d{12}"), ADMIN)
    master_data.update_carrier(master_data.CarrierInput("ZTO", "中通快递", tracking_pattern=r"7\d{11}"), ADMIN)
    carriers.set_rates("SF", [carriers.RateRow("*", "1", "15.00"), carriers.RateRow("*", "5", "22.00"),
                              carriers.RateRow("上海", "1", "12.00")], ADMIN)
    carriers.set_rates("ZTO", [carriers.RateRow("上海市", "1", "8.00"), carriers.RateRow("上海", "3", "10.00")],
                       ADMIN)
    tracking_numbers.add_range("SF", "SF", 1, 1000, 12, ADMIN)
    tracking_numbers.add_range("ZTO", "7", 1, 1000, 11, ADMIN)


def _packed(*lines: tuple[str, int], **kw: object) -> int:
    order_id = orders.create_order(order_input(*lines, **kw), CLERK).id
    pack_by_scan(order_id)
    return order_id


def test_cheapest_carrier_serving_province_and_weight(floor: None) -> None:
    shanghai = _packed(("A", 2))  # 0.8 kg to 上海: ZTO 8.00 beats SF 12.00
    choice = carriers.suggest_carrier(shanghai, WAREHOUSE)
    assert (choice.code, choice.cost, choice.expected_kg, choice.forced) == ("ZTO", Decimal("8.00"),
                                                                             Decimal("0.800"), False)
    heavy = _packed(("A", 1), ("B", 1))  # 2.4 kg: ZTO's 3 kg band (10.00) beats SF's 5 kg band
    assert carriers.suggest_carrier(heavy, WAREHOUSE).cost == Decimal("10.00")
    far = _packed(("A", 1), province="新疆", city="乌鲁木齐市")  # ZTO does not go there: SF's * rows
    assert (carriers.suggest_carrier(far, WAREHOUSE).code, carriers.suggest_carrier(far, WAREHOUSE).cost) == \
        ("SF", Decimal("15.00"))
    too_heavy = _packed(("B", 3), province="新疆", city="乌鲁木齐市")  # 6 kg: above every band
    with pytest.raises(Refused) as refused:
        carriers.suggest_carrier(too_heavy, WAREHOUSE)
    number = orders.order_detail(too_heavy, MANAGER).header["number"]
    assert refused.value.key == "carrier.none_serves" and number in str(refused.value) and "新疆" in str(refused.value)


def test_carrier_forced_by_channel_rule(floor: None) -> None:
    rules_admin.save_rule(None, rules_admin.RuleInput(
        "电话单走顺丰", "carrier", 1, {"field": "channel", "op": "==", "value": "PHONE"}, {"carrier": "顺丰速运"}),
        MANAGER)
    order_id = _packed(("A", 1))
    choice = carriers.suggest_carrier(order_id, WAREHOUSE)
    assert (choice.code, choice.forced, choice.cost) == ("SF", True, Decimal("12.00"))
    [label] = labels.print_labels([order_id], WAREHOUSE)
    assert label.carrier == "顺丰速运" and label.tracking_no == "SF000000000001"


def test_typed_tracking_number_checked_against_pattern(floor: None) -> None:
    order_id = _packed(("A", 1))
    number = orders.order_detail(order_id, MANAGER).header["number"]
    with pytest.raises(ValidationError) as bad:
        ship_order(order_id, "顺丰速运", "SF12345", WAREHOUSE)
    [issue] = bad.value.issues
    assert issue.message == "carrier.issue_pattern"
    assert all(part in str(bad.value) for part in (number, "SF12345", "顺丰速运"))
    assert orders.order_detail(order_id, MANAGER).header["status"] == "packed"  # nothing written
    with pytest.raises(ValidationError) as bulk:
        ship_bulk(f"order,carrier,tracking\n{number},中通快递,SF000000000001\n".encode(), WAREHOUSE)
    assert bulk.value.issues[0].row == 2 and bulk.value.issues[0].message == "carrier.issue_pattern"
    ship_order(order_id, "顺丰速运", "SF123456789012", WAREHOUSE)
    assert orders.order_detail(order_id, MANAGER).header["tracking_no"] == "SF123456789012"


def test_pattern_must_be_a_regular_expression(floor: None) -> None:
    with pytest.raises(ValidationError) as bad:
        master_data.update_carrier(master_data.CarrierInput("SF", "顺丰速运", tracking_pattern="SF[0-9"), ADMIN)
    assert bad.value.issues[0].message == "md.issue_tracking_pattern"


def test_ship_without_number_takes_the_cheapest_carriers_next(floor: None) -> None:
    order_id = _packed(("A", 1))
    ship_order(order_id, None, None, WAREHOUSE)
    header = orders.order_detail(order_id, MANAGER).header
    assert (header["carrier"], header["tracking_no"]) == ("中通快递", "700000000001")
    assert re.fullmatch(r"7\d{11}", header["tracking_no"])


def _race(n: int) -> list[str]:
    ids = [_packed(("A", 1)) for _ in range(n)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda oid: labels.print_labels([oid], WAREHOUSE)[0].tracking_no, ids))
    return got


def test_number_range_race_hands_out_no_number_twice(floor: None) -> None:
    got = _race(24)
    assert len(set(got)) == len(got) == 24
    with db.transaction() as s:
        assert s.execute(select(TrackingRange.next_no).where(TrackingRange.prefix == "7")).scalar_one() == 25


def test_exhausted_range_refused_with_an_alert(floor: None) -> None:
    tracking_numbers.add_range("SF", "SF", 5000, 5001, 12, ADMIN)
    with db.transaction() as s:  # the first SF range is used up
        s.execute(update(TrackingRange).where(TrackingRange.next_no == 1, TrackingRange.prefix == "SF")
                  .values(next_no=1001))
    far = [_packed(("A", 1), province="新疆", city="乌鲁木齐市") for _ in range(3)]
    assert [lb.tracking_no for lb in labels.print_labels(far[:2], WAREHOUSE)] == ["SF000000005000", "SF000000005001"]
    with pytest.raises(Refused) as refused:
        labels.print_labels([far[2]], WAREHOUSE)
    assert refused.value.key == "carrier.numbers_exhausted" and "顺丰速运" in str(refused.value)
    assert orders.order_detail(far[2], MANAGER).header["tracking_no"] is None  # nothing written
    with pytest.raises(Refused):
        ship_order(far[2], None, None, WAREHOUSE)
    with db.transaction() as s:
        alerts = s.execute(select(Alert.message).where(Alert.kind == "tracking_exhausted")).scalars().all()
    assert alerts == ["顺丰速运 has no tracking numbers left: add a number range"]  # one, not one per refusal


def test_range_must_match_pattern_and_not_overlap(floor: None) -> None:
    with pytest.raises(ValidationError) as bad:
        tracking_numbers.add_range("SF", "JD", 1, 10, 12, ADMIN)
    assert bad.value.issues[0].message == "carrier.issue_range_pattern"
    with pytest.raises(ValidationError) as overlap:
        tracking_numbers.add_range("SF", "SF", 900, 2000, 12, ADMIN)
    assert overlap.value.issues[0].message == "carrier.issue_range_overlap"
    with pytest.raises(ValidationError):
        tracking_numbers.add_range("SF", "SF", 10, 5, 12, ADMIN)
    ranges = tracking_numbers.list_ranges(ADMIN)
    assert list(ranges["left"]) == [1000, 1000]


def test_weighing_outside_tolerance_needs_confirming(floor: None) -> None:
    order_id = _packed(("A", 2))  # expects 0.8 kg; tolerance 10 %
    number = orders.order_detail(order_id, MANAGER).header["number"]
    with pytest.raises(Refused) as off:
        ship_order(order_id, None, None, WAREHOUSE, weighed_kg=Decimal("1.2"))
    assert off.value.key == "carrier.weight_off" and number in str(off.value) and "50.0%" in str(off.value)
    assert orders.order_detail(order_id, MANAGER).header["status"] == "packed"
    with pytest.raises(ValidationError):
        ship_order(order_id, None, None, WAREHOUSE, weighed_kg=Decimal("-1"))
    shop_settings.update_settings({"weighing.tolerance_pct": 60}, ADMIN)
    ship_order(order_id, None, None, WAREHOUSE, weighed_kg=Decimal("1.2"))
    with db.transaction() as s:
        assert s.execute(select(Order.parcel_weight_kg).where(Order.id == order_id)).scalar_one() == Decimal("1.2")


def test_weighing_confirmed_ships_and_near_weight_ships(floor: None) -> None:
    near = _packed(("A", 2))
    ship_order(near, None, None, WAREHOUSE, weighed_kg=Decimal("0.85"))  # 6.3 % off
    off = _packed(("A", 2))
    ship_order(off, None, None, WAREHOUSE, weighed_kg=Decimal("2"), confirm_weight=True)
    assert orders.order_detail(off, MANAGER).header["status"] == "shipped"


def test_domain_weight_and_bands() -> None:
    assert parcels.expected_weight([(2, Decimal("0.4")), (1, None)]) == (Decimal("0.800"), 1)
    assert parcels.weight_needs_confirming(Decimal("1"), Decimal("1.1"), 10) is None
    assert parcels.weight_needs_confirming(Decimal("1"), Decimal("1.11"), 10) == Decimal("11.0")
    assert parcels.weight_needs_confirming(Decimal("0"), Decimal("5"), 10) is None  # nothing expected
    assert parcels.mask_name("张三") == "张*" and parcels.mask_name("欧阳娜娜") == "欧***"
    assert parcels.format_number("SF", 42, 12) == "SF000000000042"


def test_label_content_masked_and_drawn(floor: None, monkeypatch: pytest.MonkeyPatch) -> None:
    order_id = _packed(("A", 1), customer_name="张三", phone="13812345678")
    ship_order(order_id, None, None, WAREHOUSE, weighed_kg=Decimal("0.41"))
    [label] = labels.print_labels([order_id], WAREHOUSE)
    number = orders.order_detail(order_id, MANAGER).header["number"]
    assert (label.receiver_name, label.receiver_phone) == ("张*", "138****5678")
    assert "世纪大道 100 号" in label.receiver_address and label.orders == (number,)
    assert (label.tracking_no, label.carrier, label.weight_kg) == ("700000000001", "中通快递", Decimal("0.410"))
    assert label.qr_data == f"ZTO|700000000001|{number}"
    assert labels.print_labels([order_id], WAREHOUSE)[0].tracking_no == "700000000001"  # a reprint: same number
    drawn: list[str] = []
    import reportlab.graphics.barcode.code128 as code128

    real = code128.Code128
    monkeypatch.setattr(code128, "Code128", lambda value, **kw: drawn.append(value) or real(value, **kw))
    pdf = render_labels([label], compress=False)
    assert re.search(rb"/Count 1\b", pdf)
    text = pdf_text(pdf)
    for expected in ("中通快递", "张*138****5678", "700000000001", number):
        assert expected in text, (expected, text)
    assert drawn == ["700000000001"]
    assert "13812345678" not in text


def test_wave_labels_one_page_per_parcel(floor: None) -> None:
    for _ in range(3):
        orders.create_order(order_input(("A", 1)), CLERK)
    wave = waves.create_wave("SH", waves.WaveRule(), WAREHOUSE)
    got = labels.print_wave_labels(wave.id, WAREHOUSE)
    assert [lb.orders[0] for lb in got] == list(wave.orders) and len({lb.tracking_no for lb in got}) == 3
    assert re.search(rb"/Count 3\b", render_labels(got, compress=False))  # the page tree: 3 pages


def test_label_refusals_name_the_order(floor: None) -> None:
    confirmed = orders.create_order(order_input(("A", 1)), CLERK)
    with pytest.raises(Refused) as refused:
        labels.print_labels([confirmed.id], WAREHOUSE)
    assert refused.value.key == "label.not_ready" and confirmed.number in str(refused.value)
    with pytest.raises(NotFound):
        labels.print_labels([10**9], WAREHOUSE)


def test_rates_all_or_nothing_with_rows_named(floor: None) -> None:
    with pytest.raises(ValidationError) as bad:
        carriers.set_rates("ZTO", [carriers.RateRow("上海", "1", "8.00"), carriers.RateRow("", "1", "1"),
                                   carriers.RateRow("上海", "1", "9"), carriers.RateRow("北京", "0", "-1")], ADMIN)
    assert {(i.row, i.field) for i in bad.value.issues} == {(2, "province"), (3, "max_kg"), (4, "max_kg"),
                                                            (4, "cost")}
    assert len(carriers.list_rates(ADMIN, carrier="ZTO")) == 2  # unchanged


def test_permissions(floor: None) -> None:
    order_id = _packed(("A", 1))
    for call in (lambda: labels.print_labels([order_id], SERVICE), lambda: carriers.suggest_carrier(order_id, CLERK),
                 lambda: carriers.set_rates("SF", [], WAREHOUSE),
                 lambda: tracking_numbers.add_range("SF", "SF", 5000, 5001, 12, WAREHOUSE)):
        with pytest.raises(PermissionDenied):
            call()
    assert orders.order_detail(order_id, MANAGER).header["tracking_no"] is None

