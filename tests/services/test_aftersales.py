"""After-sales service: claims never exceed what shipped, refunds are what was paid (hand-
computed cases), exchanges create a real replacement order, inspection moves goods through
the ledger and releases backorders, the policy window holds unless a manager overrides it."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import Conflict, IllegalTransition, NotFound, PermissionDenied, StaleVersion, ValidationError
from core.models import (
    AuditLog,
    Notification,
    Order,
    OrderEvent,
    Refund,
    Return,
    ReturnLine,
    RMAEvent,
    StockMovement,
)
from core.permissions import Actor
from core.services import aftersales as rma
from core.services import rma_views
from core.services.aftersales import Inspection, PolicyViolation, RMALine, RMARequest, RMAValidationError
from core.services.orders import create_order, transition
from core.services.return_policy import refund_for_units, update_return_policy
from tests.aftersales_data import delivered_order, returned_qty, stock_of
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan

SERVICE2 = Actor("cs2", "service")  # approves what SERVICE opened: nobody approves their own request

D = Decimal


def _request(order_id: int, *lines: tuple[int, int], kind: str = "return", reason: str = "size",
             **kw: object) -> RMARequest:
    return RMARequest(order_id, kind, reason, tuple(RMALine(n, q) for n, q in lines), **kw)  # type: ignore[arg-type]


def _count(model: type) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _through_receipt(rma_id: int, actor=SERVICE2) -> None:  # noqa: ANN001 - an Actor
    rma.transition_rma(rma_id, "approved", actor)
    rma.transition_rma(rma_id, "received", WAREHOUSE)


def _order_payment(order_id: int) -> str:
    with db.transaction() as s:
        return s.execute(select(Order.payment_status).where(Order.id == order_id)).scalar_one()


# --- arithmetic ------------------------------------------------------------------------------


def test_unit_refunds_are_exact_to_the_cent() -> None:
    # (the discount split itself: tests/domain/test_totals.py)
    # 91.66 over 3 units, one at a time: 30.55, 61.11 − 30.55 = 30.56, 91.66 − 61.11 = 30.55
    assert [refund_for_units(D("91.66"), 3, before, 1) for before in range(3)] == [D("30.55"), D("30.56"),
                                                                                    D("30.55")]
    assert refund_for_units(D("91.66"), 3, 0, 3) == D("91.66")


def test_refunds_follow_what_was_paid_then_the_order_is_refunded(db_url: str) -> None:
    make_product("A", "100.00", {"SH": 10})
    make_product("B", "50.00", {"SH": 10})
    # goods 300 + 50, discount 35 (30 on A, 5 on B), shipping 10 → total 325
    order = delivered_order(("A", 3), ("B", 1), discount="35", shipping="10")
    assert order.total == D("325.00")
    first = rma.open_rma(_request(order.id, (1, 1), reason="size"), SERVICE)
    assert first.computed_refund == D("90.00")  # 270 / 3, customer's fault: no shipping
    _through_receipt(first.id)
    refund = rma.refund_rma(first.id, SERVICE)
    assert (refund.amount, refund.payment_status) == (D("90.00"), "partially_refunded")
    # the rest comes back for a quality problem: A 270 − 90, B 45, and now shipping 10
    second = rma.open_rma(_request(order.id, (1, 2), (2, 1), reason="quality"), SERVICE)
    assert second.computed_refund == D("235.00")
    _through_receipt(second.id)
    assert rma.refund_rma(second.id, SERVICE).payment_status == "refunded"
    assert _order_payment(order.id) == "refunded"
    with db.transaction() as s:
        assert s.execute(select(func.sum(Refund.amount))).scalar_one() == D("325.00")
        assert s.execute(select(Return.refund_amount).order_by(Return.id)).scalars().all() == [D("90.00"),
                                                                                               D("235.00")]
        notes = s.execute(select(OrderEvent.note_codes).where(OrderEvent.order_id == order.id,
                                                              OrderEvent.note.contains("refunded"))).scalars().all()
    assert [n[0]["key"] for n in notes] == ["note.rma_refunded"] * 2
    assert notes[-1][0]["params"]["payment_status"] == {"key": "payment_status.refunded"}
    assert returned_qty(order.id) == [3, 1]


@pytest.mark.parametrize(("policy", "reason", "shipping"), [
    ("seller_fault", "size", D("0")), ("seller_fault", "damaged", D("12.00")),
    ("always", "size", D("12.00")), ("never", "quality", D("0")),
])
def test_shipping_is_refunded_per_policy_with_the_whole_order(db_url: str, policy: str, reason: str,
                                                               shipping: Decimal) -> None:
    make_product("A", "40.00", {"SH": 5})
    update_return_policy({}, policy, MANAGER)
    order = delivered_order(("A", 2), shipping="12")
    partial = rma.open_rma(_request(order.id, (1, 1), reason=reason), SERVICE)
    assert partial.computed_refund == D("40.00")  # not the whole order yet: never shipping
    last = rma.open_rma(_request(order.id, (1, 1), reason=reason), SERVICE)
    assert last.computed_refund == D("40.00") + shipping


# --- claims and policy -----------------------------------------------------------------------


def test_over_return_is_refused_line_by_line_and_writes_nothing(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    make_product("B", "10.00", {"SH": 10})
    order = delivered_order(("A", 3), ("B", 1))
    before = (_count(Return), _count(AuditLog), _count(Notification))
    with pytest.raises(RMAValidationError) as err:
        rma.open_rma(_request(order.id, (1, 4), (2, 0), (9, 1)), SERVICE)
    issues = {(i.row, i.field, i.message) for i in err.value.issues}
    assert (1, "qty", "issue.rma_over_return") in issues
    assert "at most 3 left to return (shipped 3, already returned 0)" in str(err.value)
    assert (2, "qty", "issue.positive") in issues
    assert any(row == 9 and field == "line_no" for row, field, _ in issues)
    assert (_count(Return), _count(AuditLog), _count(Notification)) == before
    assert returned_qty(order.id) == [0, 0]
    rma.open_rma(_request(order.id, (1, 2)), SERVICE)
    with pytest.raises(RMAValidationError, match="at most 1 left to return"):
        rma.open_rma(_request(order.id, (1, 2)), SERVICE)
    assert returned_qty(order.id) == [2, 0]


def test_rejecting_or_cancelling_gives_the_quantities_back(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    order = delivered_order(("A", 2))
    first = rma.open_rma(_request(order.id, (1, 2)), SERVICE)
    with pytest.raises(RMAValidationError, match="note"):
        rma.transition_rma(first.id, "rejected", SERVICE)  # the customer must be told why
    rma.transition_rma(first.id, "rejected", SERVICE, note="worn, tags removed")
    assert returned_qty(order.id) == [0]
    second = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    rma.transition_rma(second.id, "approved", SERVICE2)
    rma.transition_rma(second.id, "cancelled", SERVICE, note="customer kept it")
    assert returned_qty(order.id) == [0]
    with pytest.raises(IllegalTransition):
        rma.transition_rma(second.id, "received", WAREHOUSE)
    with db.transaction() as s:
        assert s.execute(select(Return.resolution).order_by(Return.id)).scalars().all() == ["rejected", "cancelled"]


def test_only_shipped_orders_and_the_right_roles(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    pending = create_order(order_input(("A", 1)), CLERK)
    with pytest.raises(IllegalTransition, match="only shipped orders"):
        rma.open_rma(_request(pending.id, (1, 1)), SERVICE)
    order = delivered_order(("A", 1))
    with pytest.raises(PermissionDenied):
        rma.open_rma(_request(order.id, (1, 1)), WAREHOUSE)
    with pytest.raises(PermissionDenied):
        rma_views.list_rmas(CLERK)
    with pytest.raises(NotFound):
        rma.open_rma(_request(999_999, (1, 1)), SERVICE)
    opened = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    with pytest.raises(PermissionDenied):
        rma.transition_rma(opened.id, "approved", WAREHOUSE)
    with pytest.raises(IllegalTransition):
        rma.transition_rma(opened.id, "received", WAREHOUSE)  # not approved yet


def test_return_window_and_recorded_manager_override(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    late = delivered_order(("A", 1), delivered_days_ago=16)  # PHONE orders: 15-day window
    with pytest.raises(PolicyViolation, match="15-day return window") as err:
        rma.open_rma(_request(late.id, (1, 1)), SERVICE)
    assert err.value.key == "error.rma_window" and err.value.params["days"] == 15
    with pytest.raises(PermissionDenied):
        rma.open_rma(_request(late.id, (1, 1), override=True, note="VIP"), SERVICE)
    with pytest.raises(RMAValidationError, match="note"):
        rma.open_rma(_request(late.id, (1, 1), override=True), MANAGER)
    assert _count(Return) == 0
    opened = rma.open_rma(_request(late.id, (1, 1), override=True, note="VIP goodwill"), MANAGER)
    assert opened.override
    with db.transaction() as s:
        assert s.execute(select(Return.policy_override_by)).scalar_one() == "boss"
        note = s.execute(select(RMAEvent.note).where(RMAEvent.return_id == opened.id)).scalar_one()
    assert "VIP goodwill" in note and "policy override by boss" in note
    on_time = delivered_order(("A", 1), delivered_days_ago=14)
    assert not rma.open_rma(_request(on_time.id, (1, 1)), SERVICE).override


def test_policy_edits_are_validated_and_need_rules_permission(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    late = delivered_order(("A", 1), delivered_days_ago=16)
    with pytest.raises(PermissionDenied):
        update_return_policy({"PHONE": 30}, "seller_fault", SERVICE)
    with pytest.raises(ValidationError) as err:
        update_return_policy({"PHONE": -1, "NOPE": 3}, "sometimes", MANAGER)
    assert {i.field for i in err.value.issues} == {"rma_window_days", "channel", "rma_shipping_policy"}
    update_return_policy({"PHONE": 30}, "seller_fault", MANAGER)  # a longer window applies at once
    assert not rma.open_rma(_request(late.id, (1, 1)), SERVICE).override


def test_an_order_in_transit_can_be_returned(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    order = create_order(order_input(("A", 1)), CLERK)
    pack_by_scan(order.id, ADMIN)
    transition(order.id, "shipped", ADMIN, tracking_no="SF1")
    assert rma.open_rma(_request(order.id, (1, 1), reason="damaged"), SERVICE).computed_refund == D("10.00")


# --- inspection and stock --------------------------------------------------------------------


def test_restock_and_write_off_keep_the_ledger_and_release_a_backorder(db_url: str) -> None:
    pid = make_product("A", "10.00", {"SH": 2})
    order = delivered_order(("A", 2))
    waiting = create_order(order_input(("A", 1), allow_backorder=True), CLERK)
    assert waiting.backordered and stock_of(pid) == (0, 0)
    opened = rma.open_rma(_request(order.id, (1, 2), reason="damaged"), SERVICE)
    _through_receipt(opened.id)
    with pytest.raises(RMAValidationError) as err:
        rma.inspect_rma(opened.id, [Inspection(1, 1, "SH")], WAREHOUSE)  # one unit written off without reason
    assert [(i.row, i.field) for i in err.value.issues] == [(1, "rma_damage_reason")]
    with pytest.raises(RMAValidationError, match="warehouse: unknown or inactive: MARS"):
        rma.inspect_rma(opened.id, [Inspection(1, 2, "MARS")], WAREHOUSE)
    with pytest.raises(RMAValidationError, match="every returned line"):
        rma.inspect_rma(opened.id, [], WAREHOUSE)
    result = rma.inspect_rma(opened.id, [Inspection(1, 1, "SH", "screen cracked")], WAREHOUSE)
    assert (result.restocked, result.written_off, result.released_orders) == (1, 1, (waiting.number,))
    assert stock_of(pid) == (1, 1)  # 2 − 2 shipped + 1 resellable; the backorder holds it
    with db.transaction() as s:
        moves = s.execute(select(StockMovement.kind, StockMovement.qty_delta, StockMovement.reason)
                          .where(StockMovement.ref_type == "return").order_by(StockMovement.id)).all()
        line = s.execute(select(ReturnLine.condition, ReturnLine.restocked_qty, ReturnLine.damage_reason)).one()
        assert s.execute(select(Order.status).where(Order.id == waiting.id)).scalar_one() == "confirmed"
    assert [(k, q) for k, q, _ in moves] == [("return_restock", 1), ("return_restock", 1), ("write_off", -1)]
    assert moves[-1].reason.endswith("screen cracked")
    assert tuple(line) == ("partial", 1, "screen cracked")
    with pytest.raises(IllegalTransition):
        rma.inspect_rma(opened.id, [Inspection(1, 2, "SH")], WAREHOUSE)  # inspected once only


def test_resellable_goods_can_go_to_another_warehouse(db_url: str) -> None:
    pid = make_product("A", "10.00", {"SH": 1})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    _through_receipt(opened.id)
    rma.inspect_rma(opened.id, [Inspection(1, 1, "GZ")], WAREHOUSE)
    assert stock_of(pid, "GZ") == (1, 0) and stock_of(pid, "SH") == (0, 0)


# --- exchange --------------------------------------------------------------------------------


def test_exchange_end_to_end(db_url: str) -> None:
    shirt_m = make_product("SHIRT-M", "99.00", {"SH": 1})
    shirt_l = make_product("SHIRT-L", "99.00", {"SH": 3})
    make_product("COAT", "399.00", {"SH": 3})
    order = delivered_order(("SHIRT-M", 1))
    dearer = RMARequest(order.id, "exchange", "size", (RMALine(1, 1, "COAT"),))
    with pytest.raises(PolicyViolation, match="worth 399.00") as err:
        rma.open_rma(dearer, SERVICE)
    assert err.value.key == "error.rma_value" and err.value.params["paid"] == "99.00"
    with pytest.raises(RMAValidationError, match="unknown SKU NOPE"):
        rma.open_rma(RMARequest(order.id, "exchange", "size", (RMALine(1, 1, "NOPE"),)), SERVICE)
    opened = rma.open_rma(RMARequest(order.id, "exchange", "size", (RMALine(1, 1, "SHIRT-L"),)), SERVICE)
    assert opened.computed_refund == 0
    rma.transition_rma(opened.id, "approved", SERVICE2)
    received = rma.transition_rma(opened.id, "received", WAREHOUSE)  # a warehouse clerk may receive
    assert received.replacement_number
    with pytest.raises(IllegalTransition, match="replacement"):
        rma.refund_rma(opened.id, MANAGER)
    with db.transaction() as s:
        repl = s.execute(select(Order).where(Order.number == received.replacement_number)).scalar_one()
        assert s.execute(select(Return.replacement_order_id)).scalar_one() == repl.id
    assert (repl.status, repl.total, repl.payment_status, repl.customer_id) == ("confirmed", D("0.00"), "paid",
                                                                               order.customer_id)
    assert stock_of(shirt_l) == (3, 1)  # reserved like any order
    pack_by_scan(repl.id)
    transition(repl.id, "shipped", WAREHOUSE, tracking_no="SF2")
    assert stock_of(shirt_l) == (2, 0)
    rma.inspect_rma(opened.id, [Inspection(1, 1, "SH")], WAREHOUSE)
    assert stock_of(shirt_m) == (1, 0)
    rma.transition_rma(opened.id, "closed", SERVICE)
    detail = rma_views.rma_detail(opened.id, SERVICE)
    assert (detail.header["status"], detail.header["resolution"]) == ("closed", "replaced")
    assert detail.header["replacement_status"] == "shipped" and detail.actions == ()
    assert detail.lines["rma_replacement_sku"].tolist() == ["SHIRT-L"]


def test_exchange_without_stock_waits_as_a_backorder(db_url: str) -> None:
    pid = make_product("A", "10.00", {"SH": 1})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(RMARequest(order.id, "exchange", "quality", (RMALine(1, 1),)), SERVICE)
    _through_receipt(opened.id)
    detail = rma_views.rma_detail(opened.id, SERVICE)
    with db.transaction() as s:
        status = s.execute(select(Order.status).where(Order.number == detail.header["replacement_number"])).scalar_one()
    assert status == "backordered"
    released = rma.inspect_rma(opened.id, [Inspection(1, 1, "SH")], WAREHOUSE).released_orders
    assert released == (detail.header["replacement_number"],)  # the returned unit serves it
    assert stock_of(pid) == (1, 1)


# --- refunds ---------------------------------------------------------------------------------


def test_refund_limits_by_role_and_state(db_url: str) -> None:
    make_product("A", "50.00", {"SH": 10})
    order = delivered_order(("A", 2), shipping="10")  # total 110
    opened = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    with pytest.raises(IllegalTransition):
        rma.refund_rma(opened.id, SERVICE)  # goods not back yet
    _through_receipt(opened.id)
    with pytest.raises(PermissionDenied):
        rma.refund_rma(opened.id, WAREHOUSE)
    with pytest.raises(RMAValidationError, match="a manager can refund more"):
        rma.refund_rma(opened.id, SERVICE, amount="60")
    with pytest.raises(RMAValidationError, match="must be greater than 0"):
        rma.refund_rma(opened.id, SERVICE, amount="0")
    with pytest.raises(RMAValidationError, match="not a number"):
        rma.refund_rma(opened.id, SERVICE, amount="abc")
    with pytest.raises(RMAValidationError, match="only 110.00 of the order total"):
        rma.refund_rma(opened.id, MANAGER, amount="120", note="?")
    with pytest.raises(RMAValidationError, match="note"):
        rma.refund_rma(opened.id, MANAGER, amount="60")
    assert _count(Refund) == 0 and _order_payment(order.id) == "paid"
    assert rma_views.rma_detail(opened.id, SERVICE).max_refund == D("50.00")
    assert rma_views.rma_detail(opened.id, MANAGER).max_refund == D("110.00")
    done = rma.refund_rma(opened.id, MANAGER, amount="60", note="return postage")
    assert (done.amount, done.computed, done.payment_status) == (D("60.00"), D("50.00"), "partially_refunded")
    with pytest.raises(Conflict):
        rma.refund_rma(opened.id, MANAGER)
    assert "refund" not in rma_views.rma_detail(opened.id, MANAGER).actions


def test_partial_refund_by_service_and_unpaid_orders(db_url: str) -> None:
    make_product("A", "50.00", {"SH": 10})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(_request(order.id, (1, 1), kind="refund_only", reason="quality"), SERVICE)
    rma.transition_rma(opened.id, "approved", SERVICE2)
    assert rma.refund_rma(opened.id, SERVICE, amount="20.5").amount == D("20.50")  # goodwill part-refund
    assert _order_payment(order.id) == "partially_refunded"
    rma.transition_rma(opened.id, "closed", SERVICE)
    unpaid = delivered_order(("A", 1), payment_status="unpaid", payment_method="cod")
    with pytest.raises(RMAValidationError, match="not paid"):
        rma.open_rma(_request(unpaid.id, (1, 1), kind="refund_only"), SERVICE)
    goods = rma.open_rma(_request(unpaid.id, (1, 1)), SERVICE)
    _through_receipt(goods.id)
    with pytest.raises(RMAValidationError, match="not paid"):
        rma.refund_rma(goods.id, SERVICE)
    assert "refund" not in rma_views.rma_detail(goods.id, SERVICE).actions


def test_receive_and_close_without_refund_then_refund_later(db_url: str) -> None:
    make_product("A", "30.00", {"SH": 10})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    _through_receipt(opened.id)
    rma.inspect_rma(opened.id, [Inspection(1, 1, "SH")], WAREHOUSE)
    assert rma.transition_rma(opened.id, "closed", SERVICE).status == "closed"
    with db.transaction() as s:
        assert s.execute(select(Return.resolution)).scalar_one() == "no_refund"
    rma.refund_rma(opened.id, SERVICE)
    with db.transaction() as s:
        assert s.execute(select(Return.resolution, Return.refund_amount)).one() == ("refunded", D("30.00"))
    assert _order_payment(order.id) == "refunded"


# --- timeline, notifications, reads ----------------------------------------------------------


def test_customer_visible_changes_queue_notifications(db_url: str) -> None:
    make_product("A", "30.00", {"SH": 10})
    order = delivered_order(("A", 1), email="Buyer@Example.com")
    opened = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    _through_receipt(opened.id)
    rma.inspect_rma(opened.id, [Inspection(1, 1, "SH")], WAREHOUSE)
    rma.refund_rma(opened.id, SERVICE)
    rma.transition_rma(opened.id, "closed", SERVICE)
    with db.transaction() as s:
        rows = s.execute(select(Notification.event, Notification.channel, Notification.payload)
                         .where(Notification.event.startswith("rma.")).order_by(Notification.id)).all()
    events = [e for e, c, _ in rows if c == "sms"]
    assert events == ["rma.opened", "rma.approved", "rma.received", "rma.refunded", "rma.closed"]
    assert {c for _, c, _ in rows} == {"sms", "email"}
    assert rows[-1].payload["resolution"] == "refunded" and rows[-1].payload["order"] == order.number
    timeline = rma_views.rma_detail(opened.id, SERVICE).events
    assert timeline["rma_event"].tolist() == ["opened", "approved", "received", "inspected", "refunded", "closed"]


def test_stale_status_is_refused(db_url: str) -> None:
    make_product("A", "30.00", {"SH": 10})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(_request(order.id, (1, 1)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER, expected_status="requested")
    with pytest.raises(StaleVersion):
        rma.transition_rma(opened.id, "cancelled", SERVICE, expected_status="requested")
    with pytest.raises(StaleVersion):
        rma.refund_rma(opened.id, SERVICE, expected_status="requested")


def test_lists_by_order_customer_and_query_with_masking(db_url: str) -> None:
    make_product("A", "30.00", {"SH": 10})
    first = delivered_order(("A", 2), customer_name="王五", phone="13700137000")
    other = delivered_order(("A", 1), customer_name="赵六", phone="13600136000")
    a = rma.open_rma(_request(first.id, (1, 1)), SERVICE)
    b = rma.open_rma(_request(first.id, (1, 1), reason="quality"), SERVICE)
    c = rma.open_rma(_request(other.id, (1, 1)), SERVICE)
    rma.transition_rma(c.id, "approved", SERVICE2)
    assert rma_views.list_rmas(SERVICE, order_id=first.id)["rma_number"].tolist() == [b.number, a.number]
    assert rma_views.list_rmas(SERVICE, customer_id=other.customer_id)["rma_number"].tolist() == [c.number]
    assert rma_views.list_rmas(SERVICE, statuses=["requested"])["rma_number"].tolist() == [b.number, a.number]
    # phones are encrypted: found by the whole number or its last four digits (blind indexes)
    assert rma_views.list_rmas(SERVICE, query="136-0013-6000")["rma_number"].tolist() == [c.number]
    assert rma_views.list_rmas(SERVICE, query="6000")["rma_number"].tolist() == [c.number]
    assert rma_views.list_rmas(SERVICE, query="0013-6000")["rma_number"].tolist() == []
    assert rma_views.list_rmas(SERVICE, query=a.number)["rma_number"].tolist() == [a.number]
    assert rma_views.list_rmas(SERVICE, query="%")["rma_number"].tolist() == []
    frame = rma_views.list_rmas(WAREHOUSE, order_id=other.id)  # warehouse staff see no phone numbers
    assert frame["phone"].tolist() == ["136****6000"] and frame["rma_refund_due"].tolist() == [D("30.00")]
    context = rma_views.order_aftersales(first.id, SERVICE)
    assert context.lines[["rma_returnable", "rma_paid"]].values.tolist() == [[0, D("60.00")]]
    assert context.policy.window_days == 15 and context.policy.within_window()
    assert len(context.rmas) == 2


# --- concurrency -----------------------------------------------------------------------------


def test_two_agents_racing_for_the_last_unit(db_url: str) -> None:
    make_product("A", "30.00", {"SH": 10})
    order = delivered_order(("A", 1))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def agent() -> None:
        barrier.wait()
        try:
            rma.open_rma(_request(order.id, (1, 1)), SERVICE)
            outcomes.append("ok")
        except RMAValidationError:
            outcomes.append("refused")

    threads = [threading.Thread(target=agent) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]
    assert returned_qty(order.id) == [1] and _count(Return) == 1
