"""Products dashboard (SKU performance, ABC × XYZ, bought-together pairs, add-on suggestions)
against pandas on the demo's raw order lines."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from itertools import combinations

import pandas as pd
import pytest

from core.analytics import products as pr
from core.analytics.filters import Filters
from tests.analytics_support import Raw, dsum, last_day, money_close


def _lines(raw: Raw, f: Filters) -> pd.DataFrame:
    """Sold lines in the filters, keyed like the product summary (the line's warehouse)."""
    codes = dict(zip(raw.warehouses["warehouse_id"], raw.warehouses["warehouse_code"], strict=True))
    lines = raw.sold_lines.assign(line_wh_code=[codes.get(w, "") for w in raw.sold_lines["line_wh"]])
    keep = (lines["day"] >= f.start) & (lines["day"] <= f.end)
    if f.channels:
        keep &= lines["channel_code"].isin(f.channels)
    if f.warehouses:
        keep &= lines["line_wh_code"].isin(f.warehouses)
    if f.regions:
        keep &= lines["region"].isin(f.regions)
    if f.category:
        keep &= lines["category"] == f.category
    return lines[keep]


@pytest.mark.parametrize("extra", [{}, {"channels": ("TMALL", "JD"), "warehouses": ("SH",)},
                                   {"category": "鞋靴", "regions": ("华南", "华东")}])
def test_sku_performance_matches_pandas(demo: Raw, extra: dict) -> None:
    f = Filters.last(90, last_day(demo), **extra)
    got = pr.sku_performance(f).set_index("sku")
    lines = _lines(demo, f)
    want = lines.groupby("sku").agg(orders=("order_id", "nunique"), units=("net_units", "sum"),
                                    returned=("qty_returned", "sum"), net=("net_sales", dsum), cost=("cost", dsum))
    assert len(want) > 5
    for sku, row in want.iterrows():
        g = got.loc[sku]
        assert (g["orders"], g["units"], g["returned_units"]) == (row["orders"], row["units"], row["returned"]), sku
        assert money_close(g["net_sales"], row["net"]) and money_close(g["cost"], row["cost"]), sku
    idle = got.drop(index=list(want.index))
    assert (idle["units"] == 0).all() and (idle["net_sales"] == 0).all()  # active products that did not sell
    active = demo.products[demo.products["active"]]
    if f.category:
        active = active[active["category"] == f.category]
    assert set(got.index) == set(active["sku"]) | set(want.index)
    assert list(got["net_sales"]) == sorted(got["net_sales"], reverse=True)


def test_abc_xyz_classes_match_pandas(demo: Raw) -> None:
    end = last_day(demo)
    f = Filters.last(84, end)  # 12 full weeks
    got = pr.abc_xyz(f).set_index("sku")
    lines = _lines(demo, f)
    net = lines.groupby("sku")["net_sales"].apply(dsum).sort_values(ascending=False, kind="stable")
    total, running = dsum(net), Decimal(0)
    for sku, value in net.items():
        share_before = running / total
        running += value
        expected = "C" if value <= 0 else "A" if share_before < Decimal("0.8") else "B" if share_before < Decimal(
            "0.95") else "C"
        assert got.at[sku, "abc"] == expected, sku
    weeks = lines.assign(week=[(end - d).days // 7 for d in lines["day"]]).groupby(["sku", "week"])["net_units"].sum()
    for sku in net.index[:40]:
        values = [int(weeks.get((sku, w), 0)) for w in range(12)]
        mean = sum(values) / 12
        cv = math.sqrt(sum((v - mean) ** 2 for v in values) / 12) / mean if mean else None
        assert got.at[sku, "cv"] == pytest.approx(cv), sku
        assert got.at[sku, "xyz"] == ("Z" if cv is None else "X" if cv <= 0.5 else "Y" if cv <= 1.0 else "Z")
    matrix = pr.abc_xyz_matrix(got.reset_index())
    assert int(matrix["products"].sum()) == len(got) and len(matrix) == 9


def test_short_ranges_get_no_xyz_class(demo: Raw) -> None:
    classes = pr.abc_xyz(Filters.last(20, last_day(demo)))
    assert classes["xyz"].isna().all() and set(classes["abc"]) <= {"A", "B", "C"}


def test_basket_pairs_match_pandas(demo: Raw) -> None:
    f = Filters.last(365, last_day(demo))
    got = pr.basket_pairs(f, min_orders=2, limit=1000)
    sold = demo.sold_lines[(demo.sold_lines["day"] >= f.start) & (demo.sold_lines["day"] <= f.end)]
    n = sold["order_id"].nunique()
    per = sold.groupby("sku")["order_id"].nunique()
    pairs: dict[tuple[str, str], set] = {}
    for oid, group in sold.groupby("order_id"):
        ordered = group.sort_values("product_id")["sku"].drop_duplicates().tolist()
        for a, b in combinations(ordered, 2):
            pairs.setdefault((a, b), set()).add(oid)
    want = {k: len(v) for k, v in pairs.items() if len(v) >= 2}
    assert len(got) == len(want) > 5
    for row in got.itertuples():
        both = want[(row.sku_a, row.sku_b)]
        assert row.orders == both
        assert row.support == pytest.approx(both / n)
        assert row.confidence_ab == pytest.approx(both / per[row.sku_a])
        assert row.confidence_ba == pytest.approx(both / per[row.sku_b])
        assert row.lift == pytest.approx(both * n / (per[row.sku_a] * per[row.sku_b]))
    assert list(got["lift"]) == sorted(got["lift"], reverse=True)
    assert pr.basket_pairs(f, min_orders=10**6).empty


def test_addon_suggestions_come_from_the_strongest_pairs(demo: Raw) -> None:
    end = last_day(demo)
    pairs = pr.basket_pairs(Filters.last(720, end), min_orders=3, limit=1000)
    anchor = pairs.sort_values("orders", ascending=False).iloc[0]["sku_a"]
    got = pr.addon_suggestions((anchor,), days=720, today=end)
    assert not got.empty and anchor not in set(got["sku"])
    assert set(got["because"]) == {anchor}
    assert (got["lift"] > 1).all() and list(got["confidence"]) == sorted(got["confidence"], reverse=True)
    with_anchor = pairs[(pairs["sku_a"] == anchor) | (pairs["sku_b"] == anchor)]
    best = with_anchor.assign(other=[b if a == anchor else a for a, b in zip(with_anchor["sku_a"],
                                                                           with_anchor["sku_b"], strict=True)],
                              conf=[ab if a == anchor else ba for a, ab, ba in zip(
                                  with_anchor["sku_a"], with_anchor["confidence_ab"], with_anchor["confidence_ba"],
                                  strict=True)])
    best = best[best["lift"] > 1].sort_values(["conf", "lift"], ascending=False)
    assert got.iloc[0]["sku"] == best.iloc[0]["other"]
    assert got.iloc[0]["confidence"] == pytest.approx(best.iloc[0]["conf"])
    # a basket that already holds the suggestion does not get it again; unknown SKUs get nothing
    both = pr.addon_suggestions((anchor, got.iloc[0]["sku"]), days=720, today=end)
    assert got.iloc[0]["sku"] not in set(both["sku"])
    assert pr.addon_suggestions(("NO-SUCH-SKU",), today=end).empty
    assert pr.addon_suggestions((anchor,), today=dt.date(2001, 1, 1)).empty


def test_takeaways_follow_the_numbers(demo: Raw) -> None:
    perf = pr.sku_performance(Filters.last(30, last_day(demo)))
    top = pr.top_takeaway(perf, 5)
    assert top is not None and top.params["sku"] == perf.iloc[0]["sku"]
    idle = pr.bottom_takeaway(perf)
    assert idle is not None and idle.params["idle"] == int((perf["units"] <= 0).sum())
    empty = pr.sku_performance(Filters(dt.date(2001, 1, 1), dt.date(2001, 1, 2)))
    assert pr.top_takeaway(empty) is None and (empty["units"] == 0).all()
