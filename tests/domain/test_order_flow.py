"""The order state machine alone (core.domain.order_flow): every edge, every refusal, what a
move implies and who may make it — no database."""

from __future__ import annotations

import pytest

from core.domain.order_flow import (
    OrderState,
    check_edit_fields,
    check_editable,
    check_movable,
    check_pack_verified,
    check_scannable,
    check_shippable,
    missing_units,
    next_states,
    pack_verified,
    plan_transition,
    shipment_fields,
    shipping_issues,
    target_permission,
    units_to_ship,
)
from core.domain.rulebook import STATUSES
from core.errors import IllegalTransition, PackNotVerified, Refused, ValidationError
from core.permissions import Actor

BOSS = Actor("boss", "manager")
CLERK = Actor("clerk1", "clerk")
SERVICE = Actor("cs1", "service")
WAREHOUSE = Actor("wh1", "warehouse")
BUYER = Actor("buyer1", "buyer")


def _moves_from(status: str) -> set[str]:
    """The targets the state machine lets an order in ``status`` reach (asked, not read from the table)."""
    reachable = set()
    for target in STATUSES:
        try:
            plan_transition(OrderState("SO-1", status, created_by="someone"), target, BOSS)
        except IllegalTransition:
            continue
        reachable.add(target)
    return reachable


# --- every edge ----------------------------------------------------------------------------------


def test_an_order_waiting_for_review_can_be_confirmed_held_or_cancelled() -> None:
    assert _moves_from("pending_review") == {"confirmed", "on_hold", "cancelled"}


def test_a_confirmed_order_can_be_picked_held_or_cancelled() -> None:
    assert _moves_from("confirmed") == {"picking", "on_hold", "cancelled"}


def test_an_order_being_picked_can_be_packed_sent_back_to_confirmed_or_cancelled() -> None:
    assert _moves_from("picking") == {"packed", "confirmed", "cancelled"}


def test_a_packed_order_can_only_be_shipped_or_cancelled() -> None:
    assert _moves_from("packed") == {"shipped", "cancelled"}


def test_a_shipped_order_can_only_be_delivered_never_cancelled() -> None:
    assert _moves_from("shipped") == {"delivered"}


def test_a_delivered_order_can_only_be_completed() -> None:
    assert _moves_from("delivered") == {"completed"}


def test_completed_and_cancelled_orders_go_nowhere() -> None:
    assert _moves_from("completed") == set()
    assert _moves_from("cancelled") == set()


def test_an_order_on_hold_can_go_back_to_review_be_confirmed_or_cancelled() -> None:
    assert _moves_from("on_hold") == {"pending_review", "confirmed", "cancelled"}


def test_a_backorder_can_be_confirmed_held_or_cancelled() -> None:
    assert _moves_from("backordered") == {"confirmed", "on_hold", "cancelled"}


def test_an_illegal_edge_is_refused_naming_both_statuses() -> None:
    with pytest.raises(IllegalTransition) as caught:
        plan_transition(OrderState("SO-9", "shipped"), "cancelled", BOSS)
    assert caught.value.params == {"number": "SO-9", "from_status": "shipped", "to_status": "cancelled"}


def test_nobody_moves_an_order_to_backordered_or_to_an_unknown_status() -> None:
    for target in ("backordered", "lost", ""):
        with pytest.raises(IllegalTransition) as caught:
            target_permission(target)
        assert caught.value.params == {"to_status": target}
        with pytest.raises(IllegalTransition):
            plan_transition(OrderState("SO-1", "confirmed"), target, BOSS)


# --- who may move an order -------------------------------------------------------------------------


def test_reviewing_needs_order_review_picking_packing_and_shipping_need_order_fulfil() -> None:
    assert {s: target_permission(s) for s in ("pending_review", "confirmed", "on_hold")} == dict.fromkeys(
        ("pending_review", "confirmed", "on_hold"), "order.review")
    assert {s: target_permission(s) for s in ("picking", "packed", "shipped")} == dict.fromkeys(
        ("picking", "packed", "shipped"), "order.fulfil")


def test_delivery_completion_and_cancellation_each_have_their_own_permission() -> None:
    assert (target_permission("delivered"), target_permission("completed"), target_permission("cancelled")) == (
        "order.deliver", "order.complete", "order.cancel")


def test_the_creator_may_not_approve_their_own_order_waiting_for_review() -> None:
    with pytest.raises(Refused) as caught:
        plan_transition(OrderState("SO-7", "pending_review", created_by="cs1"), "confirmed", SERVICE)
    assert (caught.value.key, caught.value.params) == ("rb.own_request", {"reference": "SO-7"})


def test_the_creator_may_still_hold_or_cancel_their_own_order_waiting_for_review() -> None:
    order = OrderState("SO-7", "pending_review", created_by="cs1")
    assert plan_transition(order, "on_hold", SERVICE).to_status == "on_hold"
    assert plan_transition(order, "cancelled", SERVICE).to_status == "cancelled"


def test_a_second_person_approves_an_order_waiting_for_review() -> None:
    order = OrderState("SO-7", "pending_review", created_by="cs1")
    assert plan_transition(order, "confirmed", BOSS).to_status == "confirmed"


def test_releasing_ones_own_order_from_hold_is_not_a_review() -> None:
    order = OrderState("SO-7", "on_hold", created_by="cs1")
    assert plan_transition(order, "confirmed", SERVICE).to_status == "confirmed"


# --- what a move implies ---------------------------------------------------------------------------


def test_confirming_reserves_what_is_missing_stamps_the_approval_and_tells_the_customer() -> None:
    plan = plan_transition(OrderState("SO-1", "backordered"), "confirmed", BOSS)
    assert (plan.from_status, plan.stock, plan.timestamp, plan.notify_customer) == (
        "backordered", "reserve_missing", "approved_at", True)
    assert not plan.needs_pack_scan and not plan.needs_shipment


def test_cancelling_releases_every_reservation_stamps_and_tells_the_customer() -> None:
    for status in ("pending_review", "confirmed", "picking", "packed", "on_hold", "backordered"):
        plan = plan_transition(OrderState("SO-1", status), "cancelled", BOSS)
        assert (plan.stock, plan.timestamp, plan.notify_customer) == ("release_all", "cancelled_at", True)


def test_shipping_turns_reservations_into_shipments_and_needs_a_shipment() -> None:
    plan = plan_transition(OrderState("SO-1", "packed"), "shipped", WAREHOUSE)
    assert (plan.stock, plan.timestamp, plan.notify_customer, plan.needs_shipment) == (
        "ship_all", "shipped_at", True, True)


def test_delivery_is_stamped_and_told_completion_is_stamped_only() -> None:
    delivered = plan_transition(OrderState("SO-1", "shipped"), "delivered", WAREHOUSE)
    completed = plan_transition(OrderState("SO-1", "delivered"), "completed", SERVICE)
    assert (delivered.stock, delivered.timestamp, delivered.notify_customer) == (None, "delivered_at", True)
    assert (completed.stock, completed.timestamp, completed.notify_customer) == (None, "completed_at", False)


def test_picking_packing_and_holding_touch_no_stock_stamp_nothing_and_stay_internal() -> None:
    for status, target in (("confirmed", "picking"), ("picking", "packed"), ("confirmed", "on_hold"),
                           ("on_hold", "pending_review")):
        plan = plan_transition(OrderState("SO-1", status), target, BOSS)
        assert (plan.stock, plan.timestamp, plan.notify_customer) == (None, None, False), (status, target)


def test_sending_an_order_back_from_picking_confirms_it_again() -> None:
    plan = plan_transition(OrderState("SO-1", "picking"), "confirmed", BOSS)
    assert (plan.stock, plan.timestamp, plan.notify_customer) == ("reserve_missing", "approved_at", True)


def test_only_packing_asks_for_the_pack_scan() -> None:
    assert plan_transition(OrderState("SO-1", "picking"), "packed", WAREHOUSE).needs_pack_scan
    assert not plan_transition(OrderState("SO-1", "packed"), "shipped", WAREHOUSE).needs_pack_scan


# --- what the order page offers ------------------------------------------------------------------


def test_the_page_offers_a_manager_every_next_status_in_status_order() -> None:
    assert next_states(OrderState("SO-1", "confirmed"), BOSS, packing_by_scan=False) == (
        "picking", "on_hold", "cancelled")


def test_the_page_offers_each_role_only_what_its_permissions_allow() -> None:
    confirmed = OrderState("SO-1", "confirmed")
    assert next_states(confirmed, WAREHOUSE, packing_by_scan=False) == ("picking",)
    assert next_states(confirmed, CLERK, packing_by_scan=False) == ("cancelled",)
    assert next_states(confirmed, BUYER, packing_by_scan=False) == ()
    assert next_states(OrderState("SO-1", "shipped"), SERVICE, packing_by_scan=False) == ("delivered",)


def test_packing_by_hand_is_not_offered_when_the_shop_packs_by_scan() -> None:
    picking = OrderState("SO-1", "picking")
    # the warehouse may put an order back in the queue (a short pick), never pack it by hand here
    assert next_states(picking, WAREHOUSE, packing_by_scan=True) == ("confirmed",)
    assert next_states(picking, WAREHOUSE, packing_by_scan=False) == ("confirmed", "packed")
    assert next_states(picking, BOSS, packing_by_scan=True) == ("confirmed", "cancelled")
    assert next_states(picking, BOSS, packing_by_scan=False) == ("confirmed", "packed", "cancelled")


def test_the_creator_is_not_offered_approving_their_own_order() -> None:
    mine = OrderState("SO-1", "pending_review", created_by="cs1")
    assert next_states(mine, SERVICE, packing_by_scan=True) == ("on_hold", "cancelled")
    assert next_states(mine, Actor("cs2", "service"), packing_by_scan=True) == ("confirmed", "on_hold", "cancelled")


def test_nothing_is_offered_for_a_finished_order() -> None:
    for status in ("completed", "cancelled"):
        assert next_states(OrderState("SO-1", status), BOSS, packing_by_scan=False) == ()


# --- what a move needs ------------------------------------------------------------------------------


def test_packing_by_hand_is_refused_while_units_are_unscanned() -> None:
    with pytest.raises(PackNotVerified) as caught:
        check_pack_verified("SO-3", 2, 3)
    assert caught.value.params == {"number": "SO-3", "scanned": 2, "units": 3}
    check_pack_verified("SO-3", 3, 3)
    assert pack_verified(3, 3) and not pack_verified(0, 1)


def test_a_parcel_ships_only_with_a_tracking_number_trimmed() -> None:
    with pytest.raises(ValidationError) as caught:
        shipment_fields("express", "SF", "  ")
    assert [(i.field, i.message) for i in caught.value.issues] == [("tracking_no", "issue.required")]
    assert shipment_fields("express", " SF ", " SF123 ") == {"carrier": "SF", "tracking_no": "SF123"}
    assert shipment_fields("freight", None, "T1") == {"carrier": None, "tracking_no": "T1"}


def test_a_customer_collecting_in_store_needs_no_tracking_number() -> None:
    assert shipment_fields("pickup", None, None) == {"carrier": None, "tracking_no": None}


def test_the_warehouse_desk_ships_only_packed_orders_with_carrier_and_tracking() -> None:
    issues = shipping_issues("SO-4", "picking", "express", "", "", 7)
    assert [(i.field, i.message, i.row) for i in issues] == [
        ("order", "inv_issue.not_shippable", 7), ("carrier", "issue.required", 7),
        ("tracking_no", "issue.required", 7)]
    assert issues[0].params == {"number": "SO-4", "status": "picking"}
    assert shipping_issues("SO-4", "packed", "express", "SF", "T1", None) == []
    assert shipping_issues("SO-4", "packed", "pickup", "", "", None) == []


def test_shipping_an_order_that_is_not_packed_is_refused_with_the_packing_hint() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_shippable("SO-4", "picking")
    assert caught.value.params == {"number": "SO-4", "from_status": "picking", "to_status": "shipped"}
    check_shippable("SO-4", "packed")


def test_confirming_reserves_only_what_a_line_still_lacks() -> None:
    assert missing_units(5, 0, 0) == 5
    assert missing_units(5, 2, 1) == 2
    assert missing_units(5, 5, 0) == 0
    assert missing_units(5, 3, 3) == 0  # never negative


def test_a_line_ships_its_whole_reservation_and_refuses_when_it_does_not_cover_the_line() -> None:
    assert units_to_ship("A", 5, 5, 0) == 5
    assert units_to_ship("A", 5, 3, 2) == 3
    with pytest.raises(IllegalTransition) as caught:
        units_to_ship("A", 5, 4, 0)
    assert caught.value.params == {"sku": "A"}


# --- the floor and edits ------------------------------------------------------------------------------


def test_only_orders_not_yet_picked_move_to_another_warehouse() -> None:
    for status in ("pending_review", "confirmed", "on_hold", "backordered"):
        check_movable("SO-5", status)
    for status in ("picking", "packed", "shipped", "delivered", "completed", "cancelled"):
        with pytest.raises(IllegalTransition):
            check_movable("SO-5", status)


def test_the_pack_bench_scans_only_confirmed_or_picking_orders() -> None:
    for status in ("confirmed", "picking"):
        check_scannable("SO-6", status)
    for status in set(STATUSES) - {"confirmed", "picking"}:
        with pytest.raises(IllegalTransition) as caught:
            check_scannable("SO-6", status)
        assert caught.value.params["to_status"] == "packed"


def test_the_payment_status_is_never_edited_by_hand() -> None:
    with pytest.raises(ValidationError) as caught:
        check_edit_fields({"payment_status": "paid", "status": "completed"})
    assert [(i.field, i.message) for i in caught.value.issues] == [("payment_status", "rb.payment_status_locked")]


def test_fields_outside_the_editable_ones_are_refused_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        check_edit_fields({"total": 1, "status": "completed", "note": "ok"})
    assert [(i.field, i.message) for i in caught.value.issues] == [("status", "rb.not_editable"),
                                                                    ("total", "rb.not_editable")]
    check_edit_fields({"note": "leave at the door", "ship_phone": "13800000000", "priority": 5})


def test_an_order_that_shipped_or_was_cancelled_is_no_longer_edited() -> None:
    for status in ("shipped", "delivered", "completed", "cancelled"):
        with pytest.raises(IllegalTransition):
            check_editable("SO-8", status)
    for status in ("pending_review", "confirmed", "picking", "packed", "on_hold", "backordered"):
        check_editable("SO-8", status)
