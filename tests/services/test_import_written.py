"""What a history import writes, row for row, against a stored record of it.

The bulk history writer (``core.services.import_orders``, ``core.importing.bulk`` and
``core.importing.identity``) is tuned for speed (issue 19): column-wise conversion, one
encryption pass, ids assigned before the insert, COPY on PostgreSQL. Tuning it must never change
what lands in the database, so this test imports a generated file that exercises every history
feature — existing customers matched by phone, e-mail and channel account, people joined inside
the file, walk-in sales, every history status with and without its own timestamps, times close to
local midnight, derived unit prices, line and order discounts split to the cent, warehouses from
the file and from the allocation rules, stock deducted — and compares everything written
(orders, lines, events, payments, customers, channel accounts, stock movements and levels, the
batch's counts) with ``tests/fixtures/import_written/history.json``, which was recorded with the
writer as it was before the tuning (commit e11b468). Surrogate ids are replaced by natural keys
(order number, customer code, SKU, warehouse/channel code), and the order in which ids were
given is kept as a list, so "the same rows" includes "in the same id order". Encrypted columns
are compared decrypted, plus whether they are stored as ciphertext; blind indexes and the merge
key are deterministic under the test key and compared as stored.

The same record holds on SQLite and on PostgreSQL. To re-record after an *intended* change:
``OMS_RECORD_IMPORT_WRITTEN=1 pytest tests/services/test_import_written.py`` (SQLite), then
review the diff of the JSON file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select, type_coerce
from sqlalchemy.types import Text

from core import datakeys, db
from core.importing.bulk import one_of
from core.models import (
    Channel,
    Customer,
    CustomerIdentity,
    ImportBatch,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Product,
    StockLevel,
    StockMovement,
    Warehouse,
)
from core.models.personal import Encrypted
from core.services import imports
from core.services.imports import ImportOptions, SourceFile
from tests.factories import MANAGER, make_product

RECORD = Path(__file__).resolve().parents[1] / "fixtures" / "import_written" / "history.json"
HEADER = ["external_ref", "line_ref", "channel", "placed_at", "approved_at", "shipped_at", "delivered_at",
          "cancelled_at", "status", "customer_name", "buyer_id", "phone", "email", "province", "city", "district",
          "address", "sku", "qty", "unit_price", "line_discount", "line_total", "shipping_fee", "order_discount",
          "order_total", "payment_method", "payment_status", "warehouse", "carrier", "tracking_no", "note"]
NOW_ISH = dt.datetime(2026, 11, 24)  # written "now" (the file's times end in 2026-08)
SKUS = [(f"HW-{i:02d}", f"{19 + i * 7}.{(i * 13) % 100:02d}") for i in range(12)]
PLACES = [("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"), ("北京", "北京市", "朝阳区"),
          ("四川", "成都市", "武侯区"), ("浙江", "杭州市", "西湖区"), ("江苏省", "南京市", "鼓楼区")]


def _people(rng: random.Random) -> list[dict[str, str]]:
    """40 people: phone only, e-mail only, a Tmall/JD account with or without phone, both."""
    people = []
    for i in range(40):
        kind = i % 5
        province, city, district = PLACES[i % len(PLACES)]
        people.append({
            "customer_name": f"顾客{i:02d}", "phone": f"1390000{i:04d}" if kind in (0, 2, 3) else "",
            "email": f"p{i}@example.com" if kind in (1, 3) else "",
            "buyer_id": f"buyer-{i}" if kind in (2, 4) else "", "channel": ("TMALL", "JD")[i % 2] if kind in (2, 4)
            else rng.choice(("WECHAT", "DOUYIN", "PHONE")),
            "province": province, "city": city, "district": district, "address": f"幸福路 {i % 7} 号 {i} 室",
        })
    return people


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _orders(rng: random.Random, prefix: str, n: int, people: list[dict[str, str]],
            statuses: tuple[str, ...]) -> bytes:
    rows = []
    for k in range(n):
        status = rng.choice(statuses)
        walk_in = rng.random() < 0.1
        person = {f: "" for f in ("customer_name", "phone", "email", "buyer_id", "province", "city", "district",
                                  "address")} | {"channel": "POS"} if walk_in else rng.choice(people)
        day = dt.datetime(2025, 1, 1) + dt.timedelta(days=rng.randrange(600),
                                                     minutes=rng.choice((5, 30, 23 * 60 + 50, 14 * 60 + 7)))
        stamp = day.strftime("%Y-%m-%d %H:%M:%S")
        later = (day + dt.timedelta(hours=rng.randrange(2, 30))).strftime("%Y-%m-%d %H:%M:%S")
        items = [(rng.choice(SKUS), rng.randrange(1, 4)) for _ in range(rng.choice((1, 1, 2, 3, 4)))]
        items = list({sku: (sku, qty) for sku, qty in items}.values())  # one line per SKU
        line_disc = [rng.choice((0, 0, 0, 100, 333)) for _ in items]
        totals = [round(float(price) * 100) * qty - d for ((_, price), qty), d in zip(items, line_disc, strict=True)]
        order_disc = rng.choice((0, 0, 10, 101, 999)) if sum(totals) > 2000 else 0
        shipping = rng.choice((0, 800, 1000))
        shipped = status in ("shipped", "delivered", "completed")
        approved = later if rng.random() < 0.5 else ""
        delivered = later if status in ("delivered", "completed") and rng.random() < 0.7 else ""
        cancelled = later if status == "cancelled" and rng.random() < 0.5 else ""
        method, paid = rng.choice(("wechat_pay", "alipay", "")), rng.choice(("", "", "paid", "unpaid", "refunded"))
        warehouse, note = rng.choice(("", "", "SH", "GZ", "BJ", "CD")), rng.choice(("", "", "加急, 请包好"))
        for i, (((sku, price), qty), disc, total) in enumerate(zip(items, line_disc, totals, strict=True), start=1):
            by_total = rng.random() < 0.2 and disc == 0  # only the paid amount: the unit price is derived
            rows.append([
                f"{prefix}{k:04d}", i, person["channel"], stamp, approved, later if shipped else "", delivered,
                cancelled, status, person["customer_name"], person["buyer_id"], person["phone"], person["email"],
                person["province"], person["city"], person["district"], person["address"], sku, qty,
                "" if by_total else price, _money(disc) if disc else "", _money(total) if by_total else "",
                _money(shipping), _money(order_disc) if order_disc else "", _money(sum(totals) - order_disc + shipping),
                method, paid, warehouse, "顺丰速运" if shipped else "", f"SF{prefix}{k:06d}" if shipped else "", note,
            ])
    text = ",".join(HEADER) + "\n" + "\n".join(",".join(f'"{v}"' if "," in str(v) else str(v) for v in r)
                                               for r in rows) + "\n"
    return text.encode("utf-8")


def _import(name: str, data: bytes, **options: Any) -> imports.ImportReport:
    report = imports.run_import([SourceFile(name, data)], ImportOptions(
        "orders", imports.load_profile("generic-orders"), **options), MANAGER)
    assert report.status == "imported", (report.summary(), report.issues.head(5).to_dict("records"))
    return report


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        assert value.tzinfo is None, "times are stored as naive UTC"
        return "now" if value >= NOW_ISH else value.isoformat()  # the test clock ticks on from its pin
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _table(s: Any, table: Table, keys: dict[str, dict[int, str]], order_by: list[str]) -> dict[str, Any]:
    """Every row of ``table`` with ids replaced by natural keys (``keys``: column → id → key),
    encrypted columns decrypted plus a ``<column>~sealed`` flag; rows sorted by ``order_by``."""
    sealed = [c.name for c in table.c if isinstance(c.type, Encrypted)]
    raw = {r[0]: r[1:] for r in s.execute(select(table.c.id, *(type_coerce(table.c[c], Text) for c in sealed)))}
    rows = []
    for r in s.execute(select(table)).mappings():
        row = {c: (keys[c].get(v) if c in keys and v is not None else _plain(v)) for c, v in r.items() if c != "id"}
        row |= {f"{c}~sealed": datakeys.is_ciphertext(v) for c, v in zip(sealed, raw[r["id"]], strict=True)}
        rows.append(row)
    rows.sort(key=lambda row: tuple(str(row[c]) for c in order_by))
    return {"rows": rows, "count": len(rows)}


def written() -> dict[str, Any]:
    """What the database holds of the imported history, without surrogate ids."""
    with db.transaction() as s:
        def ids(model: Any, key: Any) -> dict[int, str]:
            return dict(s.execute(select(model.id, key)).all())

        orders, customers = ids(Order, Order.number), ids(Customer, Customer.code)
        products, warehouses, channels = ids(Product, Product.sku), ids(Warehouse, Warehouse.code), \
            ids(Channel, Channel.code)
        line_keys = {i: f"{orders[o]}/{n}" for i, o, n in s.execute(select(OrderLine.id, OrderLine.order_id,
                                                                          OrderLine.line_no))}
        refs = {"order_id": orders, "customer_id": customers, "merged_into_id": customers, "product_id": products,
                "warehouse_id": warehouses, "channel_id": channels, "order_line_id": line_keys}
        out: dict[str, Any] = {
            "orders": _table(s, Order.__table__, refs, ["number"]),
            "order_lines": _table(s, OrderLine.__table__, refs, ["order_id", "line_no"]),
            "order_events": _table(s, OrderEvent.__table__, refs, ["order_id", "at", "to_status"]),
            "payments": _table(s, Payment.__table__, refs, ["order_id", "kind", "amount"]),
            "customers": _table(s, Customer.__table__, refs, ["code"]),
            "customer_identities": _table(s, CustomerIdentity.__table__, refs, ["channel_id", "external_id"]),
            "stock_movements": _table(s, StockMovement.__table__, refs | {"ref_id": orders},
                                      ["kind", "product_id", "warehouse_id", "ref_id", "qty_delta"]),
            "stock_levels": _table(s, StockLevel.__table__, refs, ["product_id", "warehouse_id"]),
        }
        # id order: the natural keys listed by ascending surrogate id
        for name, model, key in (("orders", Order, Order.number), ("customers", Customer, Customer.code)):
            out[name]["by_id"] = list(s.scalars(select(key).order_by(model.id)))
        out["batches"] = [{"status": b.status, "rows": b.rows, "accepted": b.accepted, "rejected": b.rejected,
                           "stats": b.stats} for b in s.scalars(select(ImportBatch).order_by(ImportBatch.id))]
    return out


def test_a_history_import_writes_exactly_the_recorded_rows(db_url: str) -> None:
    for sku, price in SKUS:
        make_product(sku, price, {"SH": 400, "GZ": 400, "BJ": 400, "CD": 400})
    rng = random.Random(19)
    people = _people(rng)
    counts = []
    # people already known: some by phone, some by e-mail, some by their channel account
    counts.append(_import("earlier.csv", _orders(rng, "E", 25, people[::2], ("completed",))).counts)
    counts.append(_import("history.csv", _orders(rng, "H", 260, people,
                                                 ("completed", "completed", "delivered", "shipped", "cancelled")))
                  .counts)
    counts.append(_import("shipped.csv", _orders(rng, "S", 30, people[5:15], ("completed", "shipped")),
                          deduct_stock=True).counts)
    got = json.loads(json.dumps({"counts": counts, **written()}, ensure_ascii=False, default=str))
    if os.environ.get("OMS_RECORD_IMPORT_WRITTEN"):
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        RECORD.write_text(json.dumps(got, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(RECORD.read_text(encoding="utf-8"))
    for name in expected:  # table by table, so a failure names the table and the first differing row
        if isinstance(expected[name], dict) and "rows" in expected[name]:
            assert got[name]["count"] == expected[name]["count"], name
            for want, have in zip(expected[name]["rows"], got[name]["rows"], strict=True):
                assert have == want, name
            assert got[name].get("by_id") == expected[name].get("by_id"), name
        assert got[name] == expected[name], name


def test_one_statement_look_ups_take_any_number_of_values(db_url: str) -> None:
    """``bulk.one_of`` (``= ANY(array)`` / ``json_each``) finds exactly the stored values among
    many more than the old 5,000-parameter chunks, strings and ints alike."""
    with db.transaction() as s:
        conn = s.connection()
        wanted = [f"NOPE-{i}" for i in range(12_000)] + ["WECHAT", "TMALL", "门店"]
        assert sorted(s.scalars(select(Channel.code).where(one_of(conn, Channel.code, wanted)))) == ["TMALL", "WECHAT"]
        ids = dict(s.execute(select(Channel.id, Channel.code)).all())
        some = sorted(ids)[:2]
        assert sorted(s.scalars(select(Channel.id).where(one_of(conn, Channel.id, [*some, *range(10**6, 10**6 + 9000)])))) \
            == some
        assert s.scalars(select(Channel.id).where(one_of(conn, Channel.id, []))).all() == []
