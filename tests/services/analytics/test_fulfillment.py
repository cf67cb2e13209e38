"""Fulfilment KPIs (duration distributions, on-time rate, breaches, late orders) against pandas
on the demo's raw orders."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core.analytics import fulfillment as fu
from core.analytics import summary
from core.analytics.filters import Filters
from core.analytics.summary.daily import BUCKET_EDGES
from core.services.orders import OPEN_STATUSES, create_order
from core.timeutil import utcnow
from tests.analytics_support import Raw, last_day, load_raw
from tests.factories import CLERK, make_product, order_input


def _orders(raw: Raw, f: Filters) -> pd.DataFrame:
    o = raw.orders
    keep = (o["day"] >= f.start) & (o["day"] <= f.end)
    if f.channels:
        keep &= o["channel_code"].isin(f.channels)
    if f.warehouses:
        keep &= o["warehouse_code"].isin(f.warehouses)
    if f.regions:
        keep &= o["region"].isin(f.regions)
    return o[keep]


def _bucket(hours: float) -> int:
    return next((i for i, edge in enumerate(BUCKET_EDGES) if hours < edge), len(BUCKET_EDGES))


@pytest.mark.parametrize("extra", [{}, {"channels": ("TMALL", "POS")}, {"warehouses": ("SH",), "regions": ("华东",)}])
def test_distributions_match_pandas(demo: Raw, extra: dict) -> None:
    f = Filters.last(120, last_day(demo), **extra)
    got = fu.distributions(f).set_index(["stage", "bucket"])
    sold = _orders(demo, f)
    sold = sold[sold["status"] != "cancelled"]
    for stage, column in (("approve", "approved_at"), ("ship", "shipped_at"), ("deliver", "delivered_at")):
        done = sold.dropna(subset=[column])
        hours = [(b - a).total_seconds() / 3600 for a, b in zip(done["placed_at"], done[column], strict=True)]
        counts = pd.Series([_bucket(h) for h in hours]).value_counts()
        assert int(got.loc[stage, "orders"].sum()) == len(done) > 0, stage
        for b in range(len(BUCKET_EDGES) + 1):
            assert got.at[(stage, b), "orders"] == counts.get(b, 0), (stage, b)
        assert got.loc[stage, "hours"].sum() == pytest.approx(sum(hours), rel=1e-9)
    stages = fu.stage_summary(got.reset_index()).set_index("stage")
    shipped = sold.dropna(subset=["shipped_at"])
    ship_hours = [(b - a).total_seconds() / 3600 for a, b in zip(shipped["placed_at"], shipped["shipped_at"],
                                                                  strict=True)]
    assert stages.at["ship", "mean_hours"] == pytest.approx(sum(ship_hours) / len(ship_hours))
    assert stages.at["ship", "within_24h"] == pytest.approx(sum(h < 24 for h in ship_hours) / len(ship_hours))


def test_on_time_by_day_matches_pandas(demo: Raw) -> None:
    f = Filters.last(60, last_day(demo))
    got = fu.on_time_by_day(f).set_index("day")
    assert list(got.index) == f.dates()  # every day, zero-filled
    sold = _orders(demo, f)
    sold = sold[(sold["status"] != "cancelled")].dropna(subset=["shipped_at"])
    for day, part in sold.groupby("day"):
        due = part.dropna(subset=["due_by"])
        assert got.at[day, "shipped"] == len(part)
        assert got.at[day, "on_time"] == int((due["shipped_at"] <= due["due_by"]).sum())
        assert got.at[day, "late"] == int((due["shipped_at"] > due["due_by"]).sum())


def test_breaches_and_late_orders_match_pandas(demo: Raw) -> None:
    now = utcnow()
    f = Filters.last(120, last_day(demo))
    sold = _orders(demo, f)
    sold = sold[sold["status"] != "cancelled"]
    late = sold.dropna(subset=["shipped_at", "due_by"])
    late = late[late["shipped_at"] > late["due_by"]]
    overdue = sold[sold["status"].isin(OPEN_STATUSES) & (sold["due_by"] < now)]
    breaches = fu.sla_breaches(f, now).set_index(["warehouse", "channel"])
    want = pd.concat([late, overdue]).groupby(["warehouse_code", "channel"]).size()
    assert int(breaches["breaches"].sum()) == len(late) + len(overdue) > 0
    for key, n in want.items():
        assert breaches.at[key, "breaches"] == n, key
    got = fu.late_orders(f, now, limit=10_000)
    assert set(got["number"]) == set(late["number"]) | set(overdue["number"])
    assert list(got["hours_late"]) == sorted(got["hours_late"], reverse=True) and (got["hours_late"] > 0).all()
    top = fu.late_orders(f, now, limit=3)  # the cut is made in SQL: the latest three, not any three
    assert list(top["hours_late"]) == list(got["hours_late"][:3])
    take = fu.breach_takeaway(breaches.reset_index())
    assert take is not None and (take.params["warehouse"], take.params["channel"]) == want.idxmax()


def test_open_orders_past_due_count_as_breaches_by_the_clock(db_url: str) -> None:
    """Nothing is written, yet an open order becomes overdue when its due time passes. (Own
    orders, not the demo's: on some days the small demo has shipped every order by noon.)"""
    make_product("CUP-1", "30.00", {"SH": 10})
    for qty in (1, 2):
        create_order(order_input(("CUP-1", qty)), CLERK)
    summary.refresh()
    f = Filters.last(30)
    raw = load_raw(db_url)
    sold = _orders(raw, f)
    open_ = sold[sold["status"].isin(OPEN_STATUSES)].dropna(subset=["due_by"])
    assert len(open_) == 2
    before = min(open_["due_by"]) - dt.timedelta(hours=1)
    after = max(open_["due_by"]) + dt.timedelta(hours=1)
    assert int(fu.sla_breaches(f, before)["open_overdue"].sum()) == 0
    assert int(fu.sla_breaches(f, after)["open_overdue"].sum()) == len(open_)


def test_no_orders_no_breaches(demo: Raw) -> None:
    f = Filters(dt.date(2001, 1, 1), dt.date(2001, 1, 31))
    dist = fu.distributions(f)
    assert int(dist["orders"].sum()) == 0 and dist["share"].isna().all()
    assert fu.speed_takeaway(fu.stage_summary(dist)) is None
    assert fu.sla_breaches(f).empty and fu.late_orders(f).empty
    assert fu.on_time_takeaway(fu.on_time_by_day(f)) is None
    assert fu.bucket_label(0) == "<1h" and fu.bucket_label(len(BUCKET_EDGES)) == "≥168h"
