"""Issue 13, "Separation of duties": one service user imported a "delivered, paid" order, then
opened, approved and refunded ¥9,900 on it alone; ``update_order`` let a clerk set the payment
status to paid or refunded. Now nobody approves their own request (adjustments: see
test_quantity_bounds; RMAs and refunds here), refunds above the shop's limit or on imported
orders wait for a second person, and the payment status moves only through payments and
refunds (test_order_rulebook). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import Refused, ValidationError
from core.models import AuditLog, Order, Refund, Return
from core.permissions import Actor
from core.services import aftersales as rma
from core.services.aftersales import RMALine, RMARequest
from core.services.shop_settings import update_settings
from tests.aftersales_data import delivered_order
from tests.factories import ADMIN, MANAGER, SERVICE, make_product
from tests.services.test_imports import GOOD_ROW, _csv, catalogue, orders_by_ref, run

SERVICE2 = Actor("cs2", "service")


def _refunds() -> list[tuple[Decimal, str]]:
    with db.transaction() as s:
        return [(r.amount, r.actor) for r in s.execute(select(Refund)).scalars()]


def _payment(order_id: int) -> str:
    with db.transaction() as s:
        return s.execute(select(Order.payment_status).where(Order.id == order_id)).scalar_one()


def test_one_person_cannot_import_approve_and_refund_alone(db_url: str) -> None:
    catalogue()
    report = run("orders", _csv("paid.csv", GOOD_ROW.replace("TS-001-BK-M,1,79.00", "HM-001,1,9900.00")),
                 actor=SERVICE)
    assert report.status == "imported"
    order = orders_by_ref()["B-1"]
    assert (order.status, order.payment_status) == ("completed", "paid")
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    with pytest.raises(Refused) as err:
        rma.transition_rma(opened.id, "approved", SERVICE)
    assert err.value.key == "rb.own_request"
    rma.transition_rma(opened.id, "approved", SERVICE2)
    asked = rma.refund_rma(opened.id, SERVICE)
    assert asked.pending and asked.amount == Decimal("9900.00")
    assert _refunds() == [] and _payment(order.id) == "paid"
    with pytest.raises(Refused) as err:
        rma.decide_refund(opened.id, True, SERVICE)
    assert err.value.key == "rb.own_request"
    with pytest.raises(Refused):  # asking twice does not stack a second request
        rma.refund_rma(opened.id, SERVICE2)
    paid = rma.decide_refund(opened.id, True, MANAGER)
    assert (paid.pending, paid.amount, paid.payment_status) == (False, Decimal("9900.00"), "refunded")
    assert _refunds() == [(Decimal("9900.00"), "boss")]
    with db.transaction() as s:
        assert s.execute(select(Return.refund_request_by).where(Return.id == opened.id)).scalar_one() is None
        actions = s.execute(select(AuditLog.action, AuditLog.actor).where(AuditLog.entity == "rma")
                            .order_by(AuditLog.id)).all()
    assert [tuple(a) for a in actions] == [("rma.opened", "cs1"), ("rma.approved", "cs2"),
                                           ("rma.refund_requested", "cs1"), ("rma.refunded", "boss")]


def test_an_imported_order_needs_a_second_person_even_for_a_small_refund(db_url: str) -> None:
    catalogue()
    run("orders", _csv("paid.csv", GOOD_ROW), actor=SERVICE)
    order = orders_by_ref()["B-1"]
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)
    assert rma.refund_rma(opened.id, MANAGER).pending  # ¥79 < ¥1,000, but the payment was not taken here
    assert rma.decide_refund(opened.id, True, SERVICE2).amount == Decimal("79.00")


def test_refunds_above_the_setting_wait_and_the_requester_may_withdraw(db_url: str) -> None:
    make_product("BIG", "600.00", {"SH": 5})
    order = delivered_order(("BIG", 2))  # ¥1,200, entered in the shop
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 2),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)
    assert rma.refund_rma(opened.id, SERVICE).pending  # ¥1,200 > ¥1,000
    withdrawn = rma.decide_refund(opened.id, False, SERVICE, note="wrong amount")
    assert withdrawn.amount == 0 and _refunds() == []
    with pytest.raises(Refused) as err:
        rma.decide_refund(opened.id, True, MANAGER)
    assert err.value.key == "rb.refund_no_request"
    update_settings({"refund_approval.amount": "5000.00"}, ADMIN)
    direct = rma.refund_rma(opened.id, SERVICE)
    assert not direct.pending and _payment(order.id) == "refunded"


def test_small_refunds_on_entered_orders_stay_one_step(db_url: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    order = delivered_order(("TEA", 2))
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(opened.id, "approved", SERVICE2)
    result = rma.refund_rma(opened.id, SERVICE)
    assert not result.pending and result.payment_status == "partially_refunded"


def test_approval_rechecks_what_is_left_to_refund(db_url: str) -> None:
    make_product("BIG", "600.00", {"SH": 5})
    order = delivered_order(("BIG", 2))
    first = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 2),)), SERVICE)
    rma.transition_rma(first.id, "approved", MANAGER)
    assert rma.refund_rma(first.id, SERVICE).pending
    with db.transaction() as s:  # the order was refunded in full some other way meanwhile
        s.execute(Order.__table__.update().where(Order.id == order.id).values(payment_status="refunded"))
    with pytest.raises(ValidationError):
        rma.decide_refund(first.id, True, MANAGER)
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Refund)).scalar_one() == 0


def test_an_order_held_for_review_is_confirmed_by_someone_else(db_url: str) -> None:
    from core.services import orders
    from tests.factories import order_input

    make_product("TV", "6000.00", {"SH": 5})
    big = orders.create_order(order_input(("TV", 1)), SERVICE)
    assert big.status == "pending_review"
    assert "confirmed" not in orders.order_detail(big.id, SERVICE).allowed_transitions
    with pytest.raises(Refused) as err:
        orders.transition(big.id, "confirmed", SERVICE)
    assert err.value.key == "rb.own_request"
    assert "confirmed" in orders.order_detail(big.id, SERVICE2).allowed_transitions
    orders.transition(big.id, "confirmed", SERVICE2)
    with db.transaction() as s:
        assert s.execute(select(Order.status).where(Order.id == big.id)).scalar_one() == "confirmed"
