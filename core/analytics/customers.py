"""Customers dashboard: RFM scores and named segments, cohort retention, repeat purchases,
lifetime value by acquisition channel, top customers and where customers live.

The filters select customers by *acquisition*: the date range is the local day of their first
purchase, channels the channel of that purchase, regions where the customer lives (their
address). Each selected customer is then measured over their whole history up to today.
Warehouse and category do not apply to people and are ignored.

Scores: R from days since the last order (≤30, ≤90, ≤180, ≤365, older → 5…1), F from the
number of orders (1, 2, 3, 4–5, 6+ → 1…5), M from quintiles of net sales over all buying
customers (so a score means the same whatever the filter). Segments follow the usual R × F map.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pandas as pd
from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import ZERO, _money, _read, dims, summary
from core.analytics.filters import Filters
from core.analytics.takeaway import Takeaway, pct, ratio
from core.geo import REGION_OF_PROVINCE
from core.models import AggCohort, AggCustomer, Channel, Customer
from core.timeutil import local_day_start_utc, local_today, to_local

CUSTOMERS, COHORTS = AggCustomer.__table__, AggCohort.__table__
R_DAYS = (30, 90, 180, 365)  # last order within this many local days → R5, R4, R3, R2; else R1
F_ORDERS = (2, 3, 4, 6)  # at least this many orders → F2, F3, F4, F5; else F1
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
    conds = []
    if f.channels:
        conds.append(rel.c.channel_id.in_(select(Channel.id).where(Channel.code.in_(f.channels))))
    if f.regions:
        conds.append(rel.c.region.in_(f.regions))
    return conds


def _scope(s: Session, rel: FromClause, f: Filters) -> list[ColumnElement[bool]]:
    """Customers acquired in the date range (local days), channels and regions chosen.

    When the range covers every customer's acquisition (two index seeks tell) the dates are
    left out: the table is then read plainly, and the top-customer query walks the net-sales
    index from the top instead of sorting everyone.
    """
    start, end = local_day_start_utc(f.start), local_day_start_utc(f.end + dt.timedelta(days=1))
    first, last = s.execute(select(func.min(rel.c.first_at), func.max(rel.c.first_at))).one()
    everyone = first is not None and first >= start and last < end
    # both bounds or none: a range is what makes the planner use the acquisition index
    dates = [] if everyone else [rel.c.first_at >= start, rel.c.first_at < end]
    return [*dates, *_acquired(rel, f)]


QUINTILES = (0.2, 0.4, 0.6, 0.8)


def m_thresholds(*, session: Session | None = None) -> tuple[Decimal, ...]:
    """Net-sales quintile edges over all buying customers (4 values; M5 above the last): the
    discrete percentile, i.e. the smallest net sales with at least 20 / 40 / 60 / 80 % of
    customers at or below it. PostgreSQL computes it in one ordered-set aggregate; SQLite has
    none, so each edge is one walk along the net-sales index (from the nearer end)."""

    def query(s: Session) -> tuple[Decimal, ...]:
        rel = summary.relation(s, CUSTOMERS)
        if s.get_bind().dialect.name == "postgresql":
            found = s.execute(select(*[func.percentile_disc(q).within_group(rel.c.net_sales)
                                       for q in QUINTILES])).one()
            return () if found[0] is None else tuple(Decimal(str(v)) for v in found)
        n = s.execute(select(func.count()).select_from(rel)).scalar_one()
        if not n:
            return ()
        edges = []
        for q in QUINTILES:
            k = max(0, math.ceil(n * q - 1e-9) - 1)  # 0-based position of the discrete percentile
            ascending = k < n / 2
            order = rel.c.net_sales.asc() if ascending else rel.c.net_sales.desc()
            offset = k if ascending else n - 1 - k
            edges.append(Decimal(str(s.execute(select(rel.c.net_sales).order_by(order).offset(offset).limit(1))
                                     .scalar_one())))
        return tuple(edges)

    return _read(session, query)


def rfm_profile(f: Filters, today: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Customers of the filters counted per (R score × F score × province × acquisition
    channel), with their orders, net sales and cost: the one scan the segments, the R × F grid,
    the regions and the repeat rates all come from. (M needs no grouping: it is shown per
    customer and as each segment's net sales.)"""
    today = today or local_today()

    def query(s: Session) -> list:
        rel = summary.relation(s, CUSTOMERS)
        r = case(*[(rel.c.last_at >= local_day_start_utc(today - dt.timedelta(days=d - 1)), 5 - i)
                   for i, d in enumerate(R_DAYS)], else_=1)
        fr = case(*[(rel.c.orders >= n, 5 - i) for i, n in enumerate(reversed(F_ORDERS))], else_=1)
        # one flat GROUP BY on the output names: SQLite sorts the rows once (no subquery pass)
        return s.execute(select(r.label("r"), fr.label("f"), rel.c.province, rel.c.channel_id, func.count(),
                                func.sum(rel.c.orders), func.sum(rel.c.net_sales), func.sum(rel.c.cost))
                         .where(*_scope(s, rel, f))
                         .group_by(literal_column("r"), literal_column("f"), rel.c.province, rel.c.channel_id)).all()

    frame = pd.DataFrame(_read(session, query), columns=PROFILE_COLUMNS)
    frame["net_sales"] = [_money(v) for v in frame["net_sales"]]
    frame["cost"] = [_money(v) for v in frame["cost"]]
    return frame.astype({"r": "int64", "f": "int64", "customers": "int64", "orders": "int64"})


def scores(last_at: dt.datetime, orders: int, net_sales: Decimal, edges: tuple[Decimal, ...], today: dt.date
           ) -> tuple[int, int, int]:
    """(R, F, M) of one customer, by the same rules as the SQL above."""
    days = (today - local_date(last_at)).days
    r = next((5 - i for i, d in enumerate(R_DAYS) if days < d), 1)
    f = next((5 - i for i, n in enumerate(reversed(F_ORDERS)) if orders >= n), 1)
    m = 1 + sum(net_sales > e for e in edges)
    return r, f, m


def segments(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers, their share, net sales and averages per named segment (all segments listed)."""
    named = profile.assign(segment=[segment_of(r, f) for r, f in zip(profile["r"], profile["f"], strict=True)])
    total_customers = int(profile["customers"].sum())
    total_sales = sum(profile["net_sales"], ZERO)
    rows = []
    for name in SEGMENTS:
        part = named[named["segment"] == name]
        n, sales = int(part["customers"].sum()), sum(part["net_sales"], ZERO)
        rows.append((name, n, ratio(n, total_customers), sales, ratio(sales, total_sales),
                     ratio(part["orders"].sum(), n), _money(sales / n) if n else None))
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def score_grid(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers and net sales per R × F score (25 cells), with each cell's segment."""
    rows = []
    for r in range(1, 6):
        for fs in range(1, 6):
            part = profile[(profile["r"] == r) & (profile["f"] == fs)]
            rows.append((r, fs, segment_of(r, fs), int(part["customers"].sum()), sum(part["net_sales"], ZERO)))
    return pd.DataFrame(rows, columns=["r", "f", "segment", "customers", "net_sales"])


def regions(profile: pd.DataFrame) -> pd.DataFrame:
    """Customers and net sales per region and province, biggest first."""
    grouped: dict[tuple[str, str], list] = {}
    for row in profile.itertuples(index=False):
        key = (REGION_OF_PROVINCE.get(row.province, ""), row.province)
        acc = grouped.setdefault(key, [0, ZERO])
        acc[0] += int(row.customers)
        acc[1] += row.net_sales
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


def cohorts(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Retention by first-purchase month for the cohorts whose month overlaps the range:
    ``[cohort, months_since, customers, retention, net_sales]`` where ``retention`` is the share
    of the cohort buying again in that month (month 0 = 100%)."""
    first, last = f.start.replace(day=1), f.end.replace(day=1)

    def query(s: Session) -> list:
        rel = summary.relation(s, COHORTS)
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

    def query(s: Session) -> tuple[list, pd.DataFrame]:
        rel = summary.relation(s, COHORTS)
        rows = s.execute(select(rel.c.channel_id, rel.c.cohort, rel.c.month, func.sum(rel.c.customers),
                                func.sum(rel.c.net_sales))
                         .where(rel.c.cohort >= first, rel.c.cohort <= last, *_acquired(rel, f))
                         .group_by(rel.c.channel_id, rel.c.cohort, rel.c.month)).all()
        return rows, dims.channels(s)

    rows, channels = _read(session, query)
    names = dict(zip(channels["channel_id"], channels["channel"], strict=True))
    frame = pd.DataFrame(rows, columns=["channel_id", "cohort", "month", "customers", "net_sales"])
    frame["since"] = [_months(c, m) for c, m in zip(frame["cohort"], frame["month"], strict=True)]
    frame["age"] = [_months(c, this_month) for c in frame["cohort"]]
    groups = [(names.get(int(cid), str(cid)), part) for cid, part in frame.groupby("channel_id", sort=True)]
    out = []
    for name, part in [*groups, ("*", frame)]:
        size = part[part["since"] == 0].groupby("cohort")["customers"].sum()
        row: list = [name, int(size.sum())]
        for h in CLV_HORIZONS:
            mature = set(size.index[[_months(c, this_month) >= h for c in size.index]])
            spent = sum((Decimal(str(v)) for c, v, k in zip(part["cohort"], part["net_sales"], part["since"],
                                                            strict=True) if c in mature and k < h), ZERO)
            people = int(size[list(mature)].sum()) if mature else 0
            row.append(_money(spent / people) if people else None)
        total = sum((Decimal(str(v)) for v in part["net_sales"]), ZERO)
        row.append(_money(total / row[1]) if row[1] else None)
        out.append(row)
    return pd.DataFrame(out, columns=["channel", "customers", *[f"clv_{h}m" for h in CLV_HORIZONS], "to_date"])


def _months(first: dt.date, later: dt.date) -> int:
    """Whole calendar months from ``first``'s month to ``later``'s."""
    return (later.year - first.year) * 12 + later.month - first.month


def top_customers(f: Filters, limit: int = 20, today: dt.date | None = None, *,
                  session: Session | None = None) -> pd.DataFrame:
    """The customers of the filters with the highest lifetime net sales."""
    today = today or local_today()

    def query(s: Session) -> tuple[list, pd.DataFrame]:
        rel = summary.relation(s, CUSTOMERS)
        c = Customer.__table__
        rows = s.execute(
            select(c.c.code, c.c.name, rel.c.region, rel.c.province, rel.c.channel_id, rel.c.orders,
                   rel.c.net_sales, rel.c.cost, rel.c.first_at, rel.c.last_at)
            .join(c, c.c.id == rel.c.customer_id).where(*_scope(s, rel, f))
            .order_by(rel.c.net_sales.desc(), c.c.code).limit(limit)).all()
        return rows, dims.channels(s)

    rows, channels = _read(session, query)
    edges = m_thresholds(session=session)
    names = dict(zip(channels["channel_id"], channels["channel"], strict=True))
    frame = pd.DataFrame(rows, columns=["code", "name", "region", "province", "channel_id", "orders", "net_sales",
                                        "cost", "first_at", "last_at"])
    frame["channel"] = [names.get(int(i), "") for i in frame["channel_id"]]
    frame["net_sales"] = [_money(v) for v in frame["net_sales"]]
    frame["gross_margin"] = [v - _money(c) for v, c in zip(frame["net_sales"], frame["cost"], strict=True)]
    frame["recency_days"] = [(today - local_date(d)).days for d in frame["last_at"]]
    rfm = [scores(last, int(n), Decimal(str(v)), edges, today)
           for last, n, v in zip(frame["last_at"], frame["orders"], frame["net_sales"], strict=True)]
    frame["rfm"] = [f"{r}{f}{m}" for r, f, m in rfm]
    frame["segment"] = [segment_of(r, f) for r, f, _ in rfm]
    return frame[["code", "name", "region", "province", "channel", "orders", "net_sales", "gross_margin",
                  "first_at", "last_at", "recency_days", "rfm", "segment"]]

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
