"""Merged orders (合单): candidates are open orders of one customer and shop going to one door
(after normalising the address); do-not-merge, intercepted, other customers, shops and
addresses stay apart; a group picks, packs and ships as one parcel with one tracking number;
undo works until picking; refusals name the order and why and write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db
from core.domain.waves import WaveRule
from core.errors import NotFound, PermissionDenied, Refused
from core.models import AuditLog, MergeGroup, Order, OrderEvent
from core.services import fulfillment, merging, orders, shop_settings, waves
from core.services.orders import holds
from core.worker import periodic
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan


def _order(**kw: object) -> orders.OrderResult:
    return orders.create_order(order_input(("A", 1), **kw), CLERK)


def _row(number: str) -> Order:
    with db.transaction(readonly=True) as s:
        return s.execute(select(Order).where(Order.number == number)).scalar_one()


def _groups() -> int:
    with db.transaction(readonly=True) as s:
        return int(s.execute(select(func.count(MergeGroup.id))).scalar_one())


@pytest.fixture
def stock(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 100})
    make_product("B", "20.00", {"SH": 100})


def test_candidates_match_the_same_door_written_differently(stock: None) -> None:
    first = _order(address="世纪大道 100 号 3 号楼 501 室")
    # the platform's way: full-width digits, province and city repeated, 幢 for 号楼
    second = _order(province="上海市", address="上海市浦东新区世纪大道１００号３幢５０１室")
    other_door = _order(address="世纪大道 102 号")
    other_customer = _order(phone="13900139000", customer_name="李四", address="世纪大道 100 号 3 号楼 501 室")
    other_shop = _order(channel="TMALL", address="世纪大道 100 号 3 号楼 501 室")
    apart = _order(address="世纪大道 100 号 3 号楼 501 室")
    merging.set_do_not_merge(apart.number, True, CLERK)
    held = _order(address="世纪大道100号3号楼501室")
    holds.intercept(held.number, "customer_request", SERVICE)
    assert _row(first.number).merge_key == _row(second.number).merge_key is not None
    assert "世纪" not in str(_row(first.number).merge_key)  # a digest, never the address

    found = merging.merge_candidates(MANAGER)
    assert sorted(found["number"]) == sorted([first.number, second.number])
    assert not {other_door.number, other_customer.number, other_shop.number, apart.number,
                held.number} & set(found["number"])

    [made] = merging.auto_merge(WAREHOUSE, force=True)
    assert made.orders == (first.number, second.number)
    assert _row(first.number).merge_group_id == _row(second.number).merge_group_id is not None
    assert merging.merge_candidates(MANAGER).empty
    # a later order to the same door joins the group
    third = _order(address="世纪大道100号3号楼501室")
    [joined] = merging.auto_merge(WAREHOUSE, force=True)
    assert joined.group == made.group and joined.orders == (first.number, second.number, third.number)


def test_the_rule_runs_only_when_the_shop_turned_it_on(stock: None) -> None:
    _order()
    _order()
    periodic.merge_orders()  # the worker's periodic job, setting off: nothing
    assert _groups() == 0
    shop_settings.update_settings({"merge_orders.auto": True}, ADMIN)
    periodic.merge_orders()
    assert _groups() == 1


def test_manual_merge_refusals_name_the_order_and_why_and_write_nothing(stock: None) -> None:
    a, b = _order(), _order()
    other = _order(address="别处 1 号")
    shop = _order(channel="TMALL")
    apart = _order()
    merging.set_do_not_merge(apart.number, True, CLERK)
    picked = _order()
    fulfillment.create_pick_lists([picked.id], WAREHOUSE)
    held = _order()
    holds.intercept(held.number, "refund_requested", SERVICE)
    cases = [([a.number, held.number], "merge.held", held.number),
             ([a.number, other.number], "merge.other_address", other.number),
             ([a.number, shop.number], "merge.other_shop", shop.number),
             ([a.number, apart.number], "merge.do_not_merge", apart.number),
             ([a.number, picked.number], "merge.not_open", picked.number)]
    for numbers, key, named in cases:
        with pytest.raises(Refused) as refused:
            merging.merge_orders(numbers, WAREHOUSE)
        assert (refused.value.key, refused.value.params["number"]) == (key, named)
    assert _groups() == 0 and _row(a.number).merge_group_id is None
    with pytest.raises(PermissionDenied):
        merging.merge_orders([a.number, b.number], CLERK)  # a floor decision: order.fulfil
    with pytest.raises(PermissionDenied):
        merging.set_do_not_merge(a.number, True, WAREHOUSE)  # an order edit: order.edit
    made = merging.merge_orders([a.number.lower(), b.number], WAREHOUSE)
    assert made.orders == (a.number, b.number)
    with db.transaction(readonly=True) as s:
        assert s.execute(select(AuditLog.action).where(AuditLog.entity_id == made.group)).scalars().all() == [
            "order.merge"]
        notes = s.execute(select(OrderEvent.note).where(OrderEvent.order_id == a.id)).scalars().all()
    assert f"merged: {made.group}" in notes


def test_undo_before_picking_and_not_after(stock: None) -> None:
    a, b = _order(), _order()
    made = merging.merge_orders([a.number, b.number], WAREHOUSE)
    assert merging.undo_merge(made.group, WAREHOUSE) == (a.number, b.number)
    assert _row(a.number).merge_group_id is None and merging.merge_groups(MANAGER).empty
    with pytest.raises(NotFound):
        merging.undo_merge(made.group, WAREHOUSE)  # already undone

    again = merging.merge_orders([a.number, b.number], WAREHOUSE)
    [pick_list] = fulfillment.create_pick_lists([a.id], WAREHOUSE)  # one order brings its group along
    assert set(pick_list.orders) == {a.number, b.number}
    with pytest.raises(Refused) as refused:
        merging.undo_merge(again.group, WAREHOUSE)
    assert refused.value.key == "merge.undo_too_late" and refused.value.params["number"] == a.number
    assert _row(b.number).merge_group_id is not None


def test_a_group_packs_from_one_scan_box_and_ships_with_one_tracking_number(stock: None) -> None:
    a = orders.create_order(order_input(("A", 1)), CLERK)
    b = orders.create_order(order_input(("B", 2)), CLERK)
    made = merging.merge_orders([a.number, b.number], WAREHOUSE)
    fulfillment.create_pick_lists([b.id], WAREHOUSE)
    pack_by_scan(a.id)
    with pytest.raises(Refused) as refused:  # b still waits for its units
        fulfillment.ship_order(a.id, "SF", "SF100", WAREHOUSE)
    assert (refused.value.key, refused.value.params["number"]) == ("merge.ship_not_packed", b.number)
    # scanning B in a's pack box fills b: the group is one parcel
    barcode = fulfillment.pack_progress(b.id, WAREHOUSE)["barcode"].iloc[0]
    fulfillment.scan_item(a.id, barcode, WAREHOUSE)
    result = fulfillment.scan_item(a.id, barcode, WAREHOUSE)
    assert result.number == b.number and result.packed
    fulfillment.ship_order(a.id, "SF", "SF100", WAREHOUSE)
    for number in (a.number, b.number):
        row = _row(number)
        assert (row.status, row.carrier, row.tracking_no) == ("shipped", "SF", "SF100")
    assert merging.merge_groups(MANAGER).empty
    del made


def test_bulk_shipping_one_line_ships_the_whole_group(stock: None) -> None:
    a, b = _order(), _order()
    merging.merge_orders([a.number, b.number], WAREHOUSE)
    fulfillment.create_pick_lists([a.id], WAREHOUSE)
    pack_by_scan(a.id)
    pack_by_scan(b.id)
    fulfillment.ship_bulk(f"order,carrier,tracking\n{a.number},SF,SF200\n".encode(), WAREHOUSE)
    assert _row(b.number).tracking_no == "SF200" and _row(b.number).status == "shipped"


def test_a_wave_takes_a_group_whole_in_one_slot(stock: None) -> None:
    a, b = _order(), _order()
    single = _order(address="别处 1 号")
    merging.merge_orders([a.number, b.number], WAREHOUSE)
    preview = waves.preview_wave("SH", WaveRule(), WAREHOUSE)
    assert f"{a.number} + {b.number}" in set(preview["number"])
    wave = waves.create_wave("SH", WaveRule(max_orders=1), WAREHOUSE)
    assert set(wave.orders) == {a.number, b.number}
    slots = waves.wave_slots(wave.id, WAREHOUSE)
    assert set(slots["slot"]) == {1}
    assert _row(single.number).status == "confirmed"


def test_cancelling_an_order_or_moving_its_address_takes_it_out(stock: None) -> None:
    a, b, c = _order(), _order(), _order()
    made = merging.merge_orders([a.number, b.number, c.number], WAREHOUSE)
    orders.transition(c.id, "cancelled", CLERK)
    assert _row(c.number).merge_group_id is None and _row(a.number).merge_group_id is not None
    orders.update_order(b.id, {"ship_address": "新地址 9 号"}, CLERK, expected_version=_row(b.number).version)
    assert _row(b.number).merge_key != _row(a.number).merge_key
    # a group of one is no group: a ships alone
    assert _row(a.number).merge_group_id is None and _row(b.number).merge_group_id is None
    with pytest.raises(NotFound):
        merging.undo_merge(made.group, WAREHOUSE)


def test_keys_missing_from_before_the_migration_are_filled(stock: None) -> None:
    a, b = _order(), _order()
    with db.transaction() as s:
        s.execute(Order.__table__.update().values(merge_key=None))
    assert merging.merge_candidates(MANAGER).empty
    [made] = merging.auto_merge(WAREHOUSE, force=True)
    assert made.orders == (a.number, b.number)


def test_a_carrier_file_with_two_tracking_numbers_for_one_group_is_refused(stock: None) -> None:
    a, b = _order(), _order()
    merging.merge_orders([a.number, b.number], WAREHOUSE)
    fulfillment.create_pick_lists([a.id], WAREHOUSE)
    pack_by_scan(a.id)
    pack_by_scan(b.id)
    with pytest.raises(Refused) as refused:
        fulfillment.ship_bulk(f"order,carrier,tracking\n{a.number},SF,SF1\n{b.number},SF,SF2\n".encode(), WAREHOUSE)
    assert (refused.value.key, refused.value.params["number"]) == ("merge.bulk_two_tracking", b.number)
    assert _row(a.number).status == "packed"


def test_one_order_of_a_group_never_moves_on_its_own(stock: None) -> None:
    a, b = _order(), _order()
    made = merging.merge_orders([a.number, b.number], WAREHOUSE)
    with pytest.raises(Refused) as refused:  # an API call or a script moving one order
        orders.transition(a.id, "picking", WAREHOUSE)
    assert (refused.value.key, refused.value.params) == ("merge.move_with_group",
                                                         {"number": a.number, "group": made.group})
    barcode = fulfillment.pack_progress(a.id, WAREHOUSE)["barcode"].iloc[0]
    fulfillment.scan_item(b.id, barcode, WAREHOUSE)  # packing straight from the queue starts the whole group
    assert (_row(b.number).status, _row(a.number).status) == ("packed", "picking")  # a started with its group
