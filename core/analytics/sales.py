"""Sales dashboard: KPIs with period-over-period change, the trend by channel, the hour ×
weekday heatmap and promotion uplift — all read from the daily and hourly summaries.

Measures follow :mod:`core.analytics.summary.facts`: net sales are after line and order
discounts and after returns, without shipping fees; units are net of returns; cancelled
orders never count (their number is reported separately); cost is the kept units' cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.analytics import ZERO, _money, _read, dims, summary
from core.analytics.filters import Filters, filter_keys, where
from core.analytics.measures import KPI_COLUMNS, SALES, kpi_row, split_periods, two_periods
from core.analytics.takeaway import Takeaway, change, pct, ratio
from core.models import AggSalesHourly
from core.timeutil import local_today

HOURLY = AggSalesHourly.__table__
GRAINS = ("day", "week", "month")
TREND_COLUMNS = ["period", "channel_code", "channel", "orders", "units", "net_sales"]
HEATMAP_COLUMNS = ["weekday", "hour", "orders", "net_sales"]


def kpis(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Two rows, ``period`` = current and previous (the same number of days just before),
    with :data:`KPI_COLUMNS`. Ratios are floats (None without a base); money is Decimal."""
    prev = f.previous()

    def query(s: Session) -> tuple:
        rel = summary.span(s, SALES, prev.start, f.end, filter_keys(f, SALES, category=True),
                           lambda r: where(r, f, dates=False, category=True), cuts=[f.start])
        return s.execute(select(*two_periods(rel, f.start))).one()

    cur, before = split_periods(_read(session, query))
    return pd.DataFrame([kpi_row("current", f.start, f.end, cur), kpi_row("previous", prev.start, prev.end, before)],
                        columns=KPI_COLUMNS)


def _period_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def trend(f: Filters, grain: str = "day", *, session: Session | None = None) -> pd.DataFrame:
    """Orders, net units and net sales per period (local day, ISO week starting Monday, or
    month) × channel, zero-filled over every period of the range for each channel that sold
    or was selected. ``period`` is the period's first day (partial first/last periods hold
    only the days inside the range)."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}")

    def query(s: Session) -> tuple[Sequence[Any], pd.DataFrame]:
        rel = summary.span(s, SALES, f.start, f.end, filter_keys(f, SALES, category=True) | {"channel_id"},
                           lambda r: where(r, f, dates=False, category=True), per_day=True)
        rows = s.execute(
            select(rel.c.day, rel.c.channel_id, func.sum(rel.c.orders), func.sum(rel.c.units - rel.c.returned_units),
                   func.sum(rel.c.sales - rel.c.returned_sales))
            .group_by(rel.c.day, rel.c.channel_id)).all()
        return rows, dims.channels(s)

    rows, channels = _read(session, query)
    daily = pd.DataFrame([tuple(r) for r in rows], columns=["day", "channel_id", "orders", "units", "net_sales"])
    periods = sorted({_period_start(d, grain) for d in f.dates()})
    wanted = channels[channels["channel_code"].isin(f.channels)] if f.channels else channels[
        channels["channel_id"].isin(set(daily["channel_id"]))]
    sums: dict[tuple[dt.date, int], list] = {}
    for r in daily.itertuples(index=False):
        acc = sums.setdefault((_period_start(r.day, grain), int(r.channel_id)), [0, 0, ZERO])
        acc[0] += int(r.orders)
        acc[1] += int(r.units)
        acc[2] += Decimal(str(r.net_sales))
    shown = [(int(i), code, name) for i, code, name in zip(wanted["channel_id"], wanted["channel_code"],
                                                            wanted["channel"], strict=True)]
    out = [(p, code, name, *sums.get((p, i), [0, 0, ZERO])) for p in periods for i, code, name in shown]
    frame = pd.DataFrame(out, columns=TREND_COLUMNS)
    frame["net_sales"] = [_money(v) for v in frame["net_sales"]]
    return frame


def heatmap(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Orders and net sales per local weekday (0 = Monday) × hour, all 168 cells."""

    def query(s: Session) -> Sequence[Any]:
        rel = summary.span(s, HOURLY, f.start, f.end, filter_keys(f, HOURLY, category=True) | {"hour"},
                           lambda r: where(r, f, dates=False, category=True), per_day=True)
        return s.execute(select(rel.c.day, rel.c.hour, func.sum(rel.c.orders), func.sum(rel.c.net_sales))
                         .group_by(rel.c.day, rel.c.hour)).all()

    cells: dict[tuple[int, int], list] = {(d, h): [0, ZERO] for d in range(7) for h in range(24)}
    for day, hour, orders, net in _read(session, query):
        acc = cells[(day.weekday(), int(hour))]
        acc[0] += int(orders)
        acc[1] += Decimal(str(net))
    return pd.DataFrame([(d, h, n, _money(v)) for (d, h), (n, v) in cells.items()], columns=HEATMAP_COLUMNS)


# --- promotions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """A recurring shopping festival: its window (month, day) inclusive and its peak day."""

    code: str
    start: tuple[int, int]
    end: tuple[int, int]
    peak: tuple[int, int]


PROMOTIONS = (
    Promotion("618", (5, 20), (6, 18), (6, 18)),  # pre-sales from late May, the day itself 18 June
    Promotion("double11", (10, 20), (11, 11), (11, 11)),  # pre-sales from 20 October
    Promotion("double12", (12, 10), (12, 12), (12, 12)),
)
BASELINE_DAYS = 28  # the four weeks before a promotion window are its baseline
AFTER_DAYS = 7
PROMO_COLUMNS = ["event", "year", "start", "end", "baseline_daily", "promo_daily", "uplift", "peak_day",
                 "peak_sales", "peak_uplift", "after_daily", "after_change", "promo_sales"]
CURVE_COLUMNS = ["event", "year", "offset", "day", "net_sales", "index"]


def promotions(f: Filters, today: dt.date | None = None, *, session: Session | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Uplift of every completed promotion window since the first sale, ignoring the date range
    (a promotion is rarely inside it) but honouring the other filters.

    Returns ``(summary, curves)``: per occurrence the average daily net sales in the window vs
    the :data:`BASELINE_DAYS` before it (``uplift``), the peak day's, and the
    :data:`AFTER_DAYS` after it (the hangover); and the daily series from the baseline start
    to the end of the after-period, ``index`` = net sales / baseline daily average.
    """
    today = today or local_today()
    occurrences = []
    for year in range(today.year - 2, today.year + 1):  # the data of the last two years or so
        for p in PROMOTIONS:
            start, end = dt.date(year, *p.start), dt.date(year, *p.end)
            if end < today:
                occurrences.append((p, year, start, end, dt.date(year, *p.peak)))
    if not occurrences:
        return pd.DataFrame(columns=PROMO_COLUMNS), pd.DataFrame(columns=CURVE_COLUMNS)
    lo = min(o[2] for o in occurrences) - dt.timedelta(days=BASELINE_DAYS)
    hi = min(max(o[3] for o in occurrences) + dt.timedelta(days=AFTER_DAYS), today - dt.timedelta(days=1))
    span = Filters(lo, max(hi, lo), f.channels, f.warehouses, f.regions, f.category)

    def query(s: Session) -> Sequence[Any]:
        rel = summary.span(s, SALES, span.start, span.end, filter_keys(span, SALES, category=True),
                           lambda r: where(r, span, dates=False, category=True), per_day=True)
        return s.execute(select(rel.c.day, func.sum(rel.c.sales - rel.c.returned_sales)).group_by(rel.c.day)).all()

    daily = {day: Decimal(str(v)) for day, v in _read(session, query)}
    first_sale = min(daily, default=None)
    rows, curves = [], []
    for p, year, start, end, peak in occurrences:
        base_start = start - dt.timedelta(days=BASELINE_DAYS)
        if first_sale is None or base_start < first_sale:
            continue  # no full baseline before this window
        baseline = _daily_mean(daily, base_start, start - dt.timedelta(days=1))
        promo = _daily_mean(daily, start, end)
        after_end = min(end + dt.timedelta(days=AFTER_DAYS), today - dt.timedelta(days=1))
        after = _daily_mean(daily, end + dt.timedelta(days=1), after_end) if after_end > end else None
        peak_sales = daily.get(peak, ZERO)
        rows.append((p.code, year, start, end, _money(baseline), _money(promo), change(promo, baseline), peak,
                     _money(peak_sales), change(peak_sales, baseline), None if after is None else _money(after),
                     None if after is None else change(after, baseline),
                     _money(sum((daily.get(d, ZERO) for d in _days(start, end)), ZERO))))
        for day in _days(base_start, after_end):
            v = daily.get(day, ZERO)
            curves.append((p.code, year, (day - start).days, day, _money(v), ratio(v, baseline)))
    return pd.DataFrame(rows, columns=PROMO_COLUMNS), pd.DataFrame(curves, columns=CURVE_COLUMNS)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _daily_mean(daily: dict[dt.date, Decimal], first: dt.date, last: dt.date) -> Decimal:
    days = _days(first, last)
    return sum((daily.get(d, ZERO) for d in days), ZERO) / len(days) if days else ZERO


# --- takeaways -------------------------------------------------------------------------------


def kpi_takeaway(k: pd.DataFrame) -> Takeaway | None:
    """"Net sales ¥X, +12% vs the previous 30 days; gross margin 41%, AOV ¥Y"."""
    cur, prev = k.set_index("period").loc["current"], k.set_index("period").loc["previous"]
    if not cur["orders"]:
        return None
    return Takeaway("an.take.sales_kpis", {"net_sales": cur["net_sales"], "change": pct(
        change(cur["net_sales"], prev["net_sales"]), signed=True), "margin": pct(cur["margin_rate"]),
        "aov": cur["aov"], "days": int((cur["end"] - cur["start"]).days + 1)})


def heatmap_takeaway(h: pd.DataFrame) -> Takeaway | None:
    """The busiest weekday-hour and its share of orders."""
    total = int(h["orders"].sum())
    if not total:
        return None
    top = h.sort_values(["orders", "weekday", "hour"], ascending=[False, True, True]).iloc[0]
    return Takeaway("an.take.sales_heatmap", {"weekday": int(top["weekday"]), "hour": int(top["hour"]),
                                           "share": pct(top["orders"] / total)})


def promotion_takeaway(p: pd.DataFrame) -> Takeaway | None:
    """The latest promotion's uplift and peak."""
    if p.empty:
        return None
    last = p.sort_values("end").iloc[-1]
    return Takeaway("an.take.sales_promo", {"event": last["event"], "year": int(last["year"]),
                                         "uplift": pct(last["uplift"], signed=True),
                                         "peak": pct(last["peak_uplift"], signed=True)})


def trend_takeaway(t: pd.DataFrame) -> Takeaway | None:
    """The channel whose share of net sales rose most from the first period of the trend to
    the last ("抖音直播: 12% → 21% of net sales")."""
    periods = sorted(set(t["period"]))
    if len(periods) < 2:
        return None
    shares = {}
    for p in (periods[0], periods[-1]):
        part = t[t["period"] == p]
        total = sum(part["net_sales"], ZERO)
        if total <= 0:
            return None
        shares[p] = {ch: v / total for ch, v in zip(part["channel"], part["net_sales"], strict=True)}
    first, last = shares[periods[0]], shares[periods[-1]]
    channel = max(last, key=lambda ch: (last[ch] - first.get(ch, ZERO), ch))
    return Takeaway("an.take.channels_trend", {"channel": channel, "before": pct(float(first.get(channel, ZERO))),
                                               "after": pct(float(last[channel])), "start": periods[0].isoformat(),
                                               "end": periods[-1].isoformat()})
