"""Customer dashboard (RFM, cohorts, repeat rate, CLV, top customers, regions) against a
pandas computation over the raw orders of the demo."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest

from core import db
from core.analytics import customers as cu
from core.analytics import dashboards, summary
from core.analytics.filters import Filters
from core.analytics.summary.customers import scored_on, stored_quintiles
from core.errors import ValidationError
from core.geo import REGION_OF_PROVINCE
from core.timeutil import local_today, shop_tz
from tests.analytics_support import Raw, dsum, last_day, money_close


def _people(raw: Raw, today: dt.date) -> pd.DataFrame:
    """One row per buying customer: acquisition, recency, frequency, monetary, R/F/M scores."""
    sold = raw.sold_lines
    per = sold.groupby("customer_id").agg(orders=("order_id", "nunique"), net=("net_sales", dsum),
                                          cost=("cost", dsum), first_at=("placed_at", "min"),
                                          last_at=("placed_at", "max"))
    firsts = raw.sold_orders.sort_values(["placed_at", "id"]).drop_duplicates("customer_id")
    per = per.join(firsts.set_index("customer_id")[["channel_code", "channel", "day"]].rename(
        columns={"day": "first_day"}))
    per = per.join(raw.customers.set_index("customer_id")[["code", "province"]])
    per["province"] = per["province"].fillna("")
    per["region"] = [REGION_OF_PROVINCE.get(p, "") for p in per["province"]]
    last_local = pd.to_datetime(per["last_at"]).dt.tz_localize("UTC").dt.tz_convert(shop_tz()).dt.date
    per["recency"] = [(today - d).days for d in last_local]
    per["r"] = [5 if d < 30 else 4 if d < 90 else 3 if d < 180 else 2 if d < 365 else 1 for d in per["recency"]]
    per["f"] = [5 if n >= 6 else 4 if n >= 4 else 3 if n >= 3 else 2 if n >= 2 else 1 for n in per["orders"]]
    ranked = sorted(per["net"])
    n = len(ranked)
    edges = [ranked[max(0, math.ceil(n * q / 5) - 1)] for q in (1, 2, 3, 4)]  # discrete percentiles
    per["m"] = [1 + sum(v > e for e in edges) for v in per["net"]]
    per["cohort"] = [d.replace(day=1) for d in per["first_day"]]
    return per


def _chosen(people: pd.DataFrame, f: Filters) -> pd.DataFrame:
    keep = (people["first_day"] >= f.start) & (people["first_day"] <= f.end)
    if f.channels:
        keep &= people["channel_code"].isin(f.channels)
    if f.regions:
        keep &= people["region"].isin(f.regions)
    return people[keep]


CASES = [dict(days=730), dict(days=365, channels=("TMALL", "JD")), dict(days=500, regions=("华东", "华南"))]


@pytest.mark.parametrize("case", CASES)
def test_rfm_segments_match_pandas(demo: Raw, case: dict) -> None:
    today = last_day(demo)
    f = Filters.last(case.pop("days"), today, **case)
    want = _chosen(_people(demo, today), f)
    profile = cu.rfm_profile(f, today)
    assert int(profile["customers"].sum()) == len(want) > 0
    segments = cu.segments(profile).set_index("segment")
    want_seg = want.assign(segment=[cu.segment_of(r, fr) for r, fr in zip(want["r"], want["f"], strict=True)])
    for name in cu.SEGMENTS:
        part = want_seg[want_seg["segment"] == name]
        assert segments.at[name, "customers"] == len(part), name
        assert money_close(segments.at[name, "net_sales"], dsum(part["net"])), name
    grid = cu.score_grid(profile).set_index(["r", "f"])["customers"]
    assert grid.to_dict() == {(r, fr): int(((want["r"] == r) & (want["f"] == fr)).sum())
                              for r in range(1, 6) for fr in range(1, 6)}


def _stored_cases(today: dt.date) -> list[Filters]:
    """Ranges over the stored scores: everyone, whole months with partial months at both ends
    (filtered too), a range inside one month, two partial months, exactly whole months."""
    month = today.replace(day=1)
    three_back = (month - dt.timedelta(days=80)).replace(day=1)
    return [
        Filters.last(730, today),
        Filters.last(400, today),
        Filters(three_back - dt.timedelta(days=200), month - dt.timedelta(days=3), channels=("TMALL", "DOUYIN"),
                regions=("华东", "华北")),
        Filters(three_back + dt.timedelta(days=3), three_back + dt.timedelta(days=20)),
        Filters(three_back + dt.timedelta(days=20), three_back + dt.timedelta(days=40)),
        Filters(three_back, month - dt.timedelta(days=1), regions=("华南",)),
    ]


def _profile_table(profile: pd.DataFrame) -> dict[tuple, tuple[int, int, Decimal]]:
    """(r, f, province, channel id) → (customers, orders, net sales) of a profile."""
    return {(int(r.r), int(r.f), r.province, int(r.channel_id)): (int(r.customers), int(r.orders), r.net_sales)
            for r in profile.itertuples(index=False)}


def _same_profile(got: dict[tuple, tuple[int, int, Decimal]], want: dict[tuple, tuple[int, int, Decimal]]) -> None:
    """Same cells and counts; money to the cent (sums of pro-rata amounts may round apart)."""
    assert {k: v[:2] for k, v in got.items()} == {k: v[:2] for k, v in want.items()}
    assert all(money_close(got[k][2], want[k][2]) for k in got)


@pytest.mark.parametrize("case", range(6))
def test_stored_scores_match_pandas_and_scoring_everyone(demo: Raw, case: int) -> None:
    """Today's scores come from agg_customer_scores (whole months) plus the customers of the
    partial months at the ends: the same profile as scoring every customer, and as pandas."""
    today = local_today()
    summary.refresh_if_stale()  # the shared demo may have been scored on an earlier day
    with db.transaction(readonly=True) as s:
        assert scored_on(s, today)
    f = _stored_cases(today)[case]
    stored = cu.rfm_profile(f, today)
    with summary.raw_source():  # raw mode scores every customer from the raw tables
        scanned = cu.rfm_profile(f, today)
    _same_profile(_profile_table(stored), _profile_table(scanned))
    want = _chosen(_people(demo, today), f)
    assert int(stored["customers"].sum()) == len(want) > 0
    channel_ids = dict(zip(demo.channels["channel_code"], demo.channels["channel_id"], strict=True))
    cells = want.groupby(["r", "f", "province", "channel_code"]).agg(n=("code", "size"), orders=("orders", "sum"),
                                                                     net=("net", dsum))
    _same_profile(_profile_table(stored), {(r, fr, p, channel_ids[c]): (int(row.n), int(row.orders), row.net)
                                           for (r, fr, p, c), row in cells.iterrows()})


def test_stored_quintile_edges_match_pandas(demo: Raw) -> None:
    """The M score's edges as the refresh stored them = computed from the raw tables = pandas."""
    ranked = sorted(_people(demo, last_day(demo))["net"])
    want = [ranked[max(0, math.ceil(len(ranked) * q / 5) - 1)] for q in (1, 2, 3, 4)]
    with db.transaction(readonly=True) as s:
        stored = stored_quintiles(s)
    assert stored is not None and cu.m_thresholds() == stored
    with summary.raw_source():
        computed = cu.m_thresholds()
    assert len(stored) == len(computed) == 4
    assert all(money_close(a, b) and money_close(a, w) for a, b, w in zip(stored, computed, want, strict=True))


def _up_to(raw: Raw, day: dt.date) -> Raw:
    """The demo as it stood at the end of the local ``day``: later orders never happened."""
    return replace(raw, orders=raw.orders[raw.orders["day"] <= day], lines=raw.lines[raw.lines["day"] <= day])


def test_customers_as_of_a_past_day_count_only_orders_up_to_it(demo: Raw) -> None:
    """As of a past day (a history that ended then): later orders count neither in the RFM
    scores, the M edges, the cohorts, the CLV nor the top customers; R runs back from that day."""
    as_of = last_day(demo) - dt.timedelta(days=200)
    past = _up_to(demo, as_of)
    f = Filters.last(730, as_of)
    want = _chosen(_people(past, as_of), f)
    profile = cu.rfm_profile(f, as_of)
    assert int(profile["customers"].sum()) == len(want) > 0
    grid = cu.score_grid(profile).set_index(["r", "f"])["customers"]
    assert grid.to_dict() == {(r, fr): int(((want["r"] == r) & (want["f"] == fr)).sum())
                              for r in range(1, 6) for fr in range(1, 6)}
    assert int(profile["orders"].sum()) == int(want["orders"].sum())
    ranked = sorted(_people(past, as_of)["net"])
    edges = [ranked[max(0, math.ceil(len(ranked) * q / 5) - 1)] for q in (1, 2, 3, 4)]
    assert all(money_close(a, w) for a, w in zip(cu.m_thresholds(as_of), edges, strict=True))
    cohorts = cu.cohorts(f, as_of)
    last_month = as_of.replace(day=1)
    months = [(pd.Timestamp(c) + pd.DateOffset(months=m)).date() for c, m in zip(cohorts["cohort"],
                                                                               cohorts["months_since"], strict=True)]
    assert max(months) == last_month and int(cohorts.loc[cohorts["months_since"] == 0, "customers"].sum()) == len(want)
    clv = cu.clv(f, as_of).set_index("channel")
    assert money_close(clv.at["*", "to_date"], dsum(want["net"]) / len(want), 1)  # an average
    top = cu.top_customers(f, limit=5, today=as_of)
    best = want.sort_values(["net", "code"], ascending=[False, True]).head(5)
    assert top["code"].tolist() == best["code"].tolist()
    assert top["recency_days"].tolist() == best["recency"].tolist()
    # today's view of the same customers counts their later orders too
    assert int(cu.rfm_profile(f)["orders"].sum()) > int(want["orders"].sum())
    with pytest.raises(ValidationError) as err:  # nothing is known about tomorrow
        dashboards.customers_dashboard(f, local_today() + dt.timedelta(days=1))
    assert err.value.issues[0].field == "as_of"


def test_every_segment_of_the_grid_is_named() -> None:
    names = {cu.segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert names == set(cu.SEGMENTS)
    assert cu.segment_of(5, 5) == "champions" and cu.segment_of(5, 1) == "new"
    assert cu.segment_of(1, 1) == "lost" and cu.segment_of(2, 1) == "hibernating" and cu.segment_of(1, 4) == "at_risk"


def test_cohort_retention_matches_pandas(demo: Raw) -> None:
    today = last_day(demo)
    f = Filters.last(400, today, channels=("TMALL", "DOUYIN", "WECHAT"))
    people = _chosen(_people(demo, today), Filters(f.start.replace(day=1), f.end, f.channels))
    sold = demo.sold_lines[demo.sold_lines["customer_id"].isin(people.index)]
    active = sold.assign(month=[d.replace(day=1) for d in sold["day"]]).drop_duplicates(["customer_id", "month"])
    active = active.join(people["cohort"], on="customer_id")
    want = active.groupby(["cohort", "month"]).size()
    got = cu.cohorts(f)
    assert len(got) == len(want) > 10
    for row in got.itertuples():
        month = (pd.Timestamp(row.cohort) + pd.DateOffset(months=row.months_since)).date()
        assert row.customers == want[(row.cohort, month)], (row.cohort, month)
        size = want[(row.cohort, row.cohort)]
        assert row.retention == pytest.approx(row.customers / size)
    assert (got.loc[got["months_since"] == 0, "retention"] == 1.0).all()


def test_clv_and_repeat_rates_match_pandas(demo: Raw) -> None:
    today = last_day(demo)
    f = Filters.last(730, today)
    people = _chosen(_people(demo, today), f)
    repeat = cu.repeat_rates(cu.rfm_profile(f, today), _channels(demo)).set_index("channel")
    assert repeat.at["*", "customers"] == len(people)
    assert repeat.at["*", "repeat_customers"] == int((people["orders"] >= 2).sum())
    for name, part in people.groupby("channel"):
        assert repeat.at[name, "repeat_rate"] == pytest.approx((part["orders"] >= 2).mean())
    clv = cu.clv(f, today).set_index("channel")
    month = today.replace(day=1)
    sold = demo.sold_lines.join(people[["cohort"]], on="customer_id", how="inner")
    sold = sold.assign(since=[(d.year - c.year) * 12 + d.month - c.month for d, c in zip(sold["day"], sold["cohort"],
                                                                                        strict=True)])
    for h in (3, 6, 12):
        mature = people[[(month.year - c.year) * 12 + month.month - c.month >= h for c in people["cohort"]]]
        spent = dsum(sold.loc[sold["customer_id"].isin(mature.index) & (sold["since"] < h), "net_sales"])
        assert money_close(clv.at["*", f"clv_{h}m"], spent / len(mature), 1), h  # averages
        tmall = mature[mature["channel_code"] == "TMALL"]
        spent_t = dsum(sold.loc[sold["customer_id"].isin(tmall.index) & (sold["since"] < h), "net_sales"])
        assert money_close(clv.at["天猫", f"clv_{h}m"], spent_t / len(tmall), 1), h
    assert money_close(clv.at["*", "to_date"], dsum(people["net"]) / len(people), 1)


def _channels(raw: Raw) -> pd.DataFrame:
    return raw.channels[["channel_id", "channel_code", "channel"]]


def test_top_customers_and_regions_match_pandas(demo: Raw) -> None:
    today = last_day(demo)
    f = Filters.last(730, today, regions=("华东",))
    people = _chosen(_people(demo, today), f)
    top = cu.top_customers(f, 10, today)
    want = people.assign(net2=[Decimal(str(v)).quantize(Decimal("0.01")) for v in people["net"]]).sort_values(
        ["net2", "code"], ascending=[False, True]).head(10)
    assert top["code"].tolist() == want["code"].tolist()
    assert top["recency_days"].tolist() == want["recency"].tolist()
    assert top["rfm"].tolist() == [f"{r}{fr}{m}" for r, fr, m in zip(want["r"], want["f"], want["m"], strict=True)]
    assert top["segment"].tolist() == [cu.segment_of(r, fr) for r, fr in zip(want["r"], want["f"], strict=True)]
    assert set(top["region"]) == {"华东"}
    regions = cu.regions(cu.rfm_profile(f, today)).set_index("province")
    assert regions["customers"].to_dict() == people.groupby("province").size().to_dict()
    take = cu.region_takeaway(regions.reset_index())
    assert take is not None and take.params["province"] == people.groupby("province").size().idxmax()


def test_no_customers_in_the_range(demo: Raw) -> None:
    f = Filters(dt.date(2001, 1, 1), dt.date(2001, 12, 31))
    profile = cu.rfm_profile(f)
    assert profile.empty
    assert int(cu.segments(profile)["customers"].sum()) == 0
    assert cu.segment_takeaway(cu.segments(profile)) is None
    assert cu.cohorts(f).empty and cu.top_customers(f).empty
    assert cu.clv(f).set_index("channel").at["*", "clv_12m"] is None
