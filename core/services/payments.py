"""Payments and refunds as rows, and the order payment status derived from them (issue 21).

Every write of a payment row goes through :func:`write_row`, which recomputes the order's
``payment_status`` (:func:`core.domain.payments.derived_status`) in the same transaction — so
the old field stays the one everything else reads, and it always agrees with the rows.
Order entry, after-sales refunds and :func:`record_payment` (finance recording money that
arrived later, e.g. a bank transfer) all write through here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.domain import payments as rules
from core.domain.rulebook import PAYMENT_METHODS, clean_ref, parse_amount, validate_header
from core.errors import FieldIssue, NotFound, ValidationError
from core.models import Order, Payment
from core.permissions import Actor, require
from core.timeutil import utcnow

ZERO = Decimal("0")
_PAY = Payment.__table__
_INSERT = insert(_PAY)


def write_row(session: Session, *, order_id: int, kind: str, amount: Decimal, method: str | None,
              at: dt.datetime, created_by: str, provider_ref: str | None = None, fee: Decimal = ZERO,
              refund_id: int | None = None) -> str:
    """Insert one succeeded payment or refund row and bring the order's payment status up to
    date; returns that status. A step inside the caller's transaction (the caller checked its
    permission and the amount)."""
    session.connection().execute(_INSERT, dict(
        order_id=order_id, kind=kind, method=method, provider_ref=provider_ref, amount=amount, fee=fee, at=at,
        status="succeeded", refund_id=refund_id, created_by=created_by))
    return sync_status(session, order_id)


def entry_row(session: Session, *, order_id: int, stated: str, total: Decimal, method: str | None,
              provider_ref: str | None, at: dt.datetime, created_by: str) -> None:
    """The payment row of an order entered as already paid (the whole total; nothing for an
    unpaid or free order). No status update: the status stated at entry is what this row
    derives to, and order entry is the hot path."""
    row = entry_payment_row(order_id=order_id, stated=stated, total=total, method=method, provider_ref=provider_ref,
                            at=at, created_by=created_by)
    if row is not None:
        session.connection().execute(_INSERT, row)


def entry_payment_row(*, order_id: int, stated: str, total: Decimal, method: str | None, provider_ref: str | None,
                      at: dt.datetime, created_by: str) -> dict[str, object] | None:
    """The row :func:`entry_row` writes, or None (a bulk writer inserts many orders' at once)."""
    amount = rules.entry_payment(stated, total)
    if amount <= 0:
        return None
    return dict(order_id=order_id, kind="payment", method=method, provider_ref=provider_ref, amount=amount, fee=ZERO,
                at=at, status="succeeded", refund_id=None, created_by=created_by)


def sync_status(session: Session, order_id: int) -> str:
    """Recompute ``orders.payment_status`` from the order's succeeded rows and store it."""
    total, stated = session.execute(select(Order.total, Order.payment_status).where(Order.id == order_id)).one()
    paid, refunded = _sums(session, order_id)
    status = rules.derived_status(total, paid, refunded, stated=stated)
    if status != stated:
        session.execute(update(Order).where(Order.id == order_id).values(payment_status=status, updated_at=utcnow()))
    return status


def _sums(session: Session, order_id: int) -> tuple[Decimal, Decimal]:
    rows = dict(session.execute(
        select(Payment.kind, func.coalesce(func.sum(Payment.amount), ZERO))
        .where(Payment.order_id == order_id, Payment.status == "succeeded").group_by(Payment.kind)).all())
    return rows.get("payment", ZERO), rows.get("refund", ZERO)


@unit_of_work
def record_payment(session: Session, order_number: str, amount: Decimal | str, method: str, actor: Actor, *,
                   provider_ref: str | None = None, fee: Decimal | str = ZERO,
                   at: dt.datetime | None = None) -> str:
    """Finance records money received for an order after entry (a bank transfer, cash on
    delivery handed in); returns the order's new payment status. Refused — with the field and
    why — for an unknown method, a bad amount, or more than the order still owes."""
    require(actor, "finance.record")
    issues: list[FieldIssue] = []
    value = parse_amount(amount, "amount", issues)
    fee_value = parse_amount(fee, "fee", issues)
    if not issues and value <= 0:
        issues.append(FieldIssue("amount", "issue.positive", value=str(amount)))
    if method not in PAYMENT_METHODS:
        issues.append(FieldIssue("method", "issue.one_of", value=method, params={"choices": ", ".join(PAYMENT_METHODS)}))
    issues += validate_header({"payment_ref": provider_ref}, utcnow())
    row = session.execute(select(Order.id, Order.total, Order.status).where(Order.number == order_number)
                          .with_for_update()).first()
    if row is None:
        raise NotFound(f"no order {order_number}", number=order_number)
    if row.status == "cancelled":
        issues.append(FieldIssue("order", "fin.order_cancelled", value=order_number))
    paid, refunded = _sums(session, row.id)
    if not issues and paid + value > row.total:
        issues.append(FieldIssue("amount", "fin.overpaid", value=str(value),
                                 params={"owed": str(max(row.total - paid, ZERO))}))
    if issues:
        raise ValidationError(issues)
    ref = clean_ref(provider_ref)
    status = write_row(session, order_id=row.id, kind="payment", amount=value, method=method, at=at or utcnow(),
                       created_by=actor.username, provider_ref=ref, fee=fee_value)
    audit.record(session, actor, "finance.record_payment", "order", order_number,
                 after={"amount": value, "fee": fee_value, "method": method, "provider_ref": ref,
                        "payment_status": status})
    return status


@read_only
def order_payments(session: Session, order_number: str, actor: Actor) -> pd.DataFrame:
    """One order's payment and refund rows, oldest first."""
    require(actor, "finance.view")
    rows = session.execute(
        select(Payment.kind, Payment.method, Payment.provider_ref, Payment.amount, Payment.fee, Payment.at,
               Payment.status).join(Order, Order.id == Payment.order_id)
        .where(Order.number == order_number).order_by(Payment.at, Payment.id)).all()
    return pd.DataFrame(rows, columns=["kind", "method", "provider_ref", "amount", "fee", "at", "status"])
