"""Waves: a rule takes confirmed orders of one warehouse, most urgent first, into slots; the
wave prints as one pick list in walking order; sort-to-order sends each unit to the most urgent
slot still waiting (wrong and extra units refused, nothing recorded); a short pick sends the
least urgent orders back to the queue with an alert; refusals write nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import db
from core.domain.waves import WaveRule
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import Alert, Order, Product, SortScan
from core.services import bins, orders, waves
from core.services.bins import BinInput
from core.services.fulfillment import ScanRefused, list_pick_lists, pick_list, scan_item
from tests.factories import CLERK, SERVICE, WAREHOUSE, make_product, order_input


def _barcode(sku: str) -> str:
    with db.transaction() as s:
        return s.execute(select(Product.barcode).where(Product.sku == sku)).scalar_one()


def _status(number: str) -> str:
    with db.transaction(readonly=True) as s:
        return s.execute(select(Order.status).where(Order.number == number)).scalar_one()


@pytest.fixture
def floor(db_url: str) -> dict[str, str]:
    """SH with bins A (walk 2) and B (walk 1); four orders: urgent (A×2), single (B×1),
    mixed (A×1, B×1), and a GZ order that must stay out."""
    for sku in "AB":
        make_product(sku, "10.00", {"SH": 20, "GZ": 20})
    bins.save_bin(BinInput("SH", "A-01", "pick", 2), WAREHOUSE)
    bins.save_bin(BinInput("SH", "B-01", "pick", 1), WAREHOUSE)
    bins.set_home_bin("SH", "A", "A-01", WAREHOUSE)
    bins.set_home_bin("SH", "B", "B-01", WAREHOUSE)
    made = {
        "mixed": orders.create_order(order_input(("A", 1), ("B", 1)), CLERK).number,
        "single": orders.create_order(order_input(("B", 1)), CLERK).number,
        "urgent": orders.create_order(order_input(("A", 2), priority=5), CLERK).number,
        "gz": orders.create_order(order_input(("A", 1), province="广东", city="广州市", district="天河区"),
                                  CLERK).number,
    }
    return made


def test_a_rule_takes_the_most_urgent_fitting_orders_into_slots(floor: dict[str, str]) -> None:
    preview = waves.preview_wave("SH", WaveRule(), WAREHOUSE)
    assert list(preview["number"]) == [floor["urgent"], floor["mixed"], floor["single"]]
    assert list(waves.preview_wave("SH", WaveRule(single_unit=True), WAREHOUSE)["number"]) == [floor["single"]]
    assert list(waves.preview_wave("SH", WaveRule(max_lines=2), WAREHOUSE)["number"]) == [floor["urgent"],
                                                                                           floor["single"]]
    wave = waves.create_wave("SH", WaveRule(max_orders=2), WAREHOUSE)
    assert (wave.orders, wave.units, wave.lines) == ((floor["urgent"], floor["mixed"]), 4, 3)
    assert [_status(n) for n in wave.orders] == ["picking", "picking"] and _status(floor["single"]) == "confirmed"
    doc = pick_list(wave.id, WAREHOUSE)  # one consolidated list in walking order: B-01 before A-01
    assert list(zip(doc.items["bin"], doc.items["qty"], strict=True)) == [("B-01", 1), ("A-01", 3)]
    slots = waves.wave_slots(wave.id, WAREHOUSE)
    assert list(zip(slots["slot"], slots["number"], slots["units"], strict=True)) == [
        (1, floor["urgent"], 2), (2, floor["mixed"], 2)]
    assert list(list_pick_lists(WAREHOUSE, kind="wave")["number"]) == [wave.number]


def test_refusals_write_nothing(floor: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as err:
        waves.create_wave("SH", WaveRule(max_orders=0), WAREHOUSE)
    assert err.value.issues[0].message == "wave_issue.cap"
    with pytest.raises(Refused) as refused:
        waves.create_wave("SH", WaveRule(carrier="NOBODY"), WAREHOUSE)
    assert refused.value.key == "wave.empty"
    with pytest.raises(PermissionDenied):
        waves.create_wave("SH", WaveRule(), SERVICE)
    bins.set_home_bin("SH", "B", None, WAREHOUSE)  # B has no home bin: the picker would not know where
    with pytest.raises(ValidationError) as err:
        waves.create_wave("SH", WaveRule(), WAREHOUSE)
    assert err.value.issues[0].message == "bin_issue.no_home_bin_in"
    assert [_status(n) for n in floor.values()] == ["confirmed"] * 4
    assert list_pick_lists(WAREHOUSE, kind="wave").empty


def test_sort_to_order_fills_the_most_urgent_slot_first(floor: dict[str, str]) -> None:
    wave = waves.create_wave("SH", WaveRule(), WAREHOUSE)
    first = waves.sort_scan(wave.id, _barcode("A"), WAREHOUSE)
    assert (first.slot, first.number, first.sorted_units, first.order_units, first.wave_left) == (
        1, floor["urgent"], 1, 2, 4)
    assert waves.sort_scan(wave.id, "A", WAREHOUSE).order_done  # the SKU typed works too
    third = waves.sort_scan(wave.id, _barcode("A"), WAREHOUSE)
    assert (third.slot, third.number) == (2, floor["mixed"])
    for code, key in (("NOPE", "pack.unknown_barcode"), (_barcode("A"), "sort.extra_unit")):
        with pytest.raises(ScanRefused) as refused:
            waves.sort_scan(wave.id, code, WAREHOUSE)
        assert refused.value.key == key
    make_product("C", "10.00", {"SH": 5})
    with pytest.raises(ScanRefused) as refused:
        waves.sort_scan(wave.id, "C", WAREHOUSE)
    assert refused.value.key == "sort.not_in_wave"
    with db.transaction(readonly=True) as s:
        assert s.execute(select(func.count(SortScan.id))).scalar_one() == 3  # refusals recorded nothing
    for sku in ("A", "A"):  # packing after sorting is the pack bench as always
        scan_item(_order_id(floor["urgent"]), _barcode(sku), WAREHOUSE)
    assert _status(floor["urgent"]) == "packed"


def _order_id(number: str) -> int:
    with db.transaction(readonly=True) as s:
        return s.execute(select(Order.id).where(Order.number == number)).scalar_one()


def test_a_short_pick_sends_the_least_urgent_orders_back_with_an_alert(floor: dict[str, str]) -> None:
    wave = waves.create_wave("SH", WaveRule(max_orders=2), WAREHOUSE)  # A: urgent×2 (slot 1), mixed×1 (slot 2)
    waves.sort_scan(wave.id, "B", WAREHOUSE)  # slot 2 (mixed) gets its B
    with pytest.raises(ValidationError) as err:
        waves.report_short(wave.id, "A", 4, "not_found", WAREHOUSE)  # only 3 wait
    assert err.value.issues[0].message == "wave_issue.short_qty"
    result = waves.report_short(wave.id, "A", 1, "not_found", WAREHOUSE)
    assert result.sent_back == (floor["mixed"],)  # the least urgent goes back, the urgent one still ships
    assert _status(floor["mixed"]) == "confirmed" and _status(floor["urgent"]) == "picking"
    slots = waves.wave_slots(wave.id, WAREHOUSE)
    assert list(slots["sent_back"]) == ["", "not_found"] and list(slots["sorted"]) == [0, 0]  # its B goes back
    with db.transaction(readonly=True) as s:
        [alert] = s.execute(select(Alert).where(Alert.kind == "pick_short")).scalars()
    assert alert.entity_id == wave.number and floor["mixed"] in alert.message
    with pytest.raises(ScanRefused):  # the single B left on the wave was the mixed order's
        waves.sort_scan(wave.id, "B", WAREHOUSE)
    assert waves.preview_wave("SH", WaveRule(), WAREHOUSE)["number"].tolist() == [floor["mixed"], floor["single"]]


def test_due_time_and_carrier_narrow_the_wave(floor: dict[str, str]) -> None:
    with db.transaction() as s:
        s.execute(Order.__table__.update().where(Order.number == floor["single"])
                  .values(due_by=dt.datetime(2026, 11, 25, 6), carrier="ZTO"))
    soon = WaveRule(due_before=dt.datetime(2026, 11, 25, 8))
    assert waves.preview_wave("SH", soon, WAREHOUSE)["number"].tolist() == [floor["single"]]
    assert waves.preview_wave("SH", WaveRule(carrier="ZTO"), WAREHOUSE)["number"].tolist() == [floor["single"]]
