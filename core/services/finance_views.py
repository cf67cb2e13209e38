"""The finance views (issue 21): per shop-local day and channel what was sold, refunded, kept
as fees and received, the cost of the goods shipped and the gross margin; and what each
channel still owes (receivables).

Bases, so the figures can be checked by hand:
- **sales** by the day an order shipped (revenue when the goods leave; cancelled orders never
  count): gross = lines + shipping, discounts = the order discount, net sales = the total;
- **refunds** by the day the refund row was written (core.services.payments);
- **fees** (fee + commission) and **net received** by the statement's settlement day;
- **COGS** = units shipped × the unit cost recorded on the line when it shipped (a later cost
  change leaves past margins alone), by the day it shipped, less units returned to stock × the
  same cost by the day they were restocked; sales of lines shipped without a known cost are
  shown as ``uncosted_sales`` and left out of the margin;
- **gross margin** = net sales − refunds − COGS (of the costed sales).

A period is at most :data:`MAX_DAYS` days: the rows are read once and summed in pandas.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import read_only
from core.domain import journal
from core.domain.money import from_cents
from core.errors import FieldIssue, ValidationError
from core.models import Channel, Order, OrderLine, Payment, ReturnLine, SettlementLine, cents
from core.permissions import Actor, require
from core.timeutil import shop_tz, utcnow

MAX_DAYS = 366
MEASURES = ["gross_sales", "discounts", "net_sales", "refunds", "fees", "net_received", "cogs", "uncosted_sales",
            "gross_margin"]
DAILY_COLUMNS = ["day", "channel", *MEASURES]
RECEIVABLE_COLUMNS = ["channel", "unpaid_shipped", "paid_not_paid_out", "receivable"]


def _local_day(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values).dt.tz_localize("UTC").dt.tz_convert(shop_tz().key)
    return stamps.dt.date


def _window(days: int, now: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError([FieldIssue("days", "rb.between", value=days, params={"low": 1, "high": MAX_DAYS})])
    end = now or utcnow()
    return end - dt.timedelta(days=days), end


def daily_cents(session: Session, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """:data:`DAILY_COLUMNS` in whole cents (int64) per local day and channel for money that
    moved in ``[start, end]`` (UTC), every channel; no permission check — the callers (the
    finance view, the accounting journal) check theirs."""
    o, ln, p, s, c = Order.__table__, OrderLine.__table__, Payment.__table__, SettlementLine.__table__, Channel.__table__
    rl = ReturnLine.__table__
    shipped = o.c.shipped_at.between(start, end) & (o.c.status != "cancelled")
    sales = pd.DataFrame(session.execute(
        select(o.c.shipped_at, c.c.code, cents(o.c.subtotal + o.c.shipping_fee), cents(o.c.discount), cents(o.c.total))
        .join(c, c.c.id == o.c.channel_id).where(shipped)).all(),
        columns=["at", "channel", "gross_sales", "discounts", "net_sales"])
    cost = pd.DataFrame(session.execute(
        select(o.c.shipped_at, c.c.code, cents(ln.c.qty_shipped * ln.c.unit_cost),
               cents(func.coalesce(ln.c.line_total - ln.c.discount_share, 0)), ln.c.unit_cost.is_(None))
        .join(c, c.c.id == o.c.channel_id).join(ln, ln.c.order_id == o.c.id)
        .where(shipped, ln.c.qty_shipped > 0)).all(), columns=["at", "channel", "cogs", "line_sales", "uncosted"])
    cost["uncosted_sales"] = np.where(cost["uncosted"].astype(bool), cost["line_sales"], 0)
    cost["cogs"] = cost["cogs"].fillna(0)
    restocked = pd.DataFrame(session.execute(  # units back in stock take their shipped cost out of COGS
        select(rl.c.restocked_at, c.c.code, cents(-rl.c.restocked_qty * ln.c.unit_cost))
        .join(ln, ln.c.id == rl.c.order_line_id).join(o, o.c.id == ln.c.order_id).join(c, c.c.id == o.c.channel_id)
        .where(rl.c.restocked_at.between(start, end), rl.c.restocked_qty > 0, ln.c.unit_cost.is_not(None))).all(),
        columns=["at", "channel", "cogs"])
    refunds = pd.DataFrame(session.execute(
        select(p.c.at, c.c.code, cents(p.c.amount)).join(o, o.c.id == p.c.order_id).join(c, c.c.id == o.c.channel_id)
        .where(p.c.kind == "refund", p.c.status == "succeeded", p.c.at.between(start, end))).all(),
        columns=["at", "channel", "refunds"])
    payouts = pd.DataFrame(session.execute(
        select(s.c.settled_at, c.c.code, cents(s.c.fee + s.c.commission), cents(s.c.net))
        .join(c, c.c.id == s.c.channel_id).where(s.c.settled_at.between(start, end))).all(),
        columns=["at", "channel", "fees", "net_received"])
    parts = [frame.assign(day=_local_day(frame["at"])).drop(columns="at")
             for frame in (sales, cost[["at", "channel", "cogs", "uncosted_sales"]], restocked, refunds, payouts)
             if len(frame)]
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=object if column in ("day", "channel") else np.int64)
                             for column in DAILY_COLUMNS})
    frame = pd.concat(parts, ignore_index=True).groupby(["day", "channel"], as_index=False).sum(numeric_only=True)
    for column in MEASURES:
        frame[column] = frame[column].fillna(0).astype(np.int64) if column in frame else 0
    frame["gross_margin"] = frame["net_sales"] - frame["refunds"] - frame["cogs"] - frame["uncosted_sales"]
    return frame[DAILY_COLUMNS].sort_values(["day", "channel"], ignore_index=True)


def direct_cents(session: Session, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """``day, channel`` and :data:`core.domain.journal.DIRECT_MEASURES` in whole cents: payments
    and refunds in cash or by bank transfer recorded in ``[start, end]`` (UTC) — the money no
    settlement statement will ever report, which the journal books on the day it moved."""
    o, p, c = Order.__table__, Payment.__table__, Channel.__table__
    rows = pd.DataFrame(session.execute(
        select(p.c.at, c.c.code, p.c.kind, p.c.method, cents(p.c.amount))
        .join(o, o.c.id == p.c.order_id).join(c, c.c.id == o.c.channel_id)
        .where(p.c.status == "succeeded", p.c.method.in_(journal.DIRECT_METHODS), p.c.at.between(start, end))).all(),
        columns=["at", "channel", "kind", "method", "amount"])
    if rows.empty:
        return pd.DataFrame(columns=["day", "channel", *journal.DIRECT_MEASURES])
    rows["measure"] = (rows["method"].map(journal.DIRECT_METHODS) + "_"
                       + rows["kind"].map({"payment": "received", "refund": "refunded"}))
    table = rows.assign(day=_local_day(rows["at"])).pivot_table(
        index=["day", "channel"], columns="measure", values="amount", aggfunc="sum", fill_value=0)
    return table.reindex(columns=list(journal.DIRECT_MEASURES), fill_value=0).astype(np.int64).reset_index()


@read_only
def daily_finance(session: Session, actor: Actor, days: int = 30, *, channels: list[str] | None = None,
                  now: dt.datetime | None = None) -> pd.DataFrame:
    """:data:`DAILY_COLUMNS` per local day and channel over the last ``days`` days (money as
    Decimal), oldest day first."""
    require(actor, "finance.view")
    frame = daily_cents(session, *_window(days, now))
    if channels:
        frame = frame[frame["channel"].isin(channels)]
    for column in MEASURES:
        frame[column] = frame[column].map(from_cents)
    return frame.reset_index(drop=True)


@read_only
def receivables(session: Session, actor: Actor) -> pd.DataFrame:
    """Per channel, what is owed to the shop for goods already shipped: shipped orders not paid
    at all (cash on delivery, bank transfer) and — in channels settled by statements — payments
    no statement has paid out yet (cash at the till is never "paid out")."""
    require(actor, "finance.view")
    o, p, s, c = Order.__table__, Payment.__table__, SettlementLine.__table__, Channel.__table__
    shipped = o.c.shipped_at.is_not(None) & (o.c.status != "cancelled")
    unpaid: dict[str, int] = dict(session.execute(
        select(c.c.code, cents(func.sum(o.c.total))).join(c, c.c.id == o.c.channel_id)
        .where(shipped, o.c.payment_status == "unpaid").group_by(c.c.code)).all())
    paid_out = select(s.c.payment_id).where(s.c.payment_id.is_not(None))
    open_money: dict[str, int] = dict(session.execute(
        select(c.c.code, cents(func.sum(p.c.amount))).join(o, o.c.id == p.c.order_id).join(c, c.c.id == o.c.channel_id)
        .where(shipped, p.c.kind == "payment", p.c.status == "succeeded", p.c.id.not_in(paid_out),
               o.c.channel_id.in_(select(s.c.channel_id).distinct()))
        .group_by(c.c.code)).all())
    codes = sorted(set(unpaid) | set(open_money))
    frame = pd.DataFrame({"channel": codes, "unpaid_shipped": [int(unpaid.get(k) or 0) for k in codes],
                          "paid_not_paid_out": [int(open_money.get(k) or 0) for k in codes]})
    frame["receivable"] = frame["unpaid_shipped"] + frame["paid_not_paid_out"]
    for column in RECEIVABLE_COLUMNS[1:]:
        frame[column] = frame[column].map(from_cents)
    return frame[RECEIVABLE_COLUMNS]
