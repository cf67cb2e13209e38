"""Stock health (turnover, cover, stock-outs, lost sales, dead stock, FIFO age) against pandas
replaying the demo's stock ledger day by day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from core.analytics import stock_health as sh
from core.analytics.filters import Filters
from core.timeutil import local_today
from tests.analytics_support import Raw, dsum, last_day, money_close


def _daily_stock(raw: Raw) -> pd.DataFrame:
    """End-of-day on-hand per (product, warehouse, day with movements)."""
    m = raw.movements.groupby(["product_id", "warehouse_id", "day"])["qty_delta"].sum().reset_index()
    m["on_hand"] = m.groupby(["product_id", "warehouse_id"])["qty_delta"].cumsum()
    return m


def _expected(raw: Raw, f: Filters, today: dt.date) -> pd.DataFrame:
    daily = _daily_stock(raw)
    sold = raw.sold_lines
    window = sold[(sold["day"] >= f.start) & (sold["day"] <= f.end)]
    units = window.groupby(["product_id", "line_wh"])["net_units"].sum()
    net = window.groupby(["product_id", "line_wh"])["net_sales"].apply(dsum)
    selling = sold[sold["day"] <= today].groupby(["product_id", "line_wh", "day"])["net_units"].sum()
    last = selling[selling > 0].reset_index().groupby(["product_id", "line_wh"])["day"].max()
    unit_price = raw.products.set_index("product_id")["unit_price"]
    days = f.dates()
    by_pair = {key: dict(zip(part["day"], part["on_hand"], strict=True))
               for key, part in daily.groupby(["product_id", "warehouse_id"])}
    rows = []
    for lv in raw.levels.itertuples():
        key = (lv.product_id, lv.warehouse_id)
        series = by_pair.get(key, {})
        before = [d for d in series if d < f.start]
        level = int(series[max(before)]) if before else None
        values = []
        for d in days:
            if d in series:
                level = int(series[d])
            if level is not None:
                values.append(level)
        sold_units = int(units.get(key, 0))
        stockout = sum(v <= 0 for v in values)
        in_stock = len(values) - stockout
        rate = sold_units / in_stock if in_stock > 0 else 0.0
        price = (Decimal(str(net.get(key, 0))) / sold_units if sold_units > 0
                 else Decimal(str(unit_price[key[0]])))
        last_sale = last.get(key)
        rows.append(dict(product_id=key[0], warehouse_id=key[1], avg=sum(values) / len(values) if values else 0.0,
                         stockout=stockout, units=sold_units, lost=rate * stockout,
                         lost_sales=price * Decimal(str(rate * stockout)), last_sale=last_sale,
                         dead=lv.on_hand > 0 and (last_sale is None or (today - last_sale).days >= 90),
                         cover=(lv.on_hand - lv.reserved) / (sold_units / len(days)) if sold_units else None))
    return pd.DataFrame(rows).set_index(["product_id", "warehouse_id"])


@pytest.mark.parametrize("days", [30, 120])
def test_stock_health_matches_a_replay_of_the_ledger(demo: Raw, days: int) -> None:
    today = last_day(demo)
    f = Filters.last(days, today)
    got = sh.stock_health(f, today)
    ids = dict(zip(demo.warehouses["warehouse_code"], demo.warehouses["warehouse_id"], strict=True))
    got = got.assign(warehouse_id=[ids[w] for w in got["warehouse"]]).set_index(["product_id", "warehouse_id"])
    want = _expected(demo, f, today)
    assert len(got) == len(want) == len(demo.levels)
    assert int(want["stockout"].sum()) > 0 and int(want["dead"].sum()) > 0  # the traps are in the data
    for key, row in want.iterrows():
        g = got.loc[key]
        assert g["avg_on_hand"] == pytest.approx(row["avg"]), key
        assert g["stockout_days"] == row["stockout"] and g["units_sold"] == row["units"], key
        assert g["lost_units"] == pytest.approx(row["lost"]), key
        assert money_close(g["lost_sales"], row["lost_sales"], 1), key  # an estimate, rounded
        assert g["last_sale"] == row["last_sale"] or (g["last_sale"] is None and pd.isna(row["last_sale"])), key
        assert bool(g["dead"]) == bool(row["dead"]), key
        if pd.isna(row["cover"]):
            assert g["days_of_cover"] is None or pd.isna(g["days_of_cover"])
        else:
            assert g["days_of_cover"] == pytest.approx(row["cover"]), key
        if row["avg"] > 0:
            assert g["annual_turnover"] == pytest.approx(row["units"] / row["avg"] * 365 / days), key
    overview = sh.overview(got.reset_index(), days)
    assert overview["dead_items"] == int(want["dead"].sum())
    assert overview["stockout_days"] == int(want["stockout"].sum())


def test_aging_is_first_in_first_out(demo: Raw) -> None:
    # on hand is today's, so age it from the clock's day: goods may have arrived this morning,
    # after the newest order (last_day) was placed on the day before
    today = local_today()
    got = sh.aging(Filters.last(30, today), today)
    ins = demo.movements[demo.movements["qty_delta"] > 0]
    arrivals = ins.groupby(["product_id", "warehouse_id", "day"])["qty_delta"].sum()
    cost = demo.products.set_index("product_id")["unit_cost"]
    codes = dict(zip(demo.warehouses["warehouse_id"], demo.warehouses["warehouse_code"], strict=True))
    want: dict[tuple[str, str], list] = {}
    edges = (30, 60, 90, 180, 365)
    for lv in demo.levels.itertuples():
        left = lv.on_hand
        try:
            layers = arrivals.loc[(lv.product_id, lv.warehouse_id)].sort_index(ascending=False)
        except KeyError:
            layers = pd.Series(dtype="int64")
        for day, qty in layers.items():
            age = (today - day).days
            if left <= 0 or age > 365:
                break
            take = min(int(qty), left)
            left -= take
            label = next(f"≤{e}" for e in edges if age <= e)
            acc = want.setdefault((codes[lv.warehouse_id], label), [0, Decimal(0)])
            acc[0] += take
            acc[1] += take * cost[lv.product_id]
        if left > 0:
            acc = want.setdefault((codes[lv.warehouse_id], ">365"), [0, Decimal(0)])
            acc[0] += left
            acc[1] += left * cost[lv.product_id]
    got_cells = {(r.warehouse, r.bucket): (r.units, r.value) for r in got.itertuples()}
    assert set(got_cells) == set(want)
    for key, (units, value) in want.items():
        assert got_cells[key][0] == units and money_close(got_cells[key][1], value), key
    assert int(got["units"].sum()) == int(demo.levels["on_hand"].sum())


def test_filters_narrow_the_items(demo: Raw) -> None:
    today = last_day(demo)
    got = sh.stock_health(Filters.last(30, today, warehouses=("CD",), category="美妆"), today)
    assert set(got["warehouse"]) == {"CD"} and set(got["category"]) == {"美妆"}
    ages = sh.aging(Filters.last(30, today, warehouses=("CD",)), today)
    assert set(ages["warehouse"]) == {"CD"}
    nothing = sh.stock_health(Filters.last(30, today, category="没有这个品类"), today)
    assert nothing.empty and sh.overview(nothing, 30)["annual_turnover"] is None
    assert sh.stockout_takeaway(nothing) is None and sh.dead_takeaway(nothing) is None
