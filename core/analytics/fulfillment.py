"""Fulfilment dashboard: how long orders take to be approved, shipped and delivered (hours
from placement, as distributions), whether they leave by their due time, which orders are
late, and where the breaches happen (warehouse × channel).

An order is *due* to ship by ``orders.due_by`` (placement + the ``order_due`` setting in
force when it was created). A breach is an order shipped after its due time, or one not
shipped yet whose due time has passed ("open overdue", counted live because it depends on the
clock, not on any write). Orders are grouped by the local day they were placed; cancelled
orders are left out. The category filter does not apply: an order ships as a whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, literal_column, select, union
from sqlalchemy.orm import Session

from core.analytics import _read, dims, summary
from core.analytics.filters import Filters, filter_keys, where
from core.analytics.sqltime import epoch_seconds
from core.analytics.summary.daily import BUCKET_EDGES, STAGES
from core.analytics.summary.facts import region_of
from core.analytics.takeaway import Takeaway, pct, ratio
from core.domain.rulebook import OPEN_STATUSES
from core.models import AggFulfillmentDaily, Channel, Order, Warehouse
from core.timeutil import local_day_start_utc, utcnow

FULFILLMENT = AggFulfillmentDaily.__table__
BUCKETS = len(BUCKET_EDGES) + 1
LATE_COLUMNS = ["number", "channel", "warehouse", "region", "status", "placed_at", "due_by", "shipped_at",
                "hours_late"]


def bucket_label(i: int) -> str:
    """``"<1h"``, ``"1–2h"`` … ``"≥168h"``."""
    if i == 0:
        return f"<{BUCKET_EDGES[0]}h"
    if i >= len(BUCKET_EDGES):
        return f"≥{BUCKET_EDGES[-1]}h"
    return f"{BUCKET_EDGES[i - 1]}–{BUCKET_EDGES[i]}h"


def _within(i: int) -> str:
    """The upper bound of bucket ``i`` ("≤48h"), for "half of the orders took ≤48h"."""
    return f"≤{BUCKET_EDGES[i]}h" if i < len(BUCKET_EDGES) else f">{BUCKET_EDGES[-1]}h"


def distributions(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Orders per stage × duration bucket (every cell), with the share of the stage's orders,
    the cumulative share, the hours summed (for means) and, for ``ship``, on-time / late."""

    def query(s: Session) -> Sequence[Any]:
        rel = summary.span(s, FULFILLMENT, f.start, f.end, filter_keys(f, FULFILLMENT) | {"stage", "bucket"},
                           lambda r: where(r, f, dates=False))
        return s.execute(select(rel.c.stage, rel.c.bucket, func.sum(rel.c.orders), func.sum(rel.c.hours),
                                func.sum(rel.c.on_time), func.sum(rel.c.late))
                         .group_by(rel.c.stage, rel.c.bucket)).all()

    got = {(stage, int(b)): (int(n), float(h), int(ot), int(lt)) for stage, b, n, h, ot, lt in _read(session, query)}
    rows = []
    for stage in STAGES:
        total = sum(got.get((stage, b), (0,))[0] for b in range(BUCKETS))
        running = 0
        for b in range(BUCKETS):
            n, hours, on_time, late = got.get((stage, b), (0, 0.0, 0, 0))
            running += n
            rows.append((stage, b, bucket_label(b), n, ratio(n, total), ratio(running, total), hours, on_time, late))
    return pd.DataFrame(rows, columns=["stage", "bucket", "label", "orders", "share", "cumulative", "hours", "on_time",
                                       "late"])


def stage_summary(dist: pd.DataFrame) -> pd.DataFrame:
    """Per stage: orders, mean hours, share within 24 h and 48 h, and the bucket bounds the
    median and the 90th percentile fall under ("≤24h")."""
    rows = []
    for stage in STAGES:
        part = dist[dist["stage"] == stage]
        n = int(part["orders"].sum())
        within = {h: ratio(part.loc[part["bucket"] < BUCKET_EDGES.index(h) + 1, "orders"].sum(), n) for h in (24, 48)}
        cumulative = list(part["cumulative"])
        median = next((_within(i) for i, c in enumerate(cumulative) if c is not None and c >= 0.5), None)
        p90 = next((_within(i) for i, c in enumerate(cumulative) if c is not None and c >= 0.9), None)
        rows.append((stage, n, ratio(part["hours"].sum(), n), within[24], within[48], median, p90))
    return pd.DataFrame(rows, columns=["stage", "orders", "mean_hours", "within_24h", "within_48h", "median_bucket",
                                       "p90_bucket"])


def on_time_by_day(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Shipped orders per local day placed, how many left by their due time, the rate."""

    def query(s: Session) -> Sequence[Any]:
        rel = summary.span(s, FULFILLMENT, f.start, f.end, filter_keys(f, FULFILLMENT) | {"stage"},
                           lambda r: [r.c.stage == "ship", *where(r, f, dates=False)], per_day=True)
        return s.execute(select(rel.c.day, func.sum(rel.c.orders), func.sum(rel.c.on_time), func.sum(rel.c.late))
                         .group_by(rel.c.day)).all()

    got = {d: (int(n), int(ot), int(lt)) for d, n, ot, lt in _read(session, query)}
    rows = [(d, *got.get(d, (0, 0, 0))) for d in f.dates()]
    frame = pd.DataFrame(rows, columns=["day", "shipped", "on_time", "late"])
    frame["on_time_rate"] = [ratio(a, a + b) for a, b in zip(frame["on_time"], frame["late"], strict=True)]
    return frame


def _raw_filters(f: Filters) -> list:
    """The filters on the orders table itself (for the live, clock-dependent part)."""
    o = Order.__table__
    conds = [o.c.placed_at >= local_day_start_utc(f.start),
             o.c.placed_at < local_day_start_utc(f.end + dt.timedelta(days=1))]
    if f.channels:
        conds.append(o.c.channel_id.in_(select(Channel.id).where(Channel.code.in_(f.channels))))
    if f.warehouses:
        conds.append(o.c.warehouse_id.in_(select(Warehouse.id).where(Warehouse.code.in_(f.warehouses))))
    if f.regions:
        conds.append(region_of(o.c.ship_province).in_(f.regions))
    return conds


def _open_overdue(now: dt.datetime):  # noqa: ANN202 - a SQL condition
    o = Order.__table__
    return and_(o.c.status.in_(OPEN_STATUSES), o.c.due_by < now)


def sla_breaches(f: Filters, now: dt.datetime | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Per warehouse × channel with orders: shipped, shipped late, open overdue, breaches
    (late + open overdue) and the breach rate (of shipped + open overdue)."""
    now = now or utcnow()

    def query(s: Session) -> tuple[Sequence[Any], Sequence[Any], pd.DataFrame, pd.DataFrame]:
        rel = summary.span(s, FULFILLMENT, f.start, f.end,
                           filter_keys(f, FULFILLMENT) | {"stage", "warehouse_id", "channel_id"},
                           lambda r: [r.c.stage == "ship", *where(r, f, dates=False)])
        shipped = s.execute(select(rel.c.warehouse_id, rel.c.channel_id, func.sum(rel.c.orders), func.sum(rel.c.late))
                            .group_by(rel.c.warehouse_id, rel.c.channel_id)).all()
        o = Order.__table__
        overdue = s.execute(select(func.coalesce(o.c.warehouse_id, 0).label("wh"), o.c.channel_id, func.count())
                            .where(_open_overdue(now), *_raw_filters(f))
                            .group_by(literal_column("wh"), o.c.channel_id)).all()
        return shipped, overdue, dims.warehouses(s), dims.channels(s)

    shipped, overdue, warehouses, channels = _read(session, query)
    cells: dict[tuple[int, int], list[int]] = {}
    for wh, ch, n, late in shipped:
        cells.setdefault((int(wh), int(ch)), [0, 0, 0])[:2] = [int(n), int(late)]
    for wh, ch, n in overdue:
        cells.setdefault((int(wh), int(ch)), [0, 0, 0])[2] = int(n)
    wh_names = dict(zip(warehouses["warehouse_id"], warehouses["warehouse_code"], strict=True))
    ch_names = dict(zip(channels["channel_id"], channels["channel"], strict=True))
    rows = [(wh_names.get(wh, str(wh)), ch_names.get(ch, str(ch)), n, late, open_, late + open_,
             ratio(late + open_, n + open_)) for (wh, ch), (n, late, open_) in sorted(cells.items())]
    return pd.DataFrame(rows, columns=["warehouse", "channel", "shipped", "late", "open_overdue", "breaches",
                                       "breach_rate"])


def late_orders(f: Filters, now: dt.datetime | None = None, limit: int = 500, *,
                session: Session | None = None) -> pd.DataFrame:
    """Orders placed in the range that shipped after their due time or are still open past
    it, latest first by how late they are (hours)."""
    now = now or utcnow()
    o = Order.__table__

    def query(s: Session) -> Sequence[Any]:
        # two index reads (the partial index of late shipments; open statuses × placement),
        # not an OR over every order placed in the range. SQLite has no statistics to prefer
        # the partial index over the one on placed_at alone, hence the hint.
        late_shipped = o.c.shipped_at > o.c.due_by  # NULL on either side: not late
        orders = select(o.c.number, Channel.name, Warehouse.code, region_of(o.c.ship_province), o.c.status,
                        o.c.placed_at, o.c.due_by, o.c.shipped_at).join(Channel, Channel.id == o.c.channel_id).outerjoin(
            Warehouse, Warehouse.id == o.c.warehouse_id).where(o.c.status != "cancelled", *_raw_filters(f))
        shipped_late = orders.where(late_shipped).with_hint(o, "INDEXED BY ix_orders_shipped_late", "sqlite")
        late = union(shipped_late, orders.where(_open_overdue(now))).subquery("late")
        # the latest first, cut in SQL: a year at 1M orders has ~7,700 late orders, of which
        # the page shows ``limit``
        number, due, shipped = late.c[0], late.c[6], late.c[7]
        dialect = s.get_bind().dialect.name
        seconds_late = epoch_seconds(func.coalesce(shipped, now), dialect) - epoch_seconds(due, dialect)
        return s.execute(select(late).order_by(seconds_late.desc(), number).limit(limit)).all()

    rows = []
    for number, channel, wh, region, status, placed, due, shipped in _read(session, query):
        hours = ((shipped or now) - due).total_seconds() / 3600
        rows.append((number, channel, wh or "", region, status, placed, due, shipped, round(hours, 1)))
    frame = pd.DataFrame(rows, columns=LATE_COLUMNS)
    return frame.sort_values(["hours_late", "number"], ascending=[False, True], ignore_index=True).head(limit)


# --- takeaways -------------------------------------------------------------------------------


def speed_takeaway(stages: pd.DataFrame) -> Takeaway | None:
    ship = stages.set_index("stage").loc["ship"]
    if not ship["orders"]:
        return None
    return Takeaway("an.take.fulfillment_speed", {"within": pct(ship["within_24h"]), "mean": f"{ship['mean_hours']:.1f}",
                                               "p90": ship["p90_bucket"]})


def on_time_takeaway(daily: pd.DataFrame) -> Takeaway | None:
    on_time, late = int(daily["on_time"].sum()), int(daily["late"].sum())
    if not on_time + late:
        return None
    worst = daily.dropna(subset=["on_time_rate"]).sort_values(["on_time_rate", "day"]).iloc[0]
    return Takeaway("an.take.fulfillment_on_time", {"rate": pct(ratio(on_time, on_time + late)),
                                                 "day": worst["day"].isoformat(), "worst": pct(worst["on_time_rate"])})


def breach_takeaway(breaches: pd.DataFrame) -> Takeaway | None:
    if breaches.empty or not breaches["breaches"].sum():
        return None
    top = breaches.sort_values(["breaches", "warehouse", "channel"], ascending=[False, True, True]).iloc[0]
    return Takeaway("an.take.fulfillment_breach", {"warehouse": top["warehouse"], "channel": top["channel"],
                                                "breaches": int(top["breaches"]),
                                                "share": pct(ratio(top["breaches"], breaches["breaches"].sum()))})
