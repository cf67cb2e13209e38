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

from core.analytics import ZERO, _money, _read, dims, summary
from core.analytics.filters import Filters, product_condition, where
from core.analytics.measures import SALES
from core.analytics.takeaway import Takeaway, pct, ratio
from core.models import AggBasketPairDaily, AggProductDaily, Product
from core.timeutil import local_today

PRODUCT_DAILY, PAIRS = AggProductDaily.__table__, AggBasketPairDaily.__table__
ABC_EDGES = (0.8, 0.95)
XYZ_EDGES = (0.5, 1.0)
MIN_WEEKS = 4
DAY_COLUMNS = ["day", "product_id", "orders", "units", "returned_units", "sales", "returned_sales", "cost"]
SKU_COLUMNS = ["product_id", "sku", "name", "category", "orders", "units", "returned_units", "net_sales", "cost",
               "gross_margin", "margin_rate", "return_rate", "share"]
PAIR_COLUMNS = ["sku_a", "name_a", "sku_b", "name_b", "orders", "support", "confidence_ab", "confidence_ba",
                "lift"]
SUGGESTION_COLUMNS = ["sku", "name", "unit_price", "because", "orders", "confidence", "lift"]


def product_days(f: Filters, *, session: Session | None = None) -> pd.DataFrame:
    """Sums per local day × product under the filters: ``[day, product_id, orders, units,
    returned_units, sales, returned_sales, cost]``. Grouped in the table's key order (day,
    product), so the database streams it without sorting; performance, ABC and XYZ all come
    from this one read."""

    def query(s: Session) -> Sequence[Any]:
        rel = summary.relation(s, PRODUCT_DAILY, f.start, f.end)
        return s.execute(
            select(rel.c.day, rel.c.product_id, func.sum(rel.c.orders), func.sum(rel.c.units),
                   func.sum(rel.c.returned_units), func.sum(rel.c.sales), func.sum(rel.c.returned_sales),
                   func.sum(rel.c.cost))
            .where(*where(rel, f), *product_condition(rel.c.product_id, f))
            .group_by(rel.c.day, rel.c.product_id)).all()

    return pd.DataFrame(_read(session, query), columns=DAY_COLUMNS)


def sku_performance(f: Filters, days: pd.DataFrame | None = None, *, session: Session | None = None
                    ) -> pd.DataFrame:
    """:data:`SKU_COLUMNS` for every product that sold in the range under the filters, plus
    every active product of the category that did not (zeros), best net sales first. A
    product whose cost is unknown has None for cost, gross margin and margin rate.
    ``days`` is :func:`product_days` of the same filters when the caller has it."""
    days = product_days(f, session=session) if days is None else days
    products = _read(session, dims.products)
    sold: dict[int, list] = {}
    for row in days.itertuples(index=False):
        acc = sold.setdefault(int(row.product_id), [0, 0, 0, ZERO, ZERO, ZERO])
        acc[0] += int(row.orders)
        acc[1] += int(row.units)
        acc[2] += int(row.returned_units)
        for i, value in ((3, row.sales), (4, row.returned_sales), (5, row.cost)):
            acc[i] += Decimal(str(value))
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


def weekly_units(f: Filters, days: pd.DataFrame | None = None, *, session: Session | None = None
                 ) -> tuple[pd.DataFrame, int]:
    """Net units per product and full week counted back from the range's last day
    (``week`` 0 = the last 7 days), and the number of full weeks in the range."""
    weeks = f.days // 7
    if weeks == 0:
        return pd.DataFrame(columns=["product_id", "week", "units"]), 0
    days = product_days(f, session=session) if days is None else days
    first = f.end - dt.timedelta(days=7 * weeks - 1)
    units: dict[tuple[int, int], int] = {}
    for row in days.itertuples(index=False):
        if row.day >= first:
            key = (int(row.product_id), (f.end - row.day).days // 7)
            units[key] = units.get(key, 0) + int(row.units) - int(row.returned_units)
    frame = pd.DataFrame([(p, w, u) for (p, w), u in units.items()], columns=["product_id", "week", "units"])
    return frame.astype({"product_id": "int64", "week": "int64", "units": "int64"}), weeks


def abc_xyz(f: Filters, days: pd.DataFrame | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Per product: net sales, share, ABC class; weekly mean units, coefficient of variation,
    XYZ class (None when the range has fewer than :data:`MIN_WEEKS` full weeks). ``days`` is
    :func:`product_days` of the same filters when the caller already has it."""
    days = product_days(f, session=session) if days is None else days
    perf = sku_performance(f, days, session=session)
    weekly, weeks = weekly_units(f, days, session=session)
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
        values = [0] * weeks
        for w, u in zip(part["week"], part["units"], strict=True):
            values[int(w)] += int(u)
        mean = sum(values) / weeks
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / weeks)
        stats[int(pid)] = (mean, sd / mean if mean > 0 else None)
    enough = weeks >= MIN_WEEKS
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
    rel = summary.relation(s, SALES, first, last)
    n = s.execute(select(func.coalesce(func.sum(rel.c.orders), 0))
                  .where(rel.c.day >= first, rel.c.day <= last, rel.c.category == "*")).scalar_one()
    prod = summary.relation(s, PRODUCT_DAILY, first, last)
    per = s.execute(select(prod.c.product_id, func.sum(prod.c.orders))
                    .where(prod.c.day >= first, prod.c.day <= last).group_by(prod.c.product_id)).all()
    return int(n), {int(p): int(c) for p, c in per}


def basket_pairs(f: Filters, min_orders: int = 3, limit: int = 50, *,
                 session: Session | None = None) -> pd.DataFrame:
    """Pairs bought together in at least ``min_orders`` orders of the range, best lift first:
    support = orders with both / all orders, confidence A→B = orders with both / orders with
    A, lift = confidence A→B / share of orders with B."""

    def query(s: Session) -> tuple[int, dict[int, int], Sequence[Any], pd.DataFrame]:
        n, per = _order_totals(s, f.start, f.end)
        rel = summary.relation(s, PAIRS, f.start, f.end)
        stmt = (select(rel.c.product_a, rel.c.product_b, func.sum(rel.c.orders).label("n"))
                .where(rel.c.day >= f.start, rel.c.day <= f.end)
                .group_by(rel.c.product_a, rel.c.product_b).having(func.sum(rel.c.orders) >= min_orders))
        if f.category:
            in_cat = select(Product.id).where(Product.category == f.category)
            stmt = stmt.where(or_(rel.c.product_a.in_(in_cat), rel.c.product_b.in_(in_cat)))
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
