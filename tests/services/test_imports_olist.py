"""The multi-file Olist export: a small slice kept under tests/fixtures (always run) and the
shared sample in ../shared/data/olist-sample (skipped when absent). Every complete order is
imported; every order that is not is named with its reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from core import db
from core.models import Customer, CustomerIdentity, Order, OrderLine, Product
from core.services import imports
from core.services.imports import ImportOptions, SourceFile
from tests.factories import MANAGER

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "olist"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "olist-sample"


def _files(folder: Path) -> list[SourceFile]:
    return [SourceFile(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]


def _import(folder: Path) -> imports.ImportReport:
    options = ImportOptions("orders", imports.load_profile("olist"), channel="TMALL", on_error="quarantine",
                            create_missing_products=True)
    return imports.run_import(_files(folder), options, MANAGER)


def _read(folder: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(next(folder.glob(name)), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame[(frame != "").any(axis=1)]  # the export's ",,,,," rows


def _complete_orders(folder: Path) -> set[str]:
    """What the profile promises to import: orders with at least one item and a customer row."""
    orders = _read(folder, "*orders_dataset*")
    items, customers = _read(folder, "*order_items*"), _read(folder, "*customer*")
    return set(orders.loc[orders["order_id"].isin(items["order_id"])
                          & orders["customer_id"].isin(customers["customer_id"]), "order_id"])


def _imported() -> dict[str, Order]:
    with db.transaction() as s:
        return {o.external_ref: o for o in s.execute(select(Order)).scalars()}


def _assert_every_order_accounted_for(folder: Path, report: imports.ImportReport) -> None:
    orders = set(_read(folder, "*orders_dataset*")["order_id"])
    complete = _complete_orders(folder)
    assert set(_imported()) == complete
    errors = report.issues[report.issues["severity"] == "error"]
    named = set(errors["order"].dropna())
    assert orders - complete <= named  # each order not taken is named …
    reasons = errors[errors["order"].isin(orders - complete)]
    assert set(reasons["code"]) <= {"no_lines", "missing_lookup", "no_customer", "order_failed"}  # … with why


def test_olist_fixture_slice(db_url: str) -> None:
    report = _import(FIXTURE)
    assert report.status == "partial"
    _assert_every_order_accounted_for(FIXTURE, report)
    errors = report.issues[report.issues["severity"] == "error"]
    assert sorted(errors.loc[errors["code"] == "no_lines", "order"]) == sorted(
        set(_read(FIXTURE, "*orders_dataset*")["order_id"]) - set(_read(FIXTURE, "*order_items*")["order_id"]))
    assert len(errors[errors["code"] == "missing_lookup"]["order"].unique()) == 2
    orphans = errors[errors["code"] == "orphan_line"]
    assert len(orphans) == 3 and set(orphans["file"]) == {"olist_order_items_dataset.csv"}
    assert set(report.issues.loc[report.issues["code"] == "unused_file", "file"]) == {
        "product_category_name_translation.csv"}  # the BOM file is read, and said to be unused

    orders = _imported()
    first = orders["0ab63e307694f40a88a0ecd358c0939d"]  # 4/15/2018 22:11 in São Paulo (UTC−3)
    assert (str(first.placed_at), str(first.shipped_at), str(first.delivered_at)) == \
        ("2018-04-16 01:11:00", "2018-04-19 05:22:00", "2018-04-25 21:11:00")
    assert first.status == "delivered" and first.ship_province == "SP"
    assert orders["0d13e311818a800d01cd46fb35dd3c27"].status == "cancelled"
    assert orders["0b43acd81f6d3f30136133517a13b72f"].status == "backordered"  # open, no stock for a new SKU
    statuses = pd.Series([o.status for o in orders.values()]).value_counts().to_dict()
    assert statuses == {"delivered": 8, "shipped": 1, "cancelled": 1, "backordered": 1}
    with db.transaction() as s:
        big = orders["0f8532e6a9c1e86b215fda5c13f37fad"]  # six item rows, freight summed per order
        lines = s.execute(select(OrderLine.qty, OrderLine.unit_price).where(OrderLine.order_id == big.id)).all()
        items = _read(FIXTURE, "*order_items*")
        mine = items[items["order_id"] == big.external_ref]
        assert len(lines) == 6 and all(q == 1 for q, _ in lines)
        assert float(big.shipping_fee) == pytest.approx(mine["freight_value"].astype(float).sum())
        assert float(big.total) == pytest.approx(mine["price"].astype(float).sum() + float(big.shipping_fee))
        categories = set(s.execute(select(Product.category)).scalars())
        assert "cama_mesa_banho" in categories and "未分类" in categories  # products file, else default
        # two orders, one customer_unique_id: one customer
        shared = s.execute(select(CustomerIdentity.customer_id).where(
            CustomerIdentity.external_id == "8fbfbef81eb19dbfa1f6ba6bf5924e4b")).scalar_one()
        assert sum(o.customer_id == shared for o in orders.values()) == 2
        assert s.execute(select(Customer.name).where(Customer.id == shared)).scalar_one() == \
            "8fbfbef81eb19dbfa1f6ba6bf5924e4b"
    methods = {o.payment_method for o in orders.values()}
    assert {"card", "bank_transfer", "platform"} <= methods

    again = _import(FIXTURE)  # idempotent
    assert again.accepted == 0 and set(_imported()) == set(orders)
    assert (again.issues["code"] == "already_imported").sum() == len(orders)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared Olist sample is not on this machine")
def test_olist_shared_sample(db_url: str) -> None:
    report = _import(SHARED)
    assert report.status == "partial" and report.counts["orders_created"] == len(_complete_orders(SHARED))
    _assert_every_order_accounted_for(SHARED, report)
