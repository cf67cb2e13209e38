"""Money is exact on both backends (issue 13, item 10): raw SQL over the database sums whole
cents, order discounts are split into whole cents per line, and the summary tables, the raw
tables and the refunds agree to the cent."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select, update

from core import db, invariants
from core.analytics import channels, customers, products, summary
from core.analytics.filters import Filters
from core.errors import ValidationError
from core.models import Order, OrderLine, Product, cents
from core.refdata import snapshot
from core.services import aftersales, data_quality
from core.services.aftersales import RMALine, RMARequest
from core.services.import_orders import write_history
from core.services.orders import create_order
from core.timeutil import local_today
from tests.aftersales_data import delivered_order
from tests.conftest import BACKEND
from tests.factories import CLERK, MANAGER, SERVICE, make_product, order_input


def raw_sql(url: str, sql: str) -> Any:
    """One value of ``sql`` run on the database itself, past SQLAlchemy's types: the sqlite3
    module on the file, or the driver on PostgreSQL."""
    if BACKEND == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchone()[0]
    with db.get_engine(url).connect() as conn:
        return conn.exec_driver_sql(sql).scalar_one()


def test_raw_sql_sums_of_money_are_whole_cents_and_exact(db_url: str) -> None:
    """Dimes, fifths and ¥19.99 summed by raw SQL: on SQLite the REAL column read
    759708.870000003-style floats; now every money column is an integer number of cents."""
    for sku, price in (("DIME", "0.10"), ("FIFTH", "0.20"), ("PRICE", "19.99")):
        make_product(sku, price, {"SH": 10_000})
    expected = 0
    for i in range(150):
        lines = (("DIME", 1 + i % 3), ("FIFTH", 1 + i % 2), ("PRICE", 1))
        create_order(order_input(*lines), CLERK)
        expected += 10 * (1 + i % 3) + 20 * (1 + i % 2) + 1999
    for sql in ("SELECT sum(line_total) FROM order_lines", "SELECT sum(unit_price * qty) FROM order_lines",
                "SELECT sum(total) FROM orders", "SELECT sum(subtotal - discount + shipping_fee) FROM orders"):
        value = raw_sql(db_url, sql)
        assert value == expected, sql
        assert int(value) == value  # an integer, not a float near one
    if BACKEND == "sqlite":
        assert raw_sql(db_url, "SELECT typeof(sum(line_total)) FROM order_lines") == "integer"


def _awkward_orders() -> None:
    """Orders whose discounts and returns do not divide evenly:

    * two PHONE orders of 张三: A, B, C at ¥10 with ¥10 off → shares 3.34 / 3.33 / 3.33, paid
      6.66 / 6.67 / 6.67 each (largest remainder: the tie goes to the first line);
    * a WECHAT order of 李四: D ¥99.99 and E ¥20 with ¥10 off → shares 8.33 / 1.67;
    * a TMALL order of 王五: A × 7 and E with ¥10 off → shares 7.78 / 2.22, paid 62.22 / 17.78;
      delivered, then 2 of the 7 A come back: they carry round(62.22 × 2 / 7) = 17.78.
    """
    for sku, price in (("A", "10.00"), ("B", "10.00"), ("C", "10.00"), ("D", "99.99"), ("E", "20.00")):
        make_product(sku, price, {"SH": 100})
    for _ in range(2):
        create_order(order_input(("A", 1), ("B", 1), ("C", 1), discount=D("10.00")), CLERK)
    create_order(order_input(("D", 1), ("E", 1), discount=D("10.00"), channel="WECHAT", customer_name="李四",
                             phone="13900139000"), CLERK)
    order = delivered_order(("A", 7), ("E", 1), discount="10.00", channel="TMALL", customer_name="王五",
                            phone="13700137000")
    rma = aftersales.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 2),)), SERVICE)
    assert rma.computed_refund == D("17.78")


PRODUCT_NET = {"A": D("57.76"), "B": D("13.34"), "C": D("13.34"), "D": D("91.66"), "E": D("36.11")}
CHANNEL_NET = {"PHONE": D("40.00"), "WECHAT": D("109.99"), "TMALL": D("62.22")}
CUSTOMER_NET = {"张三": D("40.00"), "李四": D("109.99"), "王五": D("62.22")}


def _figures() -> tuple[dict[str, D], dict[str, D], dict[str, D]]:
    f = Filters.last(30, local_today())
    perf = products.sku_performance(f)
    table = channels.channel_table(f)
    top = customers.top_customers(f)
    return (dict(zip(perf["sku"], perf["net_sales"], strict=True)),
            {c: v for c, v in zip(table["channel_code"], table["net_sales"], strict=True) if v},
            dict(zip(top["name"], top["net_sales"], strict=True)))


def test_summary_raw_and_refunds_agree_to_the_cent(db_url: str) -> None:
    """Product net sales, channel sales and customer lifetime sales from the summary tables,
    from the same SELECTs over the raw tables, and by hand — all equal to the cent. With the
    order discount spread pro rata at four decimals, product A read 57.78 and the three
    products of a ¥20.00 order added up to 20.01."""
    _awkward_orders()
    summary.refresh(full=True)
    by_product, by_channel, by_customer = _figures()
    assert {k: v for k, v in by_product.items() if v} == PRODUCT_NET
    assert by_channel == CHANNEL_NET and by_customer == CUSTOMER_NET
    with summary.raw_source():
        assert _figures() == (by_product, by_channel, by_customer)
    with db.transaction(readonly=True) as s:
        shares = s.execute(select(OrderLine.discount_share).order_by(OrderLine.id)).scalars().all()
    assert shares == [D("3.34"), D("3.33"), D("3.33")] * 2 + [D("8.33"), D("1.67"), D("7.78"), D("2.22")]
    # the same figures in plain SQL: what the lines were paid; the return carries its refund
    paid = raw_sql(db_url, "SELECT sum(line_total - discount_share) FROM order_lines")
    assert paid == sum(PRODUCT_NET.values()) * 100 + 1778
    returned = channels.channel_table(Filters.last(30, local_today())).set_index("channel_code")
    assert returned.at["TMALL", "returned_sales"] == D("17.78")  # = the RMA's computed refund


def test_every_order_discount_is_split_in_whole_cents_that_add_up(db_url: str) -> None:
    """The lines' shares add up to the discount on the goods, order by order, in raw SQL."""
    _awkward_orders()
    mismatched = raw_sql(db_url, """
        SELECT count(*) FROM orders o JOIN (SELECT order_id, sum(discount_share) AS shares, sum(line_total) AS goods
                                            FROM order_lines GROUP BY order_id) l ON l.order_id = o.id
        WHERE l.shares <> CASE WHEN o.discount < l.goods THEN o.discount ELSE l.goods END""")
    assert mismatched == 0


def test_a_split_that_no_longer_adds_up_is_reported(db_url: str) -> None:
    """A hand edit or a restored file moves a cent between lines of one order and off another:
    the invariants and ``oms dq run`` name the order whose shares no longer add up."""
    _awkward_orders()
    with db.transaction() as s:
        first, second = s.execute(select(Order.id, Order.number).order_by(Order.id).limit(2)).all()
        s.execute(update(OrderLine).where(OrderLine.order_id == first.id, OrderLine.line_no == 1)
                  .values(discount_share=OrderLine.discount_share - D("0.01")))
        s.execute(update(OrderLine).where(OrderLine.order_id == first.id, OrderLine.line_no == 2)
                  .values(discount_share=OrderLine.discount_share + D("0.01")))  # still adds up: fine
        s.execute(update(OrderLine).where(OrderLine.order_id == second.id, OrderLine.line_no == 1)
                  .values(discount_share=OrderLine.discount_share + D("0.01")))
    assert [(b.check, b.key) for b in invariants.check()] == [("discount_split", second.number)]
    report = data_quality.run_checks(MANAGER)
    [(suite, result)] = report.failures()
    assert (suite, result.code) == ("db.orders", "order_discount_split")
    assert result.failing["number"].tolist() == [second.number]


def _history(total_cents: float) -> pd.DataFrame:
    """Three ¥10 lines of one completed order with ¥10 off, as the import stages them (cents)."""
    head = {"_okey": "POS\x1fH-1", "_row": 2, "_target": "completed", "payment_status_v": "paid",
            "payment_method_v": None, "delivery_method_v": "pickup", "customer_name": None, "phone_v": None,
            "province": None, "city": None, "district": None, "address": None, "external_ref": "H-1",
            "carrier": None, "tracking_no": None, "note": None, "placed_at_v": pd.Timestamp("2026-11-01 02:00"),
            "_subtotal": 3000.0, "_order_disc": 1000.0, "_shipping": 0.0, "_total": total_cents,
            "channel_v": "POS", "warehouse_v": "SH", "customer_id": None, "email_v": None, "approved_at_v": pd.NaT,
            "shipped_at_v": pd.NaT, "delivered_at_v": pd.NaT, "cancelled_at_v": pd.NaT}
    return pd.DataFrame([{**head, "_row": 2 + i, "sku": sku, "qty_v": 1.0, "_unit_price": 1000.0, "_disc": 0.0,
                          "_line_total": 1000.0} for i, sku in enumerate(("A", "B", "C"))])


def test_the_history_writer_splits_the_discount_and_checks_the_totals_itself(db_url: str) -> None:
    ids = {sku: make_product(sku, "10.00") for sku in ("A", "B", "C")}
    with pytest.raises(ValidationError) as err, db.transaction() as s:  # ¥20.00 stated as ¥20.01
        write_history(s, _history(2001.0), actor=MANAGER, ref=snapshot(s), note="t", product_ids=ids,
                      deduct_stock=False, progress=lambda _: None)
    assert [(i.field, i.message, i.row) for i in err.value.issues] == [("total", "issue.totals", 2)]
    with db.transaction() as s:
        write_history(s, _history(2000.0), actor=MANAGER, ref=snapshot(s), note="t", product_ids=ids,
                      deduct_stock=False, progress=lambda _: None)
    with db.transaction(readonly=True) as s:
        shares = s.execute(select(cents(OrderLine.discount_share)).order_by(OrderLine.line_no)).scalars().all()
    assert shares == [334, 333, 333]


def test_money_reads_back_with_two_places_and_a_fraction_of_a_cent_rounds_half_up(db_url: str) -> None:
    """What NUMERIC(12, 2) did on PostgreSQL (SQLite kept the float): ¥19.99 / 2 = 9.995 → 10.00."""
    pid = make_product("ODD", "19.99")  # the factory's cost is half the price
    with db.transaction(readonly=True) as s:
        price, cost = s.execute(select(Product.unit_price, Product.unit_cost).where(Product.id == pid)).one()
    assert (str(price), str(cost)) == ("19.99", "10.00")
    assert raw_sql(db_url, "SELECT unit_cost FROM products") == 1000
