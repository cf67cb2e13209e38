"""Sales and channel dashboards against an independent pandas computation on the raw tables
of a generated demo (cancelled orders, RMAs, discounts, several channels and regions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from core.analytics import channels, sales
from core.analytics.filters import Filters
from core.errors import ValidationError
from tests.analytics_support import Raw, dsum, last_day, money_close


def _scope(frame: pd.DataFrame, f: Filters, start: dt.date | None = None) -> pd.DataFrame:
    """Rows of ``frame`` (orders or lines) the filters keep, by the order's attributes."""
    keep = (frame["day"] >= (start or f.start)) & (frame["day"] <= f.end)
    if f.channels:
        keep &= frame["channel_code"].isin(f.channels)
    if f.warehouses:
        keep &= frame["warehouse_code"].isin(f.warehouses)
    if f.regions:
        keep &= frame["region"].isin(f.regions)
    return frame[keep]


def _expected_kpis(raw: Raw, f: Filters) -> dict[str, object]:
    lines = _scope(raw.lines, f)
    if f.category:
        lines = lines[lines["category"] == f.category]
    sold = lines[lines["status"] != "cancelled"]
    return {
        "orders": sold["order_id"].nunique(),
        "cancelled_orders": lines.loc[lines["status"] == "cancelled", "order_id"].nunique(),
        "units": int(sold["net_units"].sum()), "returned_units": int(sold["qty_returned"].sum()),
        "net_sales": dsum(sold["net_sales"]), "returned_sales": dsum(sold["returned_sales"]),
        "cost": dsum(sold["cost"]),
    }


def _filters(raw: Raw) -> list[Filters]:
    end = last_day(raw)
    return [
        Filters.last(30, end),
        Filters.last(90, end, channels=("TMALL", "DOUYIN"), regions=("华东", "华南")),
        Filters.last(60, end, category="服装/T恤"),
        Filters.last(45, end, warehouses=("GZ", "BJ"), channels=("POS",)),
    ]


@pytest.mark.parametrize("case", range(4))
def test_kpis_match_pandas(demo: Raw, case: int) -> None:
    f = _filters(demo)[case]
    got = sales.kpis(f).set_index("period")
    for period, window in (("current", f), ("previous", f.previous())):
        want = _expected_kpis(demo, window)
        row = got.loc[period]
        assert row["orders"] == want["orders"] > 0, period
        assert row["cancelled_orders"] == want["cancelled_orders"]
        assert row["units"] == want["units"] and row["returned_units"] == want["returned_units"]
        assert money_close(row["net_sales"], want["net_sales"]), (row["net_sales"], want["net_sales"])
        assert money_close(row["returned_sales"], want["returned_sales"])
        assert money_close(row["cost"], want["cost"])
        assert money_close(row["gross_margin"], Decimal(str(want["net_sales"])) - Decimal(str(want["cost"])))
        assert money_close(row["aov"], Decimal(str(want["net_sales"])) / want["orders"], 1)  # type: ignore[operator]
        assert row["start"] == window.start and row["end"] == window.end


def test_returns_and_cancellations_are_in_the_demo(demo: Raw) -> None:
    """The comparisons above are only meaningful if the data has both traps."""
    assert (demo.lines["qty_returned"] > 0).sum() > 20
    assert (demo.orders["status"] == "cancelled").sum() > 20
    assert (demo.orders["subtotal"] != demo.orders["total"]).sum() > 100  # discounts and shipping


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_trend_matches_pandas(demo: Raw, grain: str) -> None:
    f = Filters.last(70, last_day(demo), regions=("华东",))
    got = sales.trend(f, grain)
    sold = _scope(demo.sold_lines, f)
    start = {"day": lambda d: d, "week": lambda d: d - dt.timedelta(days=d.weekday()),
             "month": lambda d: d.replace(day=1)}[grain]
    sold = sold.assign(period=[start(d) for d in sold["day"]])
    want = sold.groupby(["period", "channel"]).agg(net=("net_sales", dsum), units=("net_units", "sum"),
                                                   orders=("order_id", "nunique"))
    periods = sorted({start(d) for d in f.dates()})
    assert sorted(set(got["period"])) == periods  # every period, zero-filled
    assert set(got["channel"]) == set(sold["channel"])
    for row in got.itertuples():
        key = (row.period, row.channel)
        if key in want.index:
            assert (row.orders, row.units) == (want.at[key, "orders"], want.at[key, "units"]), key
            assert money_close(row.net_sales, want.at[key, "net"]), key
        else:
            assert (row.orders, row.units, row.net_sales) == (0, 0, Decimal("0.00")), key


def test_heatmap_matches_pandas(demo: Raw) -> None:
    f = Filters.last(120, last_day(demo), category="家居")
    got = sales.heatmap(f).set_index(["weekday", "hour"])
    assert len(got) == 7 * 24
    lines = _scope(demo.sold_lines, f)
    lines = lines[lines["category"] == "家居"]
    lines = lines.assign(weekday=[d.weekday() for d in lines["day"]])
    want = lines.groupby(["weekday", "hour"]).agg(orders=("order_id", "nunique"), net=("net_sales", dsum))
    assert int(got["orders"].sum()) == int(want["orders"].sum()) > 0
    for key, row in want.iterrows():
        assert got.at[key, "orders"] == row["orders"], key
        assert money_close(got.at[key, "net_sales"], row["net"]), key
    top = sales.heatmap_takeaway(got.reset_index())
    assert top is not None and (top.params["weekday"], top.params["hour"]) == want["orders"].idxmax()


def test_promotions_compare_with_the_four_weeks_before(demo: Raw) -> None:
    end = last_day(demo)
    summary, curves = sales.promotions(Filters.last(30, end), end)
    assert not summary.empty
    daily = demo.sold_lines.groupby("day")["net_sales"].apply(dsum)
    for row in summary.itertuples():
        base_days = [row.start - dt.timedelta(days=i) for i in range(1, 29)]
        promo_days = [row.start + dt.timedelta(days=i) for i in range((row.end - row.start).days + 1)]
        base = sum((daily.get(d, Decimal(0)) for d in base_days), Decimal(0)) / 28
        promo = sum((daily.get(d, Decimal(0)) for d in promo_days), Decimal(0)) / len(promo_days)
        assert money_close(row.baseline_daily, base, 1) and money_close(row.promo_daily, promo, 1), row.event  # averages
        assert row.uplift == pytest.approx(float(promo / base) - 1, abs=1e-6)
        assert row.end < end and row.start - dt.timedelta(days=28) >= min(daily.index)
    double11 = summary[summary["event"] == "double11"]
    assert not double11.empty and (double11["uplift"] > 0).all()  # the demo's 双11 always lifts sales
    one = curves[(curves["event"] == summary.iloc[0]["event"]) & (curves["year"] == summary.iloc[0]["year"])]
    assert one["offset"].min() == -28


def _expected_channels(raw: Raw, f: Filters) -> pd.DataFrame:
    rows = []
    for ch in raw.channels.itertuples():
        one = Filters(f.start, f.end, (ch.channel_code,), f.warehouses, f.regions, f.category)
        cur, prev = _expected_kpis(raw, one), _expected_kpis(raw, one.previous())
        orders = _scope(raw.sold_orders, one)
        shipped = orders.dropna(subset=["shipped_at"])
        hours = [(s - p).total_seconds() / 3600 for s, p in zip(shipped["shipped_at"], shipped["placed_at"],
                                                                 strict=True)]
        due = shipped.dropna(subset=["due_by"])
        rows.append({"channel_code": ch.channel_code, "orders": cur["orders"], "net_sales": cur["net_sales"],
                     "previous": prev["net_sales"], "ship_hours": sum(hours) / len(hours) if hours else None,
                     "on_time": (due["shipped_at"] <= due["due_by"]).mean() if len(due) else None})
    return pd.DataFrame(rows).set_index("channel_code")


def test_channel_table_matches_pandas(demo: Raw) -> None:
    f = Filters.last(60, last_day(demo), regions=("华东", "华北", ""))
    got = channels.channel_table(f).set_index("channel_code")
    want = _expected_channels(demo, f)
    assert set(got.index) == set(want.index)  # every active channel
    total = dsum(want["net_sales"])
    for code, row in want.iterrows():
        g = got.loc[code]
        assert g["orders"] == row["orders"], code
        assert money_close(g["net_sales"], row["net_sales"]) and money_close(g["previous_net_sales"], row["previous"])
        assert g["share"] == pytest.approx(float(Decimal(str(row["net_sales"])) / total), abs=1e-4)
        assert g["growth"] == pytest.approx(float(Decimal(str(row["net_sales"])) / Decimal(str(row["previous"]))) - 1,
                                            abs=1e-4)
        assert g["ship_hours"] == pytest.approx(row["ship_hours"], rel=1e-6)
        assert g["on_time_rate"] == pytest.approx(row["on_time"], abs=1e-9)
    assert list(got["net_sales"]) == sorted(got["net_sales"], reverse=True)


def test_a_channel_without_sales_is_listed_with_zeros(demo: Raw) -> None:
    window = Filters.last(30, last_day(demo), channels=("PHONE",))
    sold = _scope(demo.sold_lines, window)
    quiet = [(region, category) for region in sorted(set(demo.orders["region"]) - {""})
             for category in sorted(set(demo.products["category"]))
             if sold[(sold["region"] == region) & (sold["category"] == category)].empty]
    assert quiet, "the demo sold everything everywhere through PHONE: choose another channel"
    region, category = quiet[0]
    f = Filters.last(30, last_day(demo), channels=("PHONE",), regions=(region,), category=category)
    table = channels.channel_table(f)
    assert table["channel_code"].tolist() == ["PHONE"]
    row = table.iloc[0]
    assert (row["orders"], row["units"], row["net_sales"]) == (0, 0, Decimal("0.00"))
    assert row["share"] is None and row["aov"] is None and row["growth"] is None


def test_empty_filters_give_zeros_not_errors(demo: Raw) -> None:
    f = Filters(dt.date(2001, 1, 1), dt.date(2001, 1, 31))
    kpis = sales.kpis(f).set_index("period")
    assert kpis.loc["current", "orders"] == 0 and kpis.loc["current", "net_sales"] == Decimal("0.00")
    assert kpis.loc["current", "aov"] is None and kpis.loc["current", "margin_rate"] is None
    assert sales.kpi_takeaway(sales.kpis(f)) is None
    assert sales.trend(f).empty and int(sales.heatmap(f)["orders"].sum()) == 0
    assert sales.heatmap_takeaway(sales.heatmap(f)) is None
    assert channels.growth_takeaway(channels.channel_table(f)) is None


def test_growth_takeaway_names_the_biggest_mover(demo: Raw) -> None:
    table = channels.channel_table(Filters.last(30, last_day(demo)))
    take = channels.growth_takeaway(table)
    moved = table.dropna(subset=["growth"])
    deltas = {r.channel: abs(r.net_sales - r.previous_net_sales) for r in moved.itertuples()}
    assert take is not None and take.params["channel"] == max(deltas, key=deltas.__getitem__)


def test_bad_ranges_name_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        Filters(dt.date(2026, 3, 2), dt.date(2026, 3, 1))
    assert err.value.issues[0].field == "date_to"
    with pytest.raises(ValidationError):
        Filters(dt.date(2020, 1, 1), dt.date(2026, 1, 1))
    with pytest.raises(ValidationError) as err:
        Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 2), regions=("火星",))
    assert err.value.issues[0].field == "region"
    assert Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 10)).previous() == Filters(dt.date(2026, 2, 19),
                                                                                     dt.date(2026, 2, 28))


def test_trend_takeaway_names_the_channel_that_gained_share(demo: Raw) -> None:
    trend = sales.trend(Filters.last(84, last_day(demo)), "week")
    take = sales.trend_takeaway(trend)
    first, last = min(trend["period"]), max(trend["period"])
    share = {p: trend[trend["period"] == p].set_index("channel")["net_sales"] / dsum(
        trend[trend["period"] == p]["net_sales"]) for p in (first, last)}
    gain = (share[last] - share[first].reindex(share[last].index).fillna(0)).astype(float)
    assert take is not None and take.params["channel"] == gain.idxmax()
    assert sales.trend_takeaway(sales.trend(Filters.last(1, last_day(demo)))) is None
