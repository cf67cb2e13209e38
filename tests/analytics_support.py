"""Support for the analytics tests: a generated demo database shared by a test module (SQLite
file or throw-away PostgreSQL database, like tests/conftest.py), and an independent pandas
model of the raw tables that every dashboard number is checked against.

The pandas side re-implements the definitions (docs/analytics.md) from the raw rows with
Python ``Decimal`` arithmetic and pandas' own timezone conversion — it shares no code with the
SQL it checks except the province → region table and the shop's timezone.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text

from core import db
from core.analytics import summary
from core.geo import REGION_OF_PROVINCE
from core.models import (
    Channel,
    Customer,
    Order,
    OrderLine,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)
from core.reference import seed_reference
from core.schema import upgrade
from core.timeutil import shop_tz
from data.demo import load_demo
from data.demo_reference import seed_demo_reference

BACKEND = os.environ.get("OMS_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("OMS_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")
CENT = Decimal("0.01")


def demo_database(workdir: Path, orders: int, seed: int) -> Iterator[str]:
    """Yield the URL of a migrated, seeded database holding ``orders`` demo orders, summaries
    built; dropped afterwards."""
    if BACKEND == "postgres":
        name = f"oms_test_an_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{workdir / 'demo.db'}"
    try:
        upgrade(db.get_engine(url))
        with db.transaction(url) as s:
            seed_reference(s)
            seed_demo_reference(s)  # load_demo would too; the demo shop's reference set
        load_demo(url, orders=orders, seed=seed)
        previous = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = url
        try:
            summary.refresh(full=True)
        finally:
            if previous is None:
                del os.environ["DATABASE_URL"]
            else:
                os.environ["DATABASE_URL"] = previous
        yield url
    finally:
        db.dispose_all()
        if BACKEND == "postgres":
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def money_close(a: object, b: object, cents: int = 0) -> bool:
    """Equal to the cent (``cents`` of slack only where a figure is itself rounded, such as an
    average order value). Every summed measure is whole cents on both sides — order discounts
    are split into whole cents per line, returned units carry whole cents — so sums agree
    exactly."""
    return abs(Decimal(str(a)) - Decimal(str(b))) <= CENT * cents


def _largest_remainder(amount: int, weights: list[int]) -> list[int]:
    """``amount`` cents over ``weights`` (listed in line order): floor of the pro-rata share,
    the leftover cents to the largest remainders, ties to the earlier line. Written out here
    from the definition in docs/money.md, not imported, so the check is independent."""
    total = sum(weights)
    if total == 0:
        return [0] * len(weights)
    exact = [Fraction(amount * w, total) for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:amount - sum(shares)]:
        shares[i] += 1
    return shares


def _discount_shares(lines: pd.DataFrame) -> list[Decimal]:
    """Each line's share of its order's discount: the part that fits the goods (at most the
    subtotal), split over the line totals in whole cents."""
    share: dict[int, Decimal] = {}
    for _, group in lines.sort_values(["order_id", "line_no"]).groupby("order_id", sort=False):
        totals = [int(t * 100) for t in group["line_total"]]
        on_goods = min(int(group["discount"].iloc[0] * 100), sum(totals))
        for index, cents in zip(group.index, _largest_remainder(on_goods, totals), strict=True):
            share[index] = Decimal(cents) / 100
    return [share[i] for i in lines.index]


def _units_share(sales: Decimal, returned: int, qty: int) -> Decimal:
    """The cents ``returned`` of ``qty`` units carry of ``sales``: rounded half up."""
    return (sales * returned / qty).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Raw:
    """The raw tables as pandas frames, with the derived columns the dashboards define."""

    orders: pd.DataFrame  # one row per order (cancelled included) with local day/hour, region
    lines: pd.DataFrame  # one row per line with its order's columns and sales / returns / cost
    products: pd.DataFrame
    customers: pd.DataFrame
    channels: pd.DataFrame
    warehouses: pd.DataFrame
    levels: pd.DataFrame
    movements: pd.DataFrame

    @property
    def sold_lines(self) -> pd.DataFrame:
        return self.lines[self.lines["status"] != "cancelled"]

    @property
    def sold_orders(self) -> pd.DataFrame:
        return self.orders[self.orders["status"] != "cancelled"]


def _frame(conn: object, stmt: object) -> pd.DataFrame:
    result = conn.execute(stmt)  # type: ignore[attr-defined]
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _local(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts).dt.tz_localize("UTC").dt.tz_convert(shop_tz())


def load_raw(url: str) -> Raw:
    with db.get_engine(url).connect() as c:
        orders = _frame(c, select(Order.id, Order.number, Order.channel_id, Order.warehouse_id, Order.customer_id,
                                  Order.status, Order.ship_province, Order.subtotal, Order.discount, Order.total,
                                  Order.placed_at, Order.approved_at, Order.shipped_at, Order.delivered_at,
                                  Order.due_by))
        lines = _frame(c, select(OrderLine.order_id, OrderLine.line_no, OrderLine.product_id,
                                 OrderLine.warehouse_id.label("line_wh"), OrderLine.qty, OrderLine.qty_returned,
                                 OrderLine.line_total, OrderLine.discount_share))
        products = _frame(c, select(Product.id.label("product_id"), Product.sku, Product.name, Product.category,
                                    Product.unit_cost, Product.unit_price, Product.active))
        customers = _frame(c, select(Customer.id.label("customer_id"), Customer.code, Customer.province))
        channels = _frame(c, select(Channel.id.label("channel_id"), Channel.code.label("channel_code"),
                                    Channel.name.label("channel"), Channel.active))
        warehouses = _frame(c, select(Warehouse.id.label("warehouse_id"), Warehouse.code.label("warehouse_code")))
        levels = _frame(c, select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand,
                                  StockLevel.reserved))
        movements = _frame(c, select(StockMovement.product_id, StockMovement.warehouse_id, StockMovement.at,
                                     StockMovement.qty_delta))
    local = _local(orders["placed_at"])
    orders["day"] = local.dt.date
    orders["hour"] = local.dt.hour
    orders["region"] = [REGION_OF_PROVINCE.get(p, "") if isinstance(p, str) else "" for p in orders["ship_province"]]
    orders["warehouse_id"] = orders["warehouse_id"].fillna(0).astype("int64")
    orders = orders.merge(channels[["channel_id", "channel_code", "channel"]], on="channel_id").merge(
        warehouses, on="warehouse_id", how="left")
    orders["warehouse_code"] = orders["warehouse_code"].fillna("")
    lines = lines.merge(orders, left_on="order_id", right_on="id").merge(products, on="product_id")
    lines["line_wh"] = lines["line_wh"].fillna(lines["warehouse_id"]).astype("int64")
    lines["expected_share"] = _discount_shares(lines)
    lines["sales"] = lines["line_total"] - lines["expected_share"]
    lines["returned_sales"] = [_units_share(s, r, q) for s, r, q in zip(
        lines["sales"], lines["qty_returned"], lines["qty"], strict=True)]
    lines["net_sales"] = lines["sales"] - lines["returned_sales"]
    lines["net_units"] = lines["qty"] - lines["qty_returned"]
    lines["cost"] = [u * c for u, c in zip(lines["net_units"], lines["unit_cost"], strict=True)]
    movements["day"] = _local(movements["at"]).dt.date
    return Raw(orders, lines, products, customers, channels, warehouses, levels, movements)


def last_day(raw: Raw) -> dt.date:
    """The demo's "today" (the local day of its newest order)."""
    return max(raw.orders["day"])


def dsum(values: object) -> Decimal:
    return sum((Decimal(str(v)) for v in values), Decimal(0))  # type: ignore[attr-defined]


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: float(v) if isinstance(v, Decimal) else v)


def assert_same(a: object, b: object, where: str) -> None:
    """Two dashboard results agree: money (Decimal) equal to the cent, exactly; ratios and
    means derived from it equal up to float noise."""
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame)
        for column in a.columns:
            if a[column].map(lambda v: isinstance(v, Decimal)).any():
                assert a[column].tolist() == b[column].tolist(), f"{where}.{column}"
        pd.testing.assert_frame_equal(_plain(a), _plain(b), check_exact=False, atol=1e-9, rtol=1e-9,
                                      check_dtype=False, obj=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], Decimal):
                assert a[key] == b[key], key
            else:
                assert a[key] == pytest.approx(b[key], abs=1e-9) if a[key] is not None else b[key] is None, key
