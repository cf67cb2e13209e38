"""Channels dashboard: each channel's contribution, growth, order value, returns,
cancellations and how fast its orders ship — one row per channel, quiet channels included.

Sales columns honour every filter; the fulfilment columns (hours to ship, on-time rate) ignore
the category filter because an order ships as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.analytics import _read, dims, summary
from core.analytics.filters import Filters, filter_keys, where
from core.analytics.measures import SALES, SUMS, kpi_row, split_periods, two_periods
from core.analytics.takeaway import Takeaway, change, pct, ratio
from core.models import AggFulfillmentDaily, Channel

FULFILLMENT = AggFulfillmentDaily.__table__
COLUMNS = ["channel_code", "channel", "orders", "units", "net_sales", "share", "previous_net_sales", "growth",
           "aov", "gross_margin", "margin_rate", "return_rate", "returned_sales", "cancel_rate", "ship_hours",
           "on_time_rate", "walk_in_orders", "uncosted_sales"]


def channel_table(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """:data:`COLUMNS` per channel: every active channel (or the selected ones), plus any
    inactive channel that sold in either period; biggest net sales first. ``share`` is the
    channel's fraction of the range's net sales, ``growth`` the change vs the previous period
    (None when the channel sold nothing then)."""
    prev = f.previous()

    def query(s: Session) -> tuple[Sequence[Any], Sequence[Any], pd.DataFrame, set[int]]:
        rel = summary.span(s, SALES, prev.start, f.end, filter_keys(f, SALES, category=True) | {"channel_id"},
                           lambda r: where(r, f, dates=False, category=True), cuts=[f.start])
        sales = s.execute(select(rel.c.channel_id, *two_periods(rel, f.start)).group_by(rel.c.channel_id)).all()
        ful = summary.span(s, FULFILLMENT, f.start, f.end, filter_keys(f, FULFILLMENT) | {"stage", "channel_id"},
                           lambda r: [r.c.stage == "ship", *where(r, f, dates=False)])
        shipping = s.execute(
            select(ful.c.channel_id, func.sum(ful.c.orders), func.sum(ful.c.hours), func.sum(ful.c.on_time),
                   func.sum(ful.c.late))
            .group_by(ful.c.channel_id)).all()
        active = {int(i) for i in s.execute(select(Channel.id).where(Channel.active.is_(True))).scalars()}
        return sales, shipping, dims.channels(s), active

    sales, shipping, channels, active = _read(session, query)
    by_channel = {int(r[0]): r[1:] for r in sales}
    ship = {int(r[0]): r[1:] for r in shipping}
    keep = channels[channels["channel_code"].isin(f.channels)] if f.channels else channels[
        channels["channel_id"].isin(active | set(by_channel))]
    rows = []
    for ch in keep.itertuples(index=False):
        now, then = split_periods(by_channel.get(int(ch.channel_id), (0,) * (2 * len(SUMS))))
        cur, before = kpi_row("current", f.start, f.end, now), kpi_row("previous", prev.start, prev.end, then)
        shipped, hours, on_time, late = ship.get(int(ch.channel_id), (0, 0.0, 0, 0))
        rows.append({
            "channel_code": ch.channel_code, "channel": ch.channel, "orders": cur["orders"], "units": cur["units"],
            "net_sales": cur["net_sales"], "previous_net_sales": before["net_sales"],
            "growth": change(cur["net_sales"], before["net_sales"]), "aov": cur["aov"],
            "gross_margin": cur["gross_margin"], "margin_rate": cur["margin_rate"],
            "return_rate": cur["return_rate"], "returned_sales": cur["returned_sales"],
            "cancel_rate": cur["cancel_rate"], "ship_hours": ratio(hours, shipped),
            "on_time_rate": ratio(on_time, (on_time or 0) + (late or 0)),
            "walk_in_orders": cur["walk_in_orders"], "uncosted_sales": cur["uncosted_sales"],
        })
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "share"])
    total = sum(frame["net_sales"]) if not frame.empty else 0
    frame.insert(5, "share", [ratio(v, total) if total > 0 else None for v in frame["net_sales"]])
    return frame.sort_values(["net_sales", "channel_code"], ascending=[False, True], ignore_index=True)


def growth_takeaway(table: pd.DataFrame) -> Takeaway | None:
    """The channel whose net sales moved most (in money) vs the previous period, e.g.
    "抖音直播 +32% vs the previous period, now 21% of net sales"."""
    moved = table.dropna(subset=["growth"])
    if moved.empty:
        return None
    delta = [abs(a - b) for a, b in zip(moved["net_sales"], moved["previous_net_sales"], strict=True)]
    top = moved.iloc[max(range(len(delta)), key=delta.__getitem__)]
    return Takeaway("an.take.channels_growth", {"channel": top["channel"], "growth": pct(top["growth"], signed=True),
                                             "share": pct(top["share"])})


def speed_takeaway(table: pd.DataFrame) -> Takeaway | None:
    """The slowest-shipping channel against the fastest."""
    timed = table.dropna(subset=["ship_hours"])
    if len(timed) < 2:
        return None
    slow = timed.sort_values("ship_hours", ascending=False).iloc[0]
    fast = timed.sort_values("ship_hours").iloc[0]
    return Takeaway("an.take.channels_speed", {"slow": slow["channel"], "slow_hours": f"{slow['ship_hours']:.1f}",
                                            "fast": fast["channel"], "fast_hours": f"{fast['ship_hours']:.1f}"})


def value_takeaway(table: pd.DataFrame) -> Takeaway | None:
    """The channel with the highest order value and the one with the highest return rate."""
    valued = table.dropna(subset=["aov"])
    returned = table.dropna(subset=["return_rate"])
    if valued.empty or returned.empty:
        return None
    top = valued.sort_values(["aov", "channel_code"], ascending=[False, True]).iloc[0]
    worst = returned.sort_values(["return_rate", "channel_code"], ascending=[False, True]).iloc[0]
    return Takeaway("an.take.channels_value", {"channel": top["channel"], "aov": top["aov"],
                                            "returns": worst["channel"], "rate": pct(worst["return_rate"])})
