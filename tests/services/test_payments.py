"""Issue 21, part 1: payments and refunds are rows, and the order's payment status is derived
from them in the same transaction — at order entry, when finance records money later, and
when after-sales refunds. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, Order, Payment
from core.services import aftersales as rma
from core.services import orders, payments
from core.services.aftersales import RMALine, RMARequest
from tests.aftersales_data import delivered_order
from tests.factories import CLERK, MANAGER, SERVICE, make_product, order_input


def _rows(order_id: int) -> list[tuple[str, Decimal, int | None]]:
    with db.transaction() as s:
        return [(p.kind, p.amount, p.refund_id) for p in s.execute(
            select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)).scalars()]


def _status(order_id: int) -> str:
    with db.transaction() as s:
        return s.execute(select(Order.payment_status).where(Order.id == order_id)).scalar_one()


def test_a_paid_order_is_entered_with_its_payment_row(db_url: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    paid = orders.create_order(order_input(("TEA", 2), payment_ref="4200001234"), CLERK)
    unpaid = orders.create_order(order_input(("TEA", 1), payment_status="unpaid", payment_method="bank_transfer"),
                                 CLERK)
    assert _rows(paid.id) == [("payment", Decimal("50.00"), None)] and _status(paid.id) == "paid"
    assert _rows(unpaid.id) == [] and _status(unpaid.id) == "unpaid"
    frame = payments.order_payments(paid.number, MANAGER)
    assert frame[["kind", "method", "provider_ref"]].values.tolist() == [["payment", "wechat_pay", "4200001234"]]


def test_entry_refuses_a_status_only_payments_can_produce(db_url: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    with pytest.raises(ValidationError) as err:
        orders.create_order(order_input(("TEA", 1), payment_status="partially_paid", payment_ref="x" * 101), CLERK)
    assert sorted((i.field, i.message) for i in err.value.issues) == [
        ("payment_ref", "issue.too_long"), ("payment_status", "issue.one_of")]
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Order)).scalar_one() == 0


def test_money_recorded_later_moves_the_status_from_unpaid_to_paid(db_url: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    order = orders.create_order(order_input(("TEA", 4), payment_status="unpaid", payment_method="bank_transfer"),
                                CLERK)
    assert payments.record_payment(order.number, "40.00", "bank_transfer", MANAGER, provider_ref="BT-1") \
        == "partially_paid"
    assert payments.record_payment(order.number, Decimal("60.00"), "bank_transfer", MANAGER, fee="0.60") == "paid"
    assert [r[:2] for r in _rows(order.id)] == [("payment", Decimal("40.00")), ("payment", Decimal("60.00"))]
    with db.transaction() as s:
        audits = s.execute(select(AuditLog.after).where(AuditLog.action == "finance.record_payment")).scalars().all()
    assert [a["payment_status"] for a in audits] == ["partially_paid", "paid"]


@pytest.mark.parametrize(("amount", "method", "field", "code"), [
    ("100.01", "bank_transfer", "amount", "fin.overpaid"),
    ("0", "bank_transfer", "amount", "issue.positive"),
    ("-5", "bank_transfer", "amount", "issue.negative"),
    ("abc", "bank_transfer", "amount", "issue.not_a_number"),
    ("10", "bitcoin", "method", "issue.one_of"),
])
def test_a_bad_payment_is_refused_with_its_field_and_writes_nothing(db_url: str, amount: str, method: str,
                                                                   field: str, code: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    order = orders.create_order(order_input(("TEA", 4), payment_status="unpaid"), CLERK)
    with pytest.raises(ValidationError) as err:
        payments.record_payment(order.number, amount, method, MANAGER)
    assert [(i.field, i.message) for i in err.value.issues] == [(field, code)]
    assert _rows(order.id) == [] and _status(order.id) == "unpaid"


def test_recording_a_payment_needs_finance_rights_and_a_live_order(db_url: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    order = orders.create_order(order_input(("TEA", 1), payment_status="unpaid"), CLERK)
    for actor in (CLERK, SERVICE):
        with pytest.raises(PermissionDenied):
            payments.record_payment(order.number, "25.00", "cash", actor)
    with pytest.raises(NotFound):
        payments.record_payment("SO-NOPE", "25.00", "cash", MANAGER)
    orders.transition(order.id, "cancelled", MANAGER)
    with pytest.raises(ValidationError) as err:
        payments.record_payment(order.number, "25.00", "cash", MANAGER)
    assert [i.message for i in err.value.issues] == ["fin.order_cancelled"]


def test_an_after_sales_refund_writes_a_refund_row_that_derives_the_status(db_url: str) -> None:
    make_product("TEA", "25.00", {"SH": 5})
    order = delivered_order(("TEA", 2))
    first = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(first.id, "approved", MANAGER)
    assert rma.refund_rma(first.id, SERVICE).payment_status == "partially_refunded"
    second = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(second.id, "approved", MANAGER)
    assert rma.refund_rma(second.id, SERVICE).payment_status == "refunded"
    rows = _rows(order.id)
    assert [r[:2] for r in rows] == [("payment", Decimal("50.00")), ("refund", Decimal("25.00")),
                                     ("refund", Decimal("25.00"))]
    assert all(r[2] is not None for r in rows[1:]) and _status(order.id) == "refunded"
