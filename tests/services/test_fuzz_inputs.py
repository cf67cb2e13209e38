"""Hostile values through every door a user or a file has: each call either succeeds or is
refused with a domain error (a message code the UI can translate) — never another exception —
and a refused call writes nothing (every table holds the same rows as before).

Hypothesis picks the values: absurd sizes and signs, NaN/inf, "1e400", text where numbers go,
numbers where text goes, control characters, formula prefixes, megabyte strings, far dates.
The database is one per test (the examples share it); "nothing written" is checked per example.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core import db
from core.errors import OMSError
from core.importing.issues import ImportFileError
from core.models import Base
from core.services import imports, inventory, master_data, orders, product_master, transfers
from core.services.orders import LineInput, OrderInput
from tests.factories import ADMIN, CLERK, MANAGER, WAREHOUSE, make_product, order_input

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the megabyte-ish strings
FUZZ = settings(max_examples=30, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

WORDS = ["1e400", "-1e400", "NaN", "inf", "-5", "0", "2.5", "high", " EXT-1 ", "=cmd|' /C calc'!A0", "+1+1",
         "@SUM(A1)", "\x00", "\r=1+1", "9999-12-31", "0000-00-00", "2026-13-45 99:00", "日本語", "", " ",
         "x" * 100_000, "’; DROP TABLE orders; --", "%s%s%n", "\u202e", "None", "null", "true"]
NUMBERS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, -1, 1, 10**6, 10**6 + 1, 10**9, 10**12, 2**63, -(2**63), 4 * 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
)
# What a form, a file or JSON can deliver: text and numbers of every shape, a date, nothing.
TEXT = st.one_of(st.none(), st.sampled_from(WORDS), st.text(max_size=40))
HOSTILE = st.one_of(TEXT, NUMBERS, st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
TEXT_FIELDS = {"channel", "customer_name", "phone", "email", "province", "city", "district", "address",
               "payment_method", "payment_status", "delivery_method", "warehouse", "external_ref", "note",
               "carrier", "tracking_no", "ship_name", "ship_phone", "nonsense"}


def _row_counts() -> dict[str, int]:
    with db.transaction() as s:
        return {t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables}


def _refused_cleanly(call: Callable[[], Any]) -> None:
    """Run ``call``: success, or a domain error after which every table is as it was."""
    before = _row_counts()
    try:
        call()
    except OMSError as exc:
        assert exc.key, exc
        assert _row_counts() == before, f"refused ({exc}) but wrote rows"


@pytest.fixture
def shop(db_url: str) -> Iterator[dict[str, int]]:
    """A product with stock in two warehouses and one open order to edit."""
    make_product("FUZZ-1", "19.90", {"SH": 1000, "GZ": 1000})
    yield {"order": orders.create_order(order_input(("FUZZ-1", 1)), CLERK).id}


ORDER_FIELDS = ["channel", "customer_name", "phone", "email", "province", "city", "district", "address",
                "payment_method", "payment_status", "delivery_method", "shipping_fee", "discount", "expected_total",
                "warehouse", "external_ref", "note", "priority", "placed_at"]


@FUZZ
@given(field=st.sampled_from(ORDER_FIELDS), data=st.data(), qty=HOSTILE, price=HOSTILE, discount=HOSTILE)
def test_order_entry(shop: dict[str, int], field: str, data: st.DataObject, qty: Any, price: Any,
                     discount: Any) -> None:
    value = data.draw(TEXT if field in TEXT_FIELDS else HOSTILE)
    entry = order_input(("FUZZ-1", 1))
    setattr(entry, field, value)
    _refused_cleanly(lambda: orders.create_order(entry, CLERK))
    lines = [LineInput("FUZZ-1", qty, price, discount)]
    _refused_cleanly(lambda: orders.create_order(OrderInput(**{**vars(order_input()), "lines": lines}), CLERK))


@FUZZ
@given(field=st.sampled_from(["note", "priority", "payment_method", "delivery_method", "payment_status", "carrier",
                              "tracking_no", "address", "ship_name", "ship_phone", "warehouse", "nonsense"]),
       data=st.data())
def test_order_edits(shop: dict[str, int], field: str, data: st.DataObject) -> None:
    value = data.draw(TEXT if field in TEXT_FIELDS else HOSTILE)
    version = orders.order_detail(shop["order"], MANAGER).header["version"]
    _refused_cleanly(lambda: orders.update_order(shop["order"], {field: value}, MANAGER, expected_version=version))


@FUZZ
@given(qty=HOSTILE, reason=st.one_of(TEXT, st.sampled_from(inventory.REASON_CODES)), note=TEXT,
       sku=st.one_of(st.just("FUZZ-1"), TEXT))
def test_stock_changes(shop: dict[str, int], qty: Any, reason: Any, note: Any, sku: Any) -> None:
    _refused_cleanly(lambda: inventory.adjust_stock(sku, "SH", qty, reason, ADMIN, note=note))
    _refused_cleanly(lambda: inventory.receive_adhoc("SH", [(sku, qty)], WAREHOUSE, note=note))
    _refused_cleanly(lambda: transfers.create_transfer("SH", "GZ", [(sku, qty)], WAREHOUSE, note=note))


@FUZZ
@given(code=TEXT, name=TEXT, cost=HOSTILE, price=HOSTILE, pack=HOSTILE, lead=HOSTILE, barcode=TEXT)
def test_master_data(shop: dict[str, int], code: Any, name: Any, cost: Any, price: Any, pack: Any, lead: Any,
                     barcode: Any) -> None:
    _refused_cleanly(lambda: master_data.create_warehouse(master_data.WarehouseInput(code, name, ship_cost=cost),
                                                          ADMIN))
    draft = product_master.ProductDraft(sku=code, name=name, unit_price=price, unit_cost=cost, pack_size=pack,
                                        lead_time_days=lead, barcodes=barcode)
    _refused_cleanly(lambda: product_master.create_product(draft, ADMIN))


CSV_COLUMNS = ["external_ref", "channel", "placed_at", "status", "customer_name", "phone", "sku", "qty", "unit_price"]


@FUZZ
@given(column=st.sampled_from(CSV_COLUMNS), value=st.one_of(st.sampled_from(WORDS), st.text(max_size=30), NUMBERS))
def test_order_imports(shop: dict[str, int], column: str, value: Any) -> None:
    row = {"external_ref": "FZ-1", "channel": "WECHAT", "placed_at": "2026-11-01 10:00", "status": "completed",
           "customer_name": "王芳", "phone": "13800138001", "sku": "FUZZ-1", "qty": "1", "unit_price": "19.90"}
    row[column] = str(value).replace("\n", " ")
    body = io.StringIO()
    body.write(",".join(CSV_COLUMNS) + "\n")
    body.write(",".join('"' + row[c].replace('"', '""') + '"' for c in CSV_COLUMNS) + "\n")
    files = [imports.SourceFile("fuzz.csv", body.getvalue().encode("utf-8"))]
    options = imports.ImportOptions(kind="orders", profile=imports.default_profile("orders"))

    def run() -> None:
        report = imports.run_import(files, options, MANAGER)
        if report.status != "imported":
            raise _NotImported(report.status)

    before = _row_counts()
    try:
        run()
    except (_NotImported, ImportFileError):
        after = _row_counts()
        written = {t for t in after if after[t] != before[t]} - {"import_batches", "import_errors", "dq_runs", "audit_log"}
        assert written == set(), f"a refused import wrote to {written}"
    except OMSError as exc:
        assert exc.key
        assert _row_counts() == before


class _NotImported(Exception):
    """The import refused the file: only the record of the attempt is written (its batch, its
    errors, the validation run and the audit row) — no order, customer or stock row."""

