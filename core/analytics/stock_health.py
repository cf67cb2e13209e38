"""Stock health dashboard: turnover, days of cover, stock age, dead stock, stock-outs and the
sales they probably cost — per product × warehouse, over a look-back window.

Sources: current stock (``stock_levels``), the daily ledger summary (``agg_stock_daily``:
on-hand at the end of each day with movements) and demand (``agg_product_daily``: units
ordered, net of returns, by the line's warehouse). Definitions:
- average on-hand = mean of the end-of-day on-hand over the window's days;
- turnover = units sold ÷ average on-hand (cost cancels out), annualised × 365 / days;
- days of cover = available now (on-hand − reserved) ÷ average daily units sold;
- a stock-out day ends with nothing on hand (days before a pair was first stocked don't count);
- lost sales = stock-out days × the units sold per in-stock day × the average net price;
- dead stock = on hand today but no sale in the last :data:`DEAD_DAYS` local days;
- age: on-hand units are taken to be the most recent arrivals (first in, first out); units not
  covered by arrivals in the last :data:`AGING_HORIZON` days are older than that.
Channel and region filters do not apply to stock (one stock serves every channel).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import ZERO, _money, _read, summary
from core.analytics.filters import Filters, product_condition
from core.analytics.sqltime import number_of, to_number
from core.analytics.takeaway import Takeaway, pct, ratio
from core.models import AggProductDaily, AggStockDaily, Product, StockLevel, Warehouse
from core.timeutil import local_today

STOCK, PRODUCT_DAILY = AggStockDaily.__table__, AggProductDaily.__table__
DEAD_DAYS = 90
AGING_HORIZON = 365
AGING_EDGES = (30, 60, 90, 180, 365)  # bucket i holds ages ≤ edge i (and > edge i-1)
HEALTH_COLUMNS = ["product_id", "sku", "name", "category", "warehouse", "on_hand", "reserved", "available",
                  "unit_cost", "stock_value", "units_sold", "daily_units", "days_of_cover", "avg_on_hand", "turnover",
                  "annual_turnover", "stockout_days", "lost_units", "lost_sales", "last_sale", "days_since_sale",
                  "dead"]


def _levels(s: Session, f: Filters) -> pd.DataFrame:
    sl = StockLevel.__table__
    stmt = (select(sl.c.product_id, sl.c.warehouse_id, Product.sku, Product.name, Product.category, Warehouse.code,
                   sl.c.on_hand, sl.c.reserved, Product.unit_cost, Product.unit_price)
            .join(Product, Product.id == sl.c.product_id).join(Warehouse, Warehouse.id == sl.c.warehouse_id)
            .where(*product_condition(sl.c.product_id, f)))
    if f.warehouses:
        stmt = stmt.where(Warehouse.code.in_(f.warehouses))
    return pd.DataFrame(s.execute(stmt).all(), columns=[
        "product_id", "warehouse_id", "sku", "name", "category", "warehouse", "on_hand", "reserved", "unit_cost",
        "unit_price"])


def _latest(s: Session, rel: FromClause, value: ColumnElement, where: ColumnElement[bool]
            ) -> dict[tuple[int, int], Any]:
    """``value`` on the latest day (per product × warehouse with a stock level) among the rows
    of ``rel`` matching ``where``. On a summary table that is one index seek per stock level;
    over the raw SELECT (benchmark mode) one ranked pass, since a correlated subquery would
    re-run the whole aggregation for every pair."""
    sl = StockLevel.__table__
    if summary.reading_raw():
        ranked = select(rel.c.product_id, rel.c.warehouse_id, value.label("value"), func.row_number().over(
            partition_by=(rel.c.product_id, rel.c.warehouse_id), order_by=rel.c.day.desc()).label("rank")
        ).where(where).subquery()
        rows = s.execute(select(ranked.c.product_id, ranked.c.warehouse_id, ranked.c.value)
                         .where(ranked.c.rank == 1)).all()
    else:
        latest = (select(value).where(rel.c.product_id == sl.c.product_id, rel.c.warehouse_id == sl.c.warehouse_id,
                                      where).order_by(rel.c.day.desc()).limit(1).scalar_subquery())
        rows = s.execute(select(sl.c.product_id, sl.c.warehouse_id, latest)).all()
    return {(int(p), int(w)): v for p, w, v in rows}


def _ledger_stats(s: Session, f: Filters) -> dict[tuple[int, int], tuple]:
    """Per pair over the window: (in, out, Σ delta × days it counted, stock-out days inside,
    first day number with a row) from the daily ledger, plus the on-hand before the window.

    One grouped pass, no window function (a ``lead()`` over a year of rows sorted them all:
    0.3–2.6 s at a million orders). A stock-out day inside the window is a day after a row
    that ended with nothing on hand, up to the next row: Σ over zero rows of (next day − day).
    The next row's day is the day of a row whose predecessor ended at zero — its on-hand less
    its own movement, ``on_hand − in + out`` — so the sum is Σ [predecessor ≤ 0] · day −
    Σ [on-hand ≤ 0] · day, plus the day after the window when the last row is a zero row, less
    the first row's day when its predecessor (before the window, or none) counted in the
    first sum."""
    dialect = s.get_bind().dialect.name
    rel = summary.relation(s, STOCK)
    end_next = to_number(f.end) + 1
    dn = number_of(rel.c.day, dialect)
    stats = s.execute(select(
        rel.c.product_id, rel.c.warehouse_id, func.sum(rel.c.qty_in), func.sum(rel.c.qty_out),
        func.sum((rel.c.qty_in - rel.c.qty_out) * (end_next - dn)),
        func.sum(case((rel.c.on_hand - rel.c.qty_in + rel.c.qty_out <= 0, dn), else_=0)),
        func.sum(case((rel.c.on_hand <= 0, dn), else_=0)), func.min(dn))
        .where(rel.c.day >= f.start, rel.c.day <= f.end)
        .group_by(rel.c.product_id, rel.c.warehouse_id)).all()
    bases = _latest(s, rel, rel.c.on_hand, rel.c.day < f.start)
    lasts = _latest(s, rel, rel.c.on_hand, rel.c.day <= f.end)
    out: dict[tuple[int, int], tuple] = {key: (base, None) for key, base in bases.items()}
    for p, w, qin, qout, weighted, after_zero, zero_days, first in stats:
        key = (int(p), int(w))
        base = bases.get(key)
        zero = int(after_zero) - int(zero_days) + (end_next if int(lasts[key]) <= 0 else 0) - (
            int(first) if base is None or int(base) <= 0 else 0)
        out[key] = (base, (int(qin), int(qout), int(weighted), zero, int(first)))
    return out


def _sales(s: Session, f: Filters, today: dt.date) -> dict[tuple[int, int], tuple]:
    """Per (product, warehouse): net units and net sales in the window, last day with a sale."""
    rel = summary.span(s, PRODUCT_DAILY, f.start, f.end, {"product_id", "warehouse_id"}, lambda r: [])
    window = {(int(p), int(w)): (int(u or 0), v) for p, w, u, v in s.execute(
        select(rel.c.product_id, rel.c.warehouse_id, func.sum(rel.c.units - rel.c.returned_units),
               func.sum(rel.c.sales - rel.c.returned_sales)).group_by(rel.c.product_id, rel.c.warehouse_id))}
    history = summary.relation(s, PRODUCT_DAILY)
    lasts = _latest(s, history, history.c.day, and_(history.c.units > history.c.returned_units,
                                                     history.c.day <= today))
    return {key: (*window.get(key, (0, ZERO)), lasts.get(key)) for key in set(window) | set(lasts)}


def stock_health(f: Filters, today: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """:data:`HEALTH_COLUMNS` per product × warehouse with a stock level (filters: window,
    warehouses, category)."""
    today = today or local_today()

    def query(s: Session) -> tuple[pd.DataFrame, dict, dict]:
        return _levels(s, f), _ledger_stats(s, f), _sales(s, f, today)

    levels, ledger, sales = _read(session, query)
    n, a_num = f.days, to_number(f.start)
    rows = []
    for lv in levels.itertuples(index=False):
        key = (int(lv.product_id), int(lv.warehouse_id))
        base, moves = ledger.get(key, (None, None))
        units, net, last_sale = sales.get(key, (0, ZERO, None))
        qin, qout, weighted, zero_in, first = moves or (0, 0, 0, 0, to_number(f.end) + 1)
        if base is None and moves is None:
            stocked, stockout, avg = 0, 0, 0.0  # never stocked here before or during the window
        else:
            opening = int(base or 0)
            stocked = n if base is not None else n - (first - a_num)
            stockout = zero_in + ((first - a_num) if base is not None and opening <= 0 else 0)
            avg = (opening * stocked + weighted) / stocked if stocked else 0.0
        in_stock = stocked - stockout
        rate = units / in_stock if in_stock > 0 else 0.0
        price = Decimal(str(net)) / units if units > 0 else Decimal(str(lv.unit_price))
        lost_units = rate * stockout
        available = int(lv.on_hand) - int(lv.reserved)
        daily = units / n
        since = (today - last_sale).days if last_sale else None
        rows.append((
            key[0], lv.sku, lv.name, lv.category, lv.warehouse, int(lv.on_hand), int(lv.reserved), available,
            *_cost_and_value(lv.unit_cost, int(lv.on_hand)), units, daily,
            available / daily if daily > 0 else None, avg, units / avg if avg > 0 else None,
            units / avg * 365 / n if avg > 0 else None, stockout, lost_units, _money(price * Decimal(str(lost_units))),
            last_sale, since, int(lv.on_hand) > 0 and (since is None or since >= DEAD_DAYS),
        ))
    frame = pd.DataFrame(rows, columns=HEALTH_COLUMNS)
    return frame.astype({"dead": "bool", "stockout_days": "int64", "units_sold": "int64", "on_hand": "int64"})


def aging(f: Filters, today: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """On-hand units and their value per warehouse × age bucket (FIFO; see module doc).

    First in, first out means the units on hand are the latest arrivals, so the units no
    older than ``A`` days are ``min(on hand, arrivals in the last A days)``; each bucket is the
    difference of two such numbers. One grouped read of the arrivals per pair gives them all.
    """
    today = today or local_today()
    horizon = today - dt.timedelta(days=AGING_HORIZON)
    since = [today - dt.timedelta(days=edge) for edge in AGING_EDGES]  # age = today − arrival day ≤ edge

    def query(s: Session) -> tuple[Sequence[Any], pd.DataFrame]:
        rel = summary.relation(s, STOCK)
        arrivals = s.execute(
            select(rel.c.product_id, rel.c.warehouse_id,
                   *[func.sum(case((rel.c.day >= day, rel.c.qty_in), else_=0)) for day in since])
            .where(rel.c.qty_in > 0, rel.c.day >= horizon, rel.c.day <= today)
            .group_by(rel.c.product_id, rel.c.warehouse_id)).all()
        return arrivals, _levels(s, f)

    arrivals, levels = _read(session, query)
    within = {(int(r[0]), int(r[1])): [int(v) for v in r[2:]] for r in arrivals}
    labels = [*(f"≤{e}" for e in AGING_EDGES), f">{AGING_EDGES[-1]}"]
    cells: dict[tuple[str, str], list] = {}
    for lv in levels.itertuples(index=False):
        on_hand = int(lv.on_hand)
        covered = [min(on_hand, n) for n in within.get((int(lv.product_id), int(lv.warehouse_id)),
                                                        [0] * len(AGING_EDGES))]
        for label, units in zip(labels, [b - a for a, b in zip([0, *covered], [*covered, on_hand], strict=True)],
                                strict=True):
            if units > 0:
                acc = cells.setdefault((lv.warehouse, label), [0, ZERO])
                acc[0] += units
                acc[1] += _cost_and_value(lv.unit_cost, units)[1] or ZERO  # cost unknown: no value
    rows = [(wh, label, units, _money(value)) for (wh, label), (units, value) in cells.items()]
    frame = pd.DataFrame(rows, columns=["warehouse", "bucket", "units", "value"])
    frame["order"] = [labels.index(b) for b in frame["bucket"]]
    return frame.sort_values(["warehouse", "order"], ignore_index=True).drop(columns="order")


def _cost_and_value(unit_cost: Decimal | float | None, units: int) -> tuple[Decimal | None, Decimal | None]:
    """(unit cost, value of ``units``) — both None when the product's cost is unknown, so a
    stock value never counts such units at 0."""
    if unit_cost is None or (not isinstance(unit_cost, Decimal) and pd.isna(unit_cost)):
        return None, None
    return _money(unit_cost), _money(Decimal(str(unit_cost)) * units)


def _known(values: pd.Series) -> Decimal:
    return sum((v for v in values if v is not None and not pd.isna(v)), ZERO)


def overview(health: pd.DataFrame, days: int) -> dict[str, Any]:
    """Shop-level figures for the KPI row: stock value, annualised turnover (at cost), dead
    stock value, stock-out days and lost sales. Products whose cost is unknown are left out of
    the values and the turnover; ``cost_unknown`` says how many (product × warehouse) rows."""
    costed = health[health["unit_cost"].notna()]
    cogs = sum((Decimal(str(u)) * c for u, c in zip(costed["units_sold"], costed["unit_cost"], strict=True)), ZERO)
    avg_value = sum((Decimal(str(a)) * c for a, c in zip(costed["avg_on_hand"], costed["unit_cost"], strict=True)),
                    ZERO)
    dead = health[health["dead"]]
    return {
        "stock_value": _known(health["stock_value"]),
        "annual_turnover": float(cogs / avg_value) * 365 / days if avg_value > 0 else None,
        "dead_value": _known(dead["stock_value"]), "dead_items": len(dead),
        "stockout_days": int(health["stockout_days"].sum()), "lost_sales": sum(health["lost_sales"], ZERO),
        "cost_unknown": int(health["unit_cost"].isna().sum()),
    }


def stockout_takeaway(health: pd.DataFrame) -> Takeaway | None:
    lost = health[health["lost_sales"] > 0].sort_values("lost_sales", ascending=False)
    if lost.empty:
        return None
    top = lost.iloc[0]
    return Takeaway("an.take.stock_stockout", {"total": sum(lost["lost_sales"], ZERO), "sku": top["sku"],
                                            "warehouse": top["warehouse"], "days": int(top["stockout_days"]),
                                            "lost": top["lost_sales"]})


def dead_takeaway(health: pd.DataFrame) -> Takeaway | None:
    dead = health[health["dead"]]
    if dead.empty:
        return None
    total = _known(health["stock_value"])
    value = _known(dead["stock_value"])
    return Takeaway("an.take.stock_dead", {"items": len(dead), "value": value, "share": pct(ratio(value, total))})


def aging_takeaway(ages: pd.DataFrame) -> Takeaway | None:
    total = sum(ages["value"], ZERO)
    if total <= 0:
        return None
    old = sum(ages.loc[ages["bucket"].isin([f"≤{AGING_EDGES[-1]}", f">{AGING_EDGES[-1]}"]), "value"], ZERO)
    return Takeaway("an.take.stock_aging", {"share": pct(ratio(old, total)), "days": AGING_EDGES[-2]})


def cover_takeaway(health: pd.DataFrame, below: int = 7) -> Takeaway | None:
    selling = health.dropna(subset=["days_of_cover"])
    if selling.empty:
        return None
    short = selling[selling["days_of_cover"] < below]
    return Takeaway("an.take.stock_cover", {"short": len(short), "days": below, "total": len(selling)})
