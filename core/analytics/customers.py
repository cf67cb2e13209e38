"""Customers dashboard: RFM scores and named segments, cohort retention, repeat purchases,
lifetime value by acquisition channel, top customers and where customers live.

The filters select customers by *acquisition*: the date range is the local day of their first
purchase, channels the channel of that purchase, regions where the customer lives (their
address). Each selected customer is then measured over their whole history up to the as-of
day (default today; orders placed after it do not count, and R — so "lost" and "at risk" — is
counted in days back from it). Warehouse and category do not apply to people and are ignored.

Scores: R from days since the last order (≤30, ≤90, ≤180, ≤365, older → 5…1), F from the
number of orders (1, 2, 3, 4–5, 6+ → 1…5), M from quintiles of net sales over all buying
customers (so a score means the same whatever the filter). Segments follow the usual R × F map.
The R × F counts come from ``agg_customer_scores`` (scored by the refresh as of today) for
whole acquisition months, so a page view does not score every customer again. The summaries
hold today's picture only: as of a past day every query reads the orders up to that day
instead (``summary.customer_relation``), slower but exact; the default path is unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, literal_column, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import EXCLUDED_STATUSES, ZERO, _money, _read, dims, summary
from core.analytics.filters import Filters
from core.analytics.summary.customers import (
    F_ORDERS,
    R_DAYS,
    SCORES,
    f_score,
    net_sales_quintiles,
    r_score,
    scored_on,
    stored_quintiles,
)
from core.analytics.takeaway import Takeaway, pct, ratio
from core.geo import REGION_OF_PROVINCE
from core.models import AggCohort, AggCustomer, Channel, Customer, Order
from core.timeutil import local_day_start_utc, local_today, to_local

CUSTOMERS, COHORTS = AggCustomer.__table__, AggCohort.__table__
SEGMENT_GRID = {  # R score → segment per F score 1..5
    5: ("new", "potential", "potential", "champions", "champions"),
    4: ("promising", "potential", "potential", "loyal", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
}
SEGMENTS = ("champions", "loyal", "potential", "new", "promising", "need_attention", "about_to_sleep", "at_risk",
            "cannot_lose", "hibernating", "lost")
PROFILE_COLUMNS = ["r", "f", "province", "channel_id", "customers", "orders", "net_sales", "cost"]
SEGMENT_COLUMNS = ["segment", "customers", "share", "net_sales", "sales_share", "avg_orders", "avg_net_sales"]
CLV_HORIZONS = (3, 6, 12)  # months after acquisition


def segment_of(r: int, f: int) -> str:
    return SEGMENT_GRID[r][f - 1]


def _acquired(rel: FromClause, f: Filters) -> list[ColumnElement[bool]]:
    """Rows of customers acquired through the chosen channels, living in the chosen regions."""
    conds: list[ColumnElement[bool]] = []
    if f.channels:
        conds.append(rel.c.channel_id.in_(select(Channel.id).where(Channel.code.in_(f.channels))))
    if f.regions:
        conds.append(rel.c.region.in_(f.regions))
    return conds


def _bounds(f: Filters) -> tuple[dt.datetime, dt.datetime]:
    """The date range as UTC instants ``[start, end)``."""
    return local_day_start_utc(f.start), local_day_start_utc(f.end + dt.timedelta(days=1))


def _everyone(s: Session, rel: FromClause, f: Filters) -> bool:
    """True when the range covers every customer's acquisition (two index seeks tell)."""
    start, end = _bounds(f)
    # one subquery each: SQLite seeks the index for a lone min() or max(), but scans all
    # 250 000 entries for both in one SELECT (48 ms)
    first, last = s.execute(select(select(func.min(rel.c.first_at)).scalar_subquery(),
                                   select(func.max(rel.c.first_at)).scalar_subquery())).one()
    return first is not None and first >= start and last < end


def _acquired_between(rel: FromClause, f: Filters, start: dt.datetime, end: dt.datetime
                      ) -> list[ColumnElement[bool]]:
    # both bounds: a range is what makes the planner use the acquisition index
    return [rel.c.first_at >= start, rel.c.first_at < end, *_acquired(rel, f)]


def _scope(s: Session, rel: FromClause, f: Filters) -> list[ColumnElement[bool]]:
    """Customers acquired in the date range (local days), channels and regions chosen.

    When the range covers everyone the dates are left out: the table is then read plainly, and
    the top-customer query walks the net-sales index from the top instead of sorting everyone.
    """
    return _acquired(rel, f) if _everyone(s, rel, f) else _acquired_between(rel, f, *_bounds(f))


def m_thresholds(as_of: dt.date | None = None, *, session: Session | None = None) -> tuple[Decimal, ...]:
    """Net-sales quintile edges over all buying customers (4 values; M5 above the last), as the
    refresh stored them; computed from the customer rows in raw mode, as of a past day, or when
    none are stored."""

    def query(s: Session) -> tuple[Decimal, ...]:
        stored = None if summary.reading_raw() or summary.is_past(as_of) else stored_quintiles(s)
        return net_sales_quintiles(s, summary.customer_relation(s, CUSTOMERS, as_of)) if stored is None else stored

    return _read(session, query)


def rfm_profile(f: Filters, today: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Customers of the filters counted per (R score × F score × province × acquisition
    channel), with their orders, net sales and cost: the one scan the segments, the R × F grid,
    the regions and the repeat rates all come from. (M needs no grouping: it is shown per
    customer and as each segment's net sales.)"""
    today = today or local_today()

    def query(s: Session) -> Sequence[Any]:
        rel = summary.customer_relation(s, CUSTOMERS, today)
        # another day than the refresh scored (a past as-of day reads the raw orders up to it)
        if summary.reading_raw() or summary.is_past(today) or not scored_on(s, today):
            return s.execute(_scored(rel, today, _scope(s, rel, f))).all()
        if _everyone(s, rel, f):
            return s.execute(_stored(f, today)).all()
        # whole acquisition months from the stored scores, the days before and after them by
        # scoring those customers (at most two partial months, read along the acquisition index)
        start, end = _bounds(f)
        first = f.start if f.start.day == 1 else _next_month(f.start)
        after = (f.end + dt.timedelta(days=1)).replace(day=1)
        if first >= after:  # no whole month inside the range
            return s.execute(_scored(rel, today, _acquired_between(rel, f, start, end))).all()
        parts = [_stored(f, today, (first, after))]
        for lo, hi in ((start, local_day_start_utc(first)), (local_day_start_utc(after), end)):
            if lo < hi:
                parts.append(_scored(rel, today, _acquired_between(rel, f, lo, hi)))
        if len(parts) == 1:
            return s.execute(parts[0]).all()
        u = union_all(*parts).subquery("parts")
        return s.execute(select(u.c.r, u.c.f, u.c.province, u.c.channel_id, func.sum(u.c.customers),
                                func.sum(u.c.orders), func.sum(u.c.net_sales), func.sum(u.c.cost))
                         .group_by(u.c.r, u.c.f, u.c.province, u.c.channel_id)).all()

    # plain tuples: pandas probes each Row for attributes, 45 ms for 4 500 rows
    frame = pd.DataFrame([tuple(r) for r in _read(session, query)], columns=PROFILE_COLUMNS)
    frame["net_sales"] = [_money(v) for v in frame["net_sales"]]
    frame["cost"] = [_money(v) for v in frame["cost"]]
    return frame.astype({"r": "int64", "f": "int64", "customers": "int64", "orders": "int64"})


def _scored(rel: FromClause, today: dt.date, where: list[ColumnElement[bool]]) -> Select:
    """Profile rows (:data:`PROFILE_COLUMNS`) scoring each customer of ``rel`` matching ``where``."""
    # one flat GROUP BY on the output names: SQLite sorts the rows once (no subquery pass)
    return (select(r_score(rel.c.last_at, today).label("r"), f_score(rel.c.orders).label("f"), rel.c.province,
                   rel.c.channel_id, func.count().label("customers"), func.sum(rel.c.orders).label("orders"),
                   func.sum(rel.c.net_sales).label("net_sales"), func.sum(rel.c.cost).label("cost"))
            .where(*where)
            .group_by(literal_column("r"), literal_column("f"), rel.c.province, rel.c.channel_id))


def _stored(f: Filters, today: dt.date, cohorts: tuple[dt.date, dt.date] | None = None) -> Select:
    """Profile rows from the scores stored as of ``today``, of the chosen channels and regions
    (and acquisition months ``[first, after)`` when given)."""
    t = SCORES
    months = [] if cohorts is None else [t.c.cohort >= cohorts[0], t.c.cohort < cohorts[1]]
    return (select(t.c.r, t.c.f, t.c.province, t.c.channel_id, func.sum(t.c.customers).label("customers"),
                   func.sum(t.c.orders).label("orders"), func.sum(t.c.net_sales).label("net_sales"),
                   func.sum(t.c.cost).label("cost"))
            .where(t.c.as_of == today, *months, *_acquired(t, f))
            .group_by(t.c.r, t.c.f, t.c.province, t.c.channel_id))


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def scores(last_at: dt.datetime, orders: int, net_sales: Decimal, edges: tuple[Decimal, ...], today: dt.date
           ) -> tuple[int, int, int]:
    """(R, F, M) of one customer, by the same rules as the SQL above."""
    days = (today - local_date(last_at)).days
    r = next((5 - i for i, d in enumerate(R_DAYS) if days < d), 1)
    f = next((5 - i for i, n in enumerate(reversed(F_ORDERS)) if orders >= n), 1)
    m = 1 + sum(net_sales > e for e in edges)
    return r, f, m


def _cells(profile: pd.DataFrame) -> dict[tuple[int, int], list]:
    """[customers, orders, net sales] per (R, F) score, all 25 cells: one pass over the
    profile (thousands of rows), where 25 boolean masks cost ten times more."""
    cells: dict[tuple[int, int], list] = {(r, f): [0, 0, ZERO] for r in range(1, 6) for f in range(1, 6)}
    for r, f, n, orders, sales in zip(profile["r"], profile["f"], profile["customers"], profile["orders"],
                                      profile["net_sales"], strict=True):
        acc = cells[(int(r), int(f))]
        acc[0] += int(n)
        acc[1] += int(orders)
        acc[2] += sales
    return cells


def segments(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers, their share, net sales and averages per named segment (all segments listed)."""
    named: dict[str, list] = {name: [0, 0, ZERO] for name in SEGMENTS}
    for (r, f), values in _cells(profile).items():
        acc = named[segment_of(r, f)]
        for i, v in enumerate(values):
            acc[i] += v
    total_customers = sum(n for n, _, _ in named.values())
    total_sales = sum((sales for _, _, sales in named.values()), ZERO)
    rows = [(name, n, ratio(n, total_customers), sales, ratio(sales, total_sales), ratio(orders, n),
             _money(sales / n) if n else None) for name, (n, orders, sales) in named.items()]
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def score_grid(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers and net sales per R × F score (25 cells), with each cell's segment."""
    rows = [(r, f, segment_of(r, f), n, sales) for (r, f), (n, _, sales) in _cells(profile).items()]
    return pd.DataFrame(rows, columns=["r", "f", "segment", "customers", "net_sales"])


def regions(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers and net sales per region and province, biggest first."""
    grouped: dict[tuple[str, str], list] = {}
    for province, n, sales in zip(profile["province"], profile["customers"], profile["net_sales"], strict=True):
        acc = grouped.setdefault((REGION_OF_PROVINCE.get(province, ""), province), [0, ZERO])
        acc[0] += int(n)
        acc[1] += sales
    frame = pd.DataFrame([(*k, *v) for k, v in grouped.items()], columns=["region", "province", "customers",
                                                                          "net_sales"])
    return frame.sort_values(["customers", "province"], ascending=[False, True], ignore_index=True)


def repeat_rates(profile: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """Per acquisition channel and overall: customers, those with two or more orders, rate."""
    rows = []
    names = dict(zip(channels["channel_id"], channels["channel"], strict=True))
    for cid, part in profile.groupby("channel_id", sort=True):
        n, again = int(part["customers"].sum()), int(part.loc[part["f"] >= 2, "customers"].sum())
        rows.append((names.get(int(cid), str(cid)), n, again, ratio(again, n)))
    n, again = int(profile["customers"].sum()), int(profile.loc[profile["f"] >= 2, "customers"].sum())
    rows.append(("*", n, again, ratio(again, n)))
    return pd.DataFrame(rows, columns=["channel", "customers", "repeat_customers", "repeat_rate"])


def cohorts(f: Filters, as_of: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Retention by first-purchase month for the cohorts whose month overlaps the range:
    ``[cohort, months_since, customers, retention, net_sales]`` where ``retention`` is the share
    of the cohort buying again in that month (month 0 = 100%); orders after ``as_of`` (default
    today) do not count."""
    first, last = f.start.replace(day=1), f.end.replace(day=1)

    def query(s: Session) -> Sequence[Any]:
        rel = summary.customer_relation(s, COHORTS, as_of)
        conds = [rel.c.cohort >= first, rel.c.cohort <= last, *_acquired(rel, f)]
        return s.execute(select(rel.c.cohort, rel.c.month, func.sum(rel.c.customers), func.sum(rel.c.net_sales))
                         .where(*conds).group_by(rel.c.cohort, rel.c.month)).all()

    frame = pd.DataFrame(_read(session, query), columns=["cohort", "month", "customers", "net_sales"])
    if frame.empty:
        return pd.DataFrame(columns=["cohort", "months_since", "customers", "retention", "net_sales"])
    frame["months_since"] = [_months(c, m) for c, m in zip(frame["cohort"], frame["month"], strict=True)]
    size = frame[frame["months_since"] == 0].set_index("cohort")["customers"]
    frame["retention"] = [ratio(n, size.get(c)) for c, n in zip(frame["cohort"], frame["customers"], strict=True)]
    frame["net_sales"] = [_money(v) for v in frame["net_sales"]]
    frame = frame.astype({"customers": "int64"})
    return frame[["cohort", "months_since", "customers", "retention", "net_sales"]].sort_values(
        ["cohort", "months_since"], ignore_index=True)



def clv(f: Filters, today: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Net sales per customer within 3, 6 and 12 months of acquisition, per acquisition
    channel (and ``*`` for all): ``clv_<h>m`` averages only the cohorts that have had ``h``
    full months (the current month is not full), so young cohorts do not drag it down;
    ``to_date`` is the average over every selected customer so far."""
    this_month = (today or local_today()).replace(day=1)
    first, last = f.start.replace(day=1), f.end.replace(day=1)

    def query(s: Session) -> tuple[Sequence[Any], pd.DataFrame]:
        rel = summary.customer_relation(s, COHORTS, today)
        rows = s.execute(select(rel.c.channel_id, rel.c.cohort, rel.c.month, func.sum(rel.c.customers),
                                func.sum(rel.c.net_sales))
                         .where(rel.c.cohort >= first, rel.c.cohort <= last, *_acquired(rel, f))
                         .group_by(rel.c.channel_id, rel.c.cohort, rel.c.month)).all()
        return rows, dims.channels(s)

    rows, channels = _read(session, query)
    names = dict(zip(channels["channel_id"], channels["channel"], strict=True))
    # one pass over the (channel, cohort, month) rows, each counted for its channel and for "*":
    # cohort sizes (month 0), net sales so far, and net sales per cohort within each horizon
    sizes: dict[int | str, dict[dt.date, int]] = {}
    totals: dict[int | str, Decimal] = {}
    within: dict[tuple[int | str, int, dt.date], Decimal] = {}
    for cid, cohort, month, people, sales in rows:
        since, value = _months(cohort, month), Decimal(str(sales))
        for group in (int(cid), "*"):
            cohorts_of = sizes.setdefault(group, {})
            if since == 0:
                cohorts_of[cohort] = cohorts_of.get(cohort, 0) + int(people)
            totals[group] = totals.get(group, ZERO) + value
            for h in CLV_HORIZONS:
                if since < h:
                    within[(group, h, cohort)] = within.get((group, h, cohort), ZERO) + value
    out = []
    for group in [*sorted(g for g in sizes if g != "*"), "*"]:
        size = sizes.get(group, {})
        row: list = [names.get(group, str(group)) if group != "*" else "*", sum(size.values())]
        for h in CLV_HORIZONS:
            mature = [c for c in size if _months(c, this_month) >= h]
            people = sum(size[c] for c in mature)
            spent = sum((within.get((group, h, c), ZERO) for c in mature), ZERO)
            row.append(_money(spent / people) if people else None)
        row.append(_money(totals.get(group, ZERO) / row[1]) if row[1] else None)
        out.append(row)
    return pd.DataFrame(out, columns=["channel", "customers", *[f"clv_{h}m" for h in CLV_HORIZONS], "to_date"])


def _months(first: dt.date, later: dt.date) -> int:
    """Whole calendar months from ``first``'s month to ``later``'s."""
    return (later.year - first.year) * 12 + later.month - first.month


def top_customers(f: Filters, limit: int = 20, today: dt.date | None = None, *,
                  session: Session | None = None) -> pd.DataFrame:
    """The customers of the filters with the highest lifetime net sales (walk-in sales have no
    customer and never appear); ``gross_margin`` leaves out purchases whose cost is unknown."""
    today = today or local_today()

    def query(s: Session) -> tuple[Sequence[Any], pd.DataFrame]:
        rel = summary.customer_relation(s, CUSTOMERS, today)
        c = Customer.__table__
        rows = s.execute(
            select(c.c.code, c.c.name, rel.c.region, rel.c.province, rel.c.channel_id, rel.c.orders,
                   rel.c.net_sales, rel.c.cost, rel.c.first_at, rel.c.last_at, rel.c.uncosted_sales)
            .join(c, c.c.id == rel.c.customer_id).where(*_scope(s, rel, f))
            .order_by(rel.c.net_sales.desc(), c.c.code).limit(limit)).all()
        return rows, dims.channels(s)

    rows, channels = _read(session, query)
    edges = m_thresholds(today, session=session)
    names = dict(zip(channels["channel_id"], channels["channel"], strict=True))
    frame = pd.DataFrame(rows, columns=["code", "name", "region", "province", "channel_id", "orders", "net_sales",
                                        "cost", "first_at", "last_at", "uncosted_sales"])
    frame["channel"] = [names.get(int(i), "") for i in frame["channel_id"]]
    frame["net_sales"] = [_money(v) for v in frame["net_sales"]]
    # the margin on the sales whose cost is known; None when no purchase has a known cost
    frame["gross_margin"] = [None if v and _money(u) >= v else v - _money(u) - _money(c)
                             for v, c, u in zip(frame["net_sales"], frame["cost"], frame["uncosted_sales"],
                                                strict=True)]
    frame["recency_days"] = [(today - local_date(d)).days for d in frame["last_at"]]
    rfm = [scores(last, int(n), Decimal(str(v)), edges, today)
           for last, n, v in zip(frame["last_at"], frame["orders"], frame["net_sales"], strict=True)]
    frame["rfm"] = [f"{r}{f}{m}" for r, f, m in rfm]
    frame["segment"] = [segment_of(r, f) for r, f, _ in rfm]
    return frame[["code", "name", "region", "province", "channel", "orders", "net_sales", "gross_margin",
                  "first_at", "last_at", "recency_days", "rfm", "segment"]]

def last_order_day(*, session: Session | None = None) -> dt.date | None:
    """The local day of the newest customer order (walks the order-time index back from the
    end): where a history ends, the as-of day to see its customers at."""
    def query(s: Session) -> dt.datetime | None:
        return s.execute(select(func.max(Order.placed_at)).where(
            Order.customer_id.is_not(None), Order.status.not_in(EXCLUDED_STATUSES))).scalar_one()

    last = _read(session, query)
    return None if last is None else local_date(last)


def local_date(ts: dt.datetime) -> dt.date:
    """Shop-local calendar day of a stored UTC timestamp."""
    local = to_local(ts)
    assert local is not None
    return local.date()


def segment_takeaway(seg: pd.DataFrame) -> Takeaway | None:
    """The share of customers at risk of leaving, against the champions' share of sales."""
    if not seg["customers"].sum():
        return None
    by = seg.set_index("segment")
    risk = int(by.loc[["at_risk", "cannot_lose"], "customers"].sum())
    return Takeaway("an.take.customers_segments", {
        "champions": pct(by.at["champions", "share"]), "champion_sales": pct(by.at["champions", "sales_share"]),
        "at_risk": risk, "at_risk_sales": sum(by.loc[["at_risk", "cannot_lose"], "net_sales"], ZERO)})


def cohort_takeaway(cohort: pd.DataFrame) -> Takeaway | None:
    """Average month-1 and month-3 retention over the cohorts old enough to have them."""
    if cohort.empty:
        return None
    m1 = cohort.loc[cohort["months_since"] == 1, "retention"].dropna()
    m3 = cohort.loc[cohort["months_since"] == 3, "retention"].dropna()
    if m1.empty:
        return None
    return Takeaway("an.take.customers_cohort", {"m1": pct(float(m1.mean())),
                                              "m3": pct(float(m3.mean())) if not m3.empty else "—"})


def repeat_takeaway(rep: pd.DataFrame) -> Takeaway | None:
    overall = rep[rep["channel"] == "*"].iloc[0]
    by_channel = rep[(rep["channel"] != "*") & (rep["customers"] > 0)].dropna(subset=["repeat_rate"])
    if not overall["customers"] or by_channel.empty:
        return None
    best = by_channel.sort_values(["repeat_rate", "channel"], ascending=[False, True]).iloc[0]
    return Takeaway("an.take.customers_repeat", {"rate": pct(overall["repeat_rate"]), "channel": best["channel"],
                                              "best": pct(best["repeat_rate"])})


def clv_takeaway(values: pd.DataFrame) -> Takeaway | None:
    ranked = values[values["channel"] != "*"].dropna(subset=["clv_12m"])
    if ranked.empty:
        return None
    best = ranked.sort_values(["clv_12m", "channel"], ascending=[False, True]).iloc[0]
    overall = values[values["channel"] == "*"].iloc[0]
    return Takeaway("an.take.customers_clv", {"channel": best["channel"], "clv": best["clv_12m"],
                                           "overall": overall["clv_12m"]})


def region_takeaway(reg: pd.DataFrame) -> Takeaway | None:
    if reg.empty or not reg["customers"].sum():
        return None
    top = reg.iloc[0]
    return Takeaway("an.take.customers_regions", {"province": top["province"] or "—",
                                               "share": pct(ratio(top["customers"], reg["customers"].sum()))})
