"""Products dashboard: SKU performance (top and bottom), the ABC × XYZ matrix, and products
bought together (support, confidence, lift) — the last also as add-on suggestions while an
order is being entered.

ABC ranks products by net sales in the range: the products making the first 80 % of net sales
are A, the next 15 % B, the rest (and products that did not sell) C. XYZ measures how steady
weekly demand was over the full weeks ending on the range's last day: coefficient of variation
≤ 0.5 → X, ≤ 1.0 → Y, else Z (needs at least :data:`MIN_WEEKS` weeks; shorter ranges get no
XYZ class). Basket pairs count orders containing both products in the date range, across all
channels, warehouses and regions (the pair table has no such keys: it would be as large as the
order lines themselves); the category filter keeps pairs touching that category.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import ZERO, _money, _read, dims, summary
from core.analytics.filters import Filters, filter_keys, product_condition, where
from core.analytics.measures import SALES
from core.analytics.sqltime import number_of, to_number
from core.analytics.summary.daily import ALL_CATEGORIES
from core.analytics.takeaway import Takeaway, pct, ratio
from core.models import AggBasketPairDaily, AggProductDaily, Product
from core.timeutil import local_today

PRODUCT_DAILY, PAIRS = AggProductDaily.__table__, AggBasketPairDaily.__table__
ABC_EDGES = (0.8, 0.95)
XYZ_EDGES = (0.5, 1.0)
MIN_WEEKS = 4
WEEK_COLUMNS = ["product_id", "week", "orders", "units", "returned_units", "sales", "returned_sales", "cost"]
SKU_COLUMNS = ["product_id", "sku", "name", "category", "orders", "units", "returned_units", "net_sales", "cost",
               "gross_margin", "margin_rate", "return_rate", "share"]
PAIR_COLUMNS = ["sku_a", "name_a", "sku_b", "name_b", "orders", "support", "confidence_ab", "confidence_ba",
                "lift"]
SUGGESTION_COLUMNS = ["sku", "name", "unit_price", "because", "orders", "confidence", "lift"]


def product_weeks(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Sums per product × week counted back from the range's last day under the filters:
    :data:`WEEK_COLUMNS`, ``week`` 0 = the last 7 days, … (the oldest week may be partial).
    Performance, ABC and XYZ all come from this one read, grouped in SQL: a year has about
    52 rows per product where a row per day had 365 (the Python side of a per-day frame cost
    1–2 s at a year of 200 products)."""

    def query(s: Session) -> list[tuple[Any, ...]]:
        rel = summary.span(s, PRODUCT_DAILY, f.start, f.end, filter_keys(f, PRODUCT_DAILY) | {"product_id"},
                           lambda r: [*where(r, f, dates=False), *product_condition(r.c.product_id, f)], per_day=True)
        back = (to_number(f.end) - number_of(rel.c.day, s.get_bind().dialect.name)) // 7
        rows = select(rel.c.product_id, back.label("week"), *[rel.c[c] for c in WEEK_COLUMNS[2:]]).subquery("days")
        stmt = (select(rows.c.product_id, rows.c.week, *[func.sum(rows.c[c]) for c in WEEK_COLUMNS[2:]])
                .group_by(rows.c.product_id, rows.c.week))
        return [tuple(r) for r in s.execute(stmt)]

    return pd.DataFrame(_read(session, query), columns=WEEK_COLUMNS)


def sku_performance(f: Filters, weeks: pd.DataFrame | None = None, *, session: Session | None = None
                    ) -> pd.DataFrame:
    """:data:`SKU_COLUMNS` for every product that sold in the range under the filters, plus
    every active product of the category that did not (zeros), best net sales first. A
    product whose cost is unknown has None for cost, gross margin and margin rate.
    ``weeks`` is :func:`product_weeks` of the same filters when the caller has it."""
    weeks = product_weeks(f, session=session) if weeks is None else weeks
    products = _read(session, dims.products)
    sold: dict[int, list] = {}
    for row in zip(*[weeks[c] for c in WEEK_COLUMNS], strict=True):  # plain tuples: itertuples is slow
        acc = sold.setdefault(int(row[0]), [0, 0, 0, ZERO, ZERO, ZERO])
        for i, value in enumerate(row[2:]):
            acc[i] += value if i < 3 or isinstance(value, Decimal) else Decimal(str(value))
    keep = products[products["product_id"].isin(sold) | products["active"]]
    if f.category:
        keep = keep[keep["category"] == f.category]
    out: list[tuple[Any, ...]] = []
    for p in keep.itertuples(index=False):
        orders, units, returned, sales, returned_sales, cost = sold.get(int(p.product_id), (0, 0, 0, 0, 0, 0))
        net = _money(sales) - _money(returned_sales)
        if p.unit_cost is None or pd.isna(p.unit_cost):  # cost unknown: no margin, not a 100 % one
            out.append((int(p.product_id), p.sku, p.name, p.category, orders, units - returned, returned, net, None,
                        None, None, ratio(returned, units)))
            continue
        cost = _money(cost)
        out.append((int(p.product_id), p.sku, p.name, p.category, orders, units - returned, returned, net, cost,
                    net - cost, ratio(net - cost, net), ratio(returned, units)))
    frame = pd.DataFrame(out, columns=SKU_COLUMNS[:-1])
    total = sum(frame["net_sales"], ZERO)
    frame["share"] = [ratio(v, total) if total > 0 else None for v in frame["net_sales"]]
    return frame.sort_values(["net_sales", "units", "sku"], ascending=[False, False, True], ignore_index=True)


def weekly_units(f: Filters, weeks: pd.DataFrame | None = None, *, session: Session | None = None
                 ) -> tuple[pd.DataFrame, int]:
    """Net units per product and full week counted back from the range's last day
    (``week`` 0 = the last 7 days), and the number of full weeks in the range. ``weeks`` is
    :func:`product_weeks` of the same filters when the caller has it."""
    full = f.days // 7
    if full == 0:
        return pd.DataFrame(columns=["product_id", "week", "units"]), 0
    weeks = product_weeks(f, session=session) if weeks is None else weeks
    kept = weeks[weeks["week"] < full]
    frame = pd.DataFrame({"product_id": kept["product_id"], "week": kept["week"],
                          "units": [int(u) - int(r) for u, r in zip(kept["units"], kept["returned_units"],
                                                                    strict=True)]})
    return frame.astype({"product_id": "int64", "week": "int64", "units": "int64"}).reset_index(drop=True), full


def abc_xyz(f: Filters, weeks: pd.DataFrame | None = None, perf: pd.DataFrame | None = None, *,
            session: Session | None = None) -> pd.DataFrame:
    """Per product: net sales, share, ABC class; weekly mean units, coefficient of variation,
    XYZ class (None when the range has fewer than :data:`MIN_WEEKS` full weeks). ``weeks`` and
    ``perf`` are :func:`product_weeks` and :func:`sku_performance` of the same filters when
    the caller already has them."""
    weeks = product_weeks(f, session=session) if weeks is None else weeks
    perf = sku_performance(f, weeks, session=session) if perf is None else perf
    weekly, full = weekly_units(f, weeks, session=session)
    total = sum(perf["net_sales"], ZERO)
    cum, classes = ZERO, []
    for net in perf["net_sales"]:
        before = float(cum / total) if total > 0 else 1.0
        cum += net
        classes.append("C" if net <= 0 else "A" if before < ABC_EDGES[0] else "B" if before < ABC_EDGES[1] else "C")
    frame = perf[["product_id", "sku", "name", "category", "net_sales", "share"]].copy()
    frame["abc"] = classes
    stats = {}
    for pid, part in weekly.groupby("product_id"):
        values = [0] * full
        for w, u in zip(part["week"], part["units"], strict=True):
            values[int(w)] += int(u)
        mean = sum(values) / full
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / full)
        stats[int(pid)] = (mean, sd / mean if mean > 0 else None)
    enough = full >= MIN_WEEKS
    frame["weekly_units"] = [stats.get(int(p), (0.0, None))[0] for p in frame["product_id"]]
    frame["cv"] = [stats.get(int(p), (0.0, None))[1] for p in frame["product_id"]]
    frame["xyz"] = [(_xyz(cv) if enough else None) for cv in frame["cv"]]
    return frame


def _xyz(cv: float | None) -> str:
    if cv is None:
        return "Z"  # no demand at all: as unpredictable as it gets for planning
    return "X" if cv <= XYZ_EDGES[0] else "Y" if cv <= XYZ_EDGES[1] else "Z"


def abc_xyz_matrix(classes: pd.DataFrame) -> pd.DataFrame:
    """Products and net sales per ABC × XYZ cell (all 9 cells; empty without XYZ classes)."""
    rows = []
    for a in "ABC":
        for x in "XYZ":
            part = classes[(classes["abc"] == a) & (classes["xyz"] == x)]
            rows.append((a, x, len(part), sum(part["net_sales"], ZERO)))
    return pd.DataFrame(rows, columns=["abc", "xyz", "products", "net_sales"])


def _order_totals(s: Session, first: dt.date, last: dt.date) -> tuple[int, dict[int, int]]:
    """All orders in the days, and orders containing each product (every channel)."""
    rel = summary.span(s, SALES, first, last, {"category"}, lambda r: [r.c.category == ALL_CATEGORIES])
    n = s.execute(select(func.coalesce(func.sum(rel.c.orders), 0))).scalar_one()
    prod = summary.span(s, PRODUCT_DAILY, first, last, {"product_id"}, lambda r: [])
    per = s.execute(select(prod.c.product_id, func.sum(prod.c.orders)).group_by(prod.c.product_id)).all()
    return int(n), {int(p): int(c) for p, c in per}


def basket_pairs(f: Filters, min_orders: int = 3, limit: int = 50, *,
                 session: Session | None = None) -> pd.DataFrame:
    """Pairs bought together in at least ``min_orders`` orders of the range, best lift first:
    support = orders with both / all orders, confidence A→B = orders with both / orders with
    A, lift = confidence A→B / share of orders with B."""

    def query(s: Session) -> tuple[int, dict[int, int], Sequence[Any], pd.DataFrame]:
        n, per = _order_totals(s, f.start, f.end)
        def touching(r: FromClause) -> list[ColumnElement[bool]]:
            if not f.category:
                return []
            in_cat = select(Product.id).where(Product.category == f.category)
            return [or_(r.c.product_a.in_(in_cat), r.c.product_b.in_(in_cat))]

        rel = summary.span(s, PAIRS, f.start, f.end, {"product_a", "product_b"}, touching)
        stmt = (select(rel.c.product_a, rel.c.product_b, func.sum(rel.c.orders).label("n"))
                .group_by(rel.c.product_a, rel.c.product_b).having(func.sum(rel.c.orders) >= min_orders))
        return n, per, s.execute(stmt).all(), dims.products(s)

    n, per, pairs, products = _read(session, query)
    sku = dict(zip(products["product_id"], products["sku"], strict=True))
    name = dict(zip(products["product_id"], products["name"], strict=True))
    scored = []
    for a, b, both in pairs:
        na, nb = per.get(int(a), 0), per.get(int(b), 0)
        scored.append((both * n / (na * nb) if na and nb else 0.0, int(both), sku[a], sku[b], int(a), int(b)))
    scored.sort(key=lambda r: (-r[0], -r[1], r[2], r[3]))
    rows = [(sku[a], name[a], sku[b], name[b], both, ratio(both, n), ratio(both, per.get(a)), ratio(both, per.get(b)),
             lift) for lift, both, _, _, a, b in scored[:limit]]
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def addon_suggestions(skus: tuple[str, ...], days: int = 90, limit: int = 5, min_orders: int = 3,
                      today: dt.date | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Active products customers often bought with the basket's SKUs in the last ``days``
    local days: for each candidate the basket product it is most often bought with
    (``because``), how often (``confidence`` = share of that product's orders that also had
    the candidate) and ``lift`` > 1 (more often than chance). Best confidence first."""
    last = today or local_today()
    first = last - dt.timedelta(days=days - 1)

    def query(s: Session) -> tuple[int, dict[int, int], list, pd.DataFrame]:
        basket = dict(s.execute(select(Product.id, Product.sku).where(Product.sku.in_(skus))).all())
        if not basket:
            return 0, {}, [], dims.products(s, [])
        n, per = _order_totals(s, first, last)
        rel = summary.relation(s, PAIRS, first, last)
        ids = list(basket)
        rows = s.execute(
            select(rel.c.product_a, rel.c.product_b, func.sum(rel.c.orders))
            .where(rel.c.day >= first, rel.c.day <= last, or_(rel.c.product_a.in_(ids), rel.c.product_b.in_(ids)))
            .group_by(rel.c.product_a, rel.c.product_b).having(func.sum(rel.c.orders) >= min_orders)).all()
        found = {int(x) for r in rows for x in r[:2]}
        return n, per, [(basket, r) for r in rows], dims.products(s, sorted(found | set(ids)))

    n, per, rows, products = _read(session, query)
    info = products.set_index("product_id")
    best: dict[int, tuple] = {}
    for basket, (a, b, both) in rows:
        for have, other in ((int(a), int(b)), (int(b), int(a))):
            if have not in basket or other in basket or not bool(info.at[other, "active"]):
                continue
            conf = ratio(both, per.get(have, 0)) or 0.0
            lift = both * n / (per[have] * per[other]) if per.get(have) and per.get(other) else None
            if lift is None or lift <= 1:
                continue
            candidate = (info.at[other, "sku"], info.at[other, "name"], info.at[other, "unit_price"], basket[have],
                         int(both), conf, lift)
            if other not in best or (conf, lift) > (best[other][5], best[other][6]):
                best[other] = candidate
    frame = pd.DataFrame(list(best.values()), columns=SUGGESTION_COLUMNS)
    return frame.sort_values(["confidence", "lift", "sku"], ascending=[False, False, True],
                             ignore_index=True).head(limit)


# --- takeaways -------------------------------------------------------------------------------


def top_takeaway(perf: pd.DataFrame, n: int = 10) -> Takeaway | None:
    """How concentrated sales are: the top ``n`` SKUs' share of net sales."""
    total = sum(perf["net_sales"], ZERO)
    if total <= 0:
        return None
    top = sum(perf["net_sales"].head(n), ZERO)
    return Takeaway("an.take.products_top", {"n": min(n, len(perf)), "share": pct(ratio(top, total)),
                                          "sku": perf.iloc[0]["sku"], "name": perf.iloc[0]["name"]})


def bottom_takeaway(perf: pd.DataFrame) -> Takeaway | None:
    """How many active products did not sell at all."""
    idle = perf[perf["units"] <= 0]
    if perf.empty:
        return None
    return Takeaway("an.take.products_bottom", {"idle": len(idle), "total": len(perf)})


def abc_takeaway(classes: pd.DataFrame) -> Takeaway | None:
    """Share of products that make up the A class, and how many of them have erratic demand."""
    sold = classes[classes["net_sales"] > 0]
    if sold.empty:
        return None
    a = classes[classes["abc"] == "A"]
    erratic = int((a["xyz"] == "Z").sum())
    return Takeaway("an.take.products_abc", {"a": len(a), "share": pct(ratio(len(a), len(sold))),
                                          "erratic": erratic})


def pairs_takeaway(pairs: pd.DataFrame) -> Takeaway | None:
    if pairs.empty:
        return None
    top = pairs.iloc[0]
    return Takeaway("an.take.products_pairs", {"a": top["name_a"], "b": top["name_b"], "lift": f"{top['lift']:.1f}",
                                            "confidence": pct(top["confidence_ab"])})
