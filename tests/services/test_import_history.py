"""Bringing in a shop's history: constants for fields a file lacks, walk-in sales without a
customer, repeated identical lines, real duplicates naming the row they repeat, errors grouped
by cause, dry runs that say what they would import, content-aware column guesses, and costs
that stay unknown instead of reading as a 100 % margin. Fixtures: tests/fixtures/history/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from core import db
from core.analytics import channels, sales, stock_health, summary
from core.analytics import customers as customer_analytics
from core.analytics import products as product_analytics
from core.analytics.filters import Filters
from core.cli import main
from core.config import letterhead
from core.documents.order_slip import render_order_slip
from core.errors import Conflict, Refused, ValidationError
from core.importing.guess import guess_mapping
from core.models import Customer, ImportError_, Order, OrderLine, Product
from core.services import imports, inventory
from core.services.imports import ImportOptions, SourceFile
from core.services.orders import create_order, order_detail
from tests.factories import MANAGER, WAREHOUSE, make_product, order_input
from tests.pdf_text import pdf_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "history"
POS = FIXTURES / "pos-receipts.csv"
POS_PROFILE = FIXTURES / "pos-history.yaml"
LOG = FIXTURES / "purchase-log.csv"
LOG_HEADER = "order_no,line,date,customer,mobile,item,sku,qty,amount"


def _src(path: Path) -> SourceFile:
    return SourceFile(path.name, path.read_bytes())


def _csv(name: str, header: str, *rows: str) -> SourceFile:
    return SourceFile(name, ("\n".join([header, *rows]) + "\n").encode("utf-8"))


def _log_profile(**extra: object) -> imports.Profile:
    """The purchase log as the page would map it (by header and content), plus ``extra``."""
    sample = pd.read_csv(LOG, dtype=str)
    return imports.profile_from_yaml(imports.profile_yaml(imports.Profile(
        name="purchase-log", kind="orders", columns=guess_mapping("orders", sample),
        date_formats=("%Y-%m-%d",), **extra)))  # type: ignore[arg-type]


def _pos(**options: object) -> imports.ImportReport:
    options.setdefault("create_missing_products", True)
    return imports.run_import([_src(POS)], ImportOptions("orders", imports.load_profile(str(POS_PROFILE)),
                                                         **options), MANAGER)  # type: ignore[arg-type]


def _orders() -> dict[str, Order]:
    with db.transaction() as s:
        return {o.external_ref: o for o in s.execute(select(Order)).scalars()}


def _lines(ref: str) -> list[tuple[str, int, Decimal]]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(
            select(Product.sku, OrderLine.qty, OrderLine.line_total).join(Order, Order.id == OrderLine.order_id)
            .join(Product, Product.id == OrderLine.product_id).where(Order.external_ref == ref)
            .order_by(OrderLine.line_no)).all()]


def _count(model: type) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# --- constants and walk-in sales -------------------------------------------------------------


def test_constant_status_imports_a_history_without_status_as_completed_walk_in_sales(db_url: str) -> None:
    report = _pos()
    assert report.status == "imported" and report.errors == 0, report.issues
    orders = _orders()
    assert set(orders) == {"R-1001", "R-1002", "R-1003"}
    assert {o.status for o in orders.values()} == {"completed"}  # not open, not backordered
    assert {o.payment_status for o in orders.values()} == {"paid"}
    assert all(o.customer_id is None for o in orders.values())  # walk-in: no (pseudo-)customer
    assert _count(Customer) == 0
    assert report.counts["walk_in"] == 3 and report.counts["historical"] == 3


def test_a_bad_constant_is_refused_like_a_bad_value_once_per_cause(db_url: str) -> None:
    profile = imports.load_profile(str(POS_PROFILE))
    bad = imports.profile_from_yaml(imports.profile_yaml(profile).replace("status: completed", "status: finished"))
    report = imports.run_import([_src(POS)], ImportOptions("orders", bad, create_missing_products=True), MANAGER)
    assert report.status == "rejected" and _count(Order) == 0
    groups = report.groups()
    errors = groups[groups["severity"] == "error"]
    assert errors[["code", "count", "first_rows"]].values.tolist() == [["unmapped_status", 4, "2, 4, 5, 6"]]  # row 3 was summed into row 2
    assert errors["column"].tolist() == ["(constant)"]


def test_walk_in_sales_count_in_sales_analytics_and_stay_out_of_customer_analytics(db_url: str) -> None:
    make_product("TS-001-BK-M", "79.00", {"SH": 10})
    create_order(order_input(("TS-001-BK-M", 1), placed_at=dt.datetime(2026, 10, 5, 3)), MANAGER)  # a customer
    _pos()
    summary.refresh()
    f = Filters(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    current = sales.kpis(f).set_index("period").loc["current"]
    assert (current["orders"], current["walk_in_orders"]) == (4, 3)
    by_channel = channels.channel_table(f).set_index("channel_code")
    assert (by_channel.at["POS", "walk_in_orders"], by_channel.at["PHONE", "walk_in_orders"]) == (3, 0)
    with db.transaction() as s:
        scored = s.execute(select(func.count()).select_from(summary.customers.CUSTOMERS)).scalar_one()
    assert scored == 1  # only the named customer is scored (RFM, cohorts, CLV, repeat rate)


def test_walk_in_order_detail_and_slip_work_without_a_customer(db_url: str) -> None:
    _pos()
    order = _orders()["R-1002"]
    detail = order_detail(order.id, MANAGER)
    assert detail.header["customer"] is None and detail.header["number"] == order.number
    assert len(detail.lines) == 1
    assert order.number in pdf_text(render_order_slip(detail, letterhead(), "en", "CNY"))


def test_order_entry_may_record_a_walk_in_sale(db_url: str) -> None:
    make_product("DG-001", "49.00", {"SH": 5})
    data = order_input(("DG-001", 1), channel="POS", customer_name="", phone=None, delivery_method="pickup",
                       walk_in=True)
    result = create_order(data, MANAGER)
    assert result.customer_id is None and _count(Customer) == 0
    with pytest.raises(ValidationError):  # without walk_in a customer is still required
        create_order(order_input(("DG-001", 1), channel="POS", customer_name="", phone=None,
                                 delivery_method="pickup"), MANAGER)


# --- repeated lines and duplicates -----------------------------------------------------------


def test_identical_lines_are_summed_by_default(db_url: str) -> None:
    report = _pos()
    assert _lines("R-1001") == [("PZ-MARG-12", 2, Decimal("136.00")), ("DR-COLA-330", 2, Decimal("12.00"))]
    assert _orders()["R-1001"].total == Decimal("148.00")
    summed = report.issues[report.issues["code"] == "lines_summed"]
    assert summed[["row", "detail", "severity"]].values.tolist() == [[3, "2", "info"]]
    assert "identical to row 2: summed into one line (qty 2)" in summed["reason"].iloc[0]


def test_identical_lines_can_be_kept_as_numbered_lines(db_url: str) -> None:
    _pos(repeated_lines="number")
    assert _lines("R-1001") == [("PZ-MARG-12", 1, Decimal("68.00")), ("PZ-MARG-12", 1, Decimal("68.00")),
                                ("DR-COLA-330", 2, Decimal("12.00"))]
    with db.transaction() as s:
        numbers = s.execute(select(OrderLine.line_no).join(Order, Order.id == OrderLine.order_id)
                            .where(Order.external_ref == "R-1001").order_by(OrderLine.line_no)).scalars().all()
    assert numbers == [1, 2, 3]


def test_the_profile_can_say_number_and_the_option_overrides_it(db_url: str) -> None:
    profile = imports.load_profile(str(POS_PROFILE))
    numbered = imports.profile_from_yaml(imports.profile_yaml(profile) + "lines:\n  repeated: number\n")
    assert numbered.repeated_lines == "number" and "repeated: number" in imports.profile_yaml(numbered)
    imports.run_import([_src(POS)], ImportOptions("orders", numbered, create_missing_products=True,
                                                  repeated_lines="sum"), MANAGER)
    assert [q for _, q, _ in _lines("R-1001")] == [2, 2]
    with pytest.raises(ValidationError):
        imports.profile_from_yaml("name: x\nkind: orders\ncolumns: {external_ref: a}\nlines: {repeated: twice}\n")


def test_a_real_duplicate_names_the_row_it_repeats(db_url: str) -> None:
    make_product("TS-001-BK-M", "79.00", {"SH": 10})
    make_product("BG-001", "39.00", {"SH": 10})
    report = imports.run_import([_src(LOG)], ImportOptions("orders", _log_profile(), channel="WECHAT"), MANAGER)
    assert report.status == "rejected" and _count(Order) == 0
    dup = report.issues[report.issues["code"] == "duplicate_line"]
    assert dup["row"].tolist() == [5] and dup["reason"].tolist() == [
        "row 5 repeats row 4 (same order and line number)"]
    with db.transaction() as s:
        stored = s.execute(select(ImportError_.message).where(ImportError_.batch_id == report.batch_id)).scalars()
        assert "row 5 repeats row 4 (same order and line number)" in list(stored)


# --- grouped errors and dry runs -------------------------------------------------------------


def test_errors_are_grouped_by_cause_with_count_and_first_rows(db_url: str) -> None:
    rows = [f"R-{i},2026-10-03 12:00,Cola,NOPE-1,1,6.00" for i in range(1, 9)] + [
        "R-20,2026-10-03 12:00,Cola,NOPE-2,1,6.00", "R-21,2026-13-03 12:00,Cola,NOPE-2,1,6.00"]
    report = imports.run_import([_csv("pos.csv", "receipt,time,name,sku,qty,price", *rows)],
                                ImportOptions("orders", imports.load_profile(str(POS_PROFILE))), MANAGER)
    groups = report.groups()
    errors = groups[groups["severity"] == "error"]
    assert errors[["code", "value", "count", "first_rows"]].values.tolist() == [
        ["unknown_sku", "NOPE-1", 8, "2, 3, 4, 5, 6, …"],
        ["unknown_sku", "NOPE-2", 2, "10, 11"],
        ["bad_date", "2026-13-03 12:00", 1, "11"],
    ]
    assert errors["rows"].iloc[0] == "2 3 4 5 6 7 8 9"  # every row, for the report file
    assert len(report.issues[report.issues["severity"] == "error"]) == 11  # the per-row detail stays


def test_cli_prints_one_line_per_cause_and_writes_a_grouped_report(db_url: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"R-{i},2026-10-03 12:00,Cola,NOPE-1,1,6.00" for i in range(1, 1206)]
    path = tmp_path / "pos.csv"
    path.write_text("receipt,time,name,sku,qty,price\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    assert main(["import", "orders", str(path), "--profile", str(POS_PROFILE), "--report", str(report)]) == 1
    out = capsys.readouterr().out
    assert "unknown SKU NOPE-1" in out and "1,205 rows (rows 2, 3, 4, 5, 6, …)" in out
    assert out.count("unknown SKU") == 1
    written = pd.read_csv(report, dtype=str)
    assert written["count"].tolist() == ["1205"] and len(written["rows"].iloc[0].split()) == 1205


def test_dry_run_says_what_it_would_import_and_writes_nothing(db_url: str, capsys: pytest.CaptureFixture[str]
                                                               ) -> None:
    make_product("PZ-MARG-12", "68.00")
    make_product("DR-COLA-330", "6.00")  # PZ-HAW-9 is unknown: R-1002 would be refused
    before = (_count(Order), _count(OrderLine), _count(Customer), _count(Product))
    report = _pos(dry_run=True, create_missing_products=False, on_error="quarantine")
    assert report.status == "dry_run"
    assert report.would_import() == {"orders": 2, "lines": 3, "rows": 0, "refused": 1}
    assert report.summary() == "Dry run: would import 2 orders (3 lines), 1 refused; nothing was written."
    assert (_count(Order), _count(OrderLine), _count(Customer), _count(Product)) == before
    assert main(["import", "orders", str(POS), "--profile", str(POS_PROFILE), "--dry-run",
                 "--repeated-lines", "number"]) == 1
    assert "Dry run: would import 2 orders (4 lines), 1 refused" in capsys.readouterr().out


# --- guessing columns by content -------------------------------------------------------------


def test_a_name_column_of_products_is_not_taken_for_the_customer() -> None:
    pos = pd.read_csv(POS, dtype=str)
    guessed = guess_mapping("orders", pos)
    assert guessed.get("product_name") == "name" and "customer_name" not in guessed
    people = pd.DataFrame({"order_id": ["A", "A", "B"], "name": ["王芳", "王芳", "李强"], "sku": ["X-1", "X-2", "X-1"],
                           "qty": ["1", "1", "2"]})
    assert guess_mapping("orders", people)["customer_name"] == "name"  # constant per order, a person
    lines = pd.DataFrame({"order_id": ["A", "A"], "name": ["Pepperoni", "Tiramisu"], "sku": ["P-1", "T-1"]})
    assert guess_mapping("orders", lines).get("customer_name") is None  # differs within one order
    single = pd.DataFrame({"order_id": ["A", "B"], "name": ["Cola 330ml", "Margherita 12 inch"], "sku": ["C", "M"]})
    assert guess_mapping("orders", single).get("product_name") == "name"  # one line per order: reads as products


def test_values_guide_the_guess_for_phones_dates_money_and_skus() -> None:
    sample = pd.DataFrame({"order_id": ["1", "2"], "phone": ["see note", "n/a"], "mobile": ["13800138001", "137 0013 7003"],
                           "date": ["yesterday", "today"], "created_at": ["2026-10-01 10:00", "2026-10-02 11:30"],
                           "price": ["free", "ask"], "unit_price": ["¥68.00", "1,299.50"],
                           "sku": ["Red shirt large", "Blue mug"], "商品编码": ["TS-001-BK-M", "MUG_02"]})
    guessed = guess_mapping("orders", sample)
    assert guessed["phone"] == "mobile" and guessed["placed_at"] == "created_at"
    assert guessed["unit_price"] == "unit_price" and guessed["sku"] == "商品编码"
    customers = pd.read_csv(FIXTURES / "customers-name.csv", dtype=str)
    assert guess_mapping("customers", customers) == {"customer_name": "name", "phone": "phone", "city": "city"}


def test_headers_nobody_listed_are_found_by_unmistakable_values() -> None:
    """A POS export's own words (sold_at, member_phone, contact) still map: by their values."""
    sample = pd.DataFrame({"receipt": ["R1", "R1", "R2"], "sold_at": ["2026-08-30 10:00", "2026-08-30 10:00",
                                                                     "2026-08-31 09:12"],
                           "member_phone": ["13800138001", "13800138001", ""], "contact": ["a@b.cn", "a@b.cn", ""],
                           "till": ["3", "3", "4"], "sku": ["LJ-250", "CUP-QC", "LJ-250"], "qty": ["1", "2", "1"]})
    guessed = guess_mapping("orders", sample)
    assert (guessed["placed_at"], guessed["phone"], guessed["email"]) == ("sold_at", "member_phone", "contact")
    assert "till" not in guessed.values()  # small numbers are not phones
    assert "approved_at" not in guessed  # an optional date is not guessed from values alone


# --- profiles: where they are saved, names, overwrite ----------------------------------------


def test_saved_profile_is_found_by_the_cli_and_overwritten_only_when_confirmed(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    profile = imports.load_profile(str(POS_PROFILE))
    mine = imports.profile_from_yaml(imports.profile_yaml(profile).replace("name: pos-history", "name: my-pos"))
    imports.save_profile(mine, MANAGER, overwrite=False)
    with pytest.raises(Refused) as refused:
        imports.save_profile(mine, MANAGER, overwrite=False)
    assert refused.value.key == "imh.overwrite_needed" and "my-pos" in str(refused.value)
    imports.save_profile(mine, MANAGER, overwrite=True)
    assert imports.load_profile("my-pos").constants == profile.constants
    with pytest.raises(ValidationError) as bad:
        imports.save_profile(imports.profile_from_yaml(imports.profile_yaml(mine).replace("my-pos", "my pos/x")),
                             MANAGER)
    assert bad.value.issues[0].field == "profile.name"
    with pytest.raises(Conflict):
        imports.save_profile(imports.load_profile("generic-orders"), MANAGER)
    assert main(["import", "orders", str(POS), "--profile", "my-pos", "--create-missing-products"]) == 0
    assert "imported" in capsys.readouterr().out and len(_orders()) == 3


# --- costs -----------------------------------------------------------------------------------


def test_products_created_without_a_cost_have_cost_unknown(db_url: str) -> None:
    _pos()
    with db.transaction() as s:
        costs = dict(s.execute(select(Product.sku, Product.unit_cost)).all())
    assert costs == {"PZ-MARG-12": None, "DR-COLA-330": None, "PZ-HAW-9": None}


def test_an_order_file_can_carry_the_cost(db_url: str) -> None:
    profile = imports.profile_from_yaml(imports.profile_yaml(imports.load_profile(str(POS_PROFILE)))
                                        .replace("  unit_price: price\n", "  unit_price: price\n  unit_cost: cost\n"))
    file = _csv("pos.csv", "receipt,time,name,sku,qty,price,cost", "R-1,2026-10-03 12:00,Cola,DR-COLA-330,1,6.00,2.50",
                "R-2,2026-10-03 12:00,Pizza,PZ-1,1,60.00,")
    report = imports.run_import([file], ImportOptions("orders", profile, create_missing_products=True), MANAGER)
    assert report.status == "imported", report.issues
    with db.transaction() as s:
        costs = dict(s.execute(select(Product.sku, Product.unit_cost)).all())
    assert costs == {"DR-COLA-330": Decimal("2.50"), "PZ-1": None}


def test_a_products_import_without_cost_leaves_new_products_cost_unknown(db_url: str) -> None:
    file = _csv("p.csv", "sku,name,unit_price,unit_cost", "A-1,Apple,5.00,2.00", "B-1,Bread,8.00,")
    report = imports.run_import([file], ImportOptions("products", imports.default_profile("products")), MANAGER)
    assert report.status == "imported", report.issues
    with db.transaction() as s:
        assert dict(s.execute(select(Product.sku, Product.unit_cost)).all()) == {"A-1": Decimal("2.00"), "B-1": None}


def test_margins_leave_out_products_with_cost_unknown(db_url: str) -> None:
    known = make_product("KNOWN-1", "100.00", {"SH": 5})  # cost 50.00
    unknown = make_product("UNKNOWN-1", "100.00", {"SH": 5})
    with db.transaction() as s:
        s.execute(update(Product).where(Product.id == unknown).values(unit_cost=None))
    for sku in ("KNOWN-1", "UNKNOWN-1"):
        create_order(order_input((sku, 1), placed_at=dt.datetime(2026, 10, 5, 3)), MANAGER)
    summary.refresh()
    f = Filters(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    cur = sales.kpis(f).set_index("period").loc["current"]
    assert cur["net_sales"] == Decimal("200.00") and cur["uncosted_sales"] == Decimal("100.00")
    assert cur["gross_margin"] == Decimal("50.00") and cur["margin_rate"] == pytest.approx(0.5)  # not 75 %
    skus = product_analytics.sku_performance(f).set_index("sku")
    assert skus.loc["KNOWN-1", "margin_rate"] == pytest.approx(0.5)
    assert skus.loc["UNKNOWN-1", ["cost", "gross_margin", "margin_rate"]].isna().all()
    health = stock_health.stock_health(f)
    overview = stock_health.overview(health, f.days)
    assert overview["cost_unknown"] == 1 and overview["stock_value"] == Decimal("250.00")  # 5 × 50, + nothing
    assert health.set_index("sku").loc["UNKNOWN-1", "stock_value"] is None
    assert known


def test_an_adjustment_of_a_product_with_cost_unknown_waits_for_approval(db_url: str) -> None:
    pid = make_product("UNKNOWN-2", "10.00", {"SH": 5})
    with db.transaction() as s:
        s.execute(update(Product).where(Product.id == pid).values(unit_cost=None))
    result = inventory.adjust_stock("UNKNOWN-2", "SH", -1, "damage", WAREHOUSE)
    assert result.status == "pending"  # its worth cannot be shown to be under the threshold


def test_a_customer_who_bought_only_uncosted_products_has_no_margin(db_url: str) -> None:
    pid = make_product("UNKNOWN-3", "30.00", {"SH": 5})
    with db.transaction() as s:
        s.execute(update(Product).where(Product.id == pid).values(unit_cost=None))
    create_order(order_input(("UNKNOWN-3", 2), placed_at=dt.datetime(2026, 10, 5, 3)), MANAGER)
    summary.refresh()  # the summary sums must not choke on an unknown cost
    top = customer_analytics.top_customers(Filters(dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
    assert top["net_sales"].tolist() == [Decimal("60.00")] and top["gross_margin"].tolist() == [None]
