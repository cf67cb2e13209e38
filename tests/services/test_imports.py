"""The import service on real files: every shipped profile on its sample, bad files that must
leave the database unchanged, dedup and customer identity, quarantine round trip, open vs
historical orders, stock/products/customers imports, and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from core import db
from core.cli import main
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.importing.issues import ImportFileError
from core.models import (
    Alert,
    AuditLog,
    Customer,
    CustomerIdentity,
    DQRun,
    ImportBatch,
    ImportError_,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    StockLevel,
    StockMovement,
    Supplier,
    Warehouse,
)
from core.models.personal import digest
from core.permissions import Actor
from core.services import imports
from core.services.imports import ImportOptions, SourceFile
from tests.factories import MANAGER, SERVICE, WAREHOUSE, make_product

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
BUSINESS = (Order, OrderLine, OrderEvent, Customer, CustomerIdentity, Product, Supplier, StockLevel, StockMovement,
            Alert)
GENERIC_HEADER = "external_ref,placed_at,status,customer_name,phone,province,city,district,address,sku,qty,unit_price"


def _src(path: Path) -> SourceFile:
    return SourceFile(path.name, path.read_bytes())


def _csv(name: str, body: str, header: str = GENERIC_HEADER) -> SourceFile:
    return SourceFile(name, (header + "\n" + body.strip() + "\n").encode("utf-8"))


def run(kind: str, files: list[SourceFile] | SourceFile, profile: str | None = None, actor: Actor = MANAGER,
        **options: object) -> imports.ImportReport:
    files = files if isinstance(files, list) else [files]
    if kind in ("orders", "customers"):
        options.setdefault("channel", "WECHAT")  # for files without a channel column
    opts = ImportOptions(kind, imports.load_profile(profile or f"generic-{kind}"), **options)  # type: ignore[arg-type]
    return imports.run_import(files, opts, actor)


def counts() -> dict[str, int]:
    with db.transaction() as s:
        return {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one() for m in BUSINESS}


def catalogue() -> None:
    """The samples' SKUs with their stock (SH 50, GZ 30), set up directly; importing the same
    files is tested on its own."""
    products = pd.read_csv(SAMPLES / "generic-products.csv", dtype=str, encoding="utf-8-sig")
    for sku, price, barcode in zip(products["sku"], products["unit_price"], products["barcode"], strict=True):
        pid = make_product(sku, price, {"SH": 50, "GZ": 30})
        with db.transaction() as s:
            s.execute(update(Product).where(Product.id == pid).values(barcode=barcode))


def stock_of(sku: str, warehouse: str) -> tuple[int, int]:
    with db.transaction() as s:
        row = s.execute(select(StockLevel.on_hand, StockLevel.reserved)
                        .join(Product, Product.id == StockLevel.product_id)
                        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                        .where(Product.sku == sku, Warehouse.code == warehouse)).one()
    return row.on_hand, row.reserved


def orders_by_ref() -> dict[str, Order]:
    with db.transaction() as s:
        return {o.external_ref: o for o in s.execute(select(Order)).scalars()}


def codes(report: imports.ImportReport, severity: str = "error") -> list[str]:
    return report.issues.loc[report.issues["severity"] == severity, "code"].tolist()


# --- shipped profiles on their samples -----------------------------------------------------


def test_generic_samples_history_keeps_its_dates_open_orders_follow_the_rules(db_url: str) -> None:
    products = run("products", _src(SAMPLES / "generic-products.csv"))
    assert (products.status, products.counts["products_created"], products.counts["suppliers_created"]) == \
        ("imported", 8, 6)
    stock = run("stock", _src(SAMPLES / "generic-stock.csv"))
    assert stock.counts["initial"] == 16
    before = counts()
    report = run("orders", _src(SAMPLES / "generic-orders.csv"))
    assert report.status == "imported" and report.errors == 0, report.issues
    assert {k: report.counts[k] for k in ("orders_created", "historical", "open", "lines", "on_hold")} == \
        {"orders_created": 6, "historical": 3, "open": 3, "lines": 8, "on_hold": 1}
    orders = orders_by_ref()
    done = orders["WX-2026100201"]
    assert done.status == "completed" and str(done.placed_at) == "2026-10-02 02:15:00"  # Shanghai → UTC
    assert str(done.shipped_at) == "2026-10-02 10:00:00" and done.total == pytest.approx(227)
    assert done.number.startswith("SO20261002-")  # numbered on the day it was placed
    assert orders["WX-2026110303"].status == "cancelled"
    assert orders["WX-2026112404"].status == "confirmed" and orders["WX-2026112406"].status == "on_hold"
    # history did not touch stock; the open orders reserved theirs
    assert counts()["stock_movements"] == before["stock_movements"]
    assert stock_of("TS-001-BK-M", "SH") == (50, 0)
    assert stock_of("HM-001", "SH") == (50, 1)
    assert stock_of("SH-002-WH-40", "GZ") == (30, 1)  # 广东 → 广州仓 by the allocation rules
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(AuditLog).where(AuditLog.action == "order.create")) \
            .scalar_one() == 3  # each open order was created (and audited) by create_order
        assert s.execute(select(AuditLog.action).where(AuditLog.entity == "import_batch")).scalars().all() == \
            ["import.products", "import.stock", "import.orders"]
        batch = s.get(ImportBatch, report.batch_id)
        assert (batch.status, batch.rows, batch.accepted, batch.rejected) == ("imported", 8, 8, 0)
        assert batch.sha256 == _src(SAMPLES / "generic-orders.csv").sha256
        dq = s.execute(select(DQRun).where(DQRun.target == f"import_batch:{report.batch_id}")).scalar_one()
        assert dq.suite == "import.orders" and dq.success


def test_tmall_gbk_export(db_url: str) -> None:
    catalogue()
    report = run("orders", _src(SAMPLES / "tmall-orders.csv"), "tmall")
    assert report.status == "imported" and report.errors == 0, report.issues
    assert codes(report, "info") == ["skipped_status"]  # 等待买家付款: not an order yet
    assert codes(report, "warning") == ["masked_phone"]
    assert report.counts["historical"] == 3 and report.counts["open"] == 1
    orders = orders_by_ref()
    shipped = orders["3388012600102"]
    assert (shipped.status, shipped.ship_phone, shipped.ship_province, shipped.ship_city, shipped.ship_district) == \
        ("shipped", None, "浙江", "杭州市", "余杭区")
    assert orders["3388012600104"].status == "confirmed" and orders["3388012600105"].status == "cancelled"
    with db.transaction() as s:
        lines = s.execute(select(OrderLine.unit_price, OrderLine.qty, OrderLine.discount, OrderLine.line_total)
                          .where(OrderLine.order_id == orders["3388012600101"].id).order_by(OrderLine.line_no)).all()
        assert [tuple(float(v) for v in ln) for ln in lines] == [(79, 2, 8, 150), (129, 1, 1, 128)]
        # one customer for the buyer's two orders, linked to the Tmall account
        wangfang = s.execute(select(CustomerIdentity.customer_id).where(
            CustomerIdentity.external_id == "tb_wangfang88")).scalar_one()
        assert orders["3388012600101"].customer_id == orders["3388012600104"].customer_id == wangfang


def test_jd_xlsx_export(db_url: str) -> None:
    catalogue()
    report = run("orders", _src(SAMPLES / "jd-orders.xlsx"), "jd")
    assert report.status == "imported" and report.errors == 0, report.issues
    orders = orders_by_ref()
    assert orders["283746501122"].payment_method == "platform" and orders["283746507777"].payment_method == "cod"
    assert (orders["283746501122"].ship_province, orders["283746501122"].ship_city) == ("北京", "北京市")
    assert orders["283746509988"].status == "confirmed" and orders["283746509988"].shipping_fee == 6


def test_the_same_person_across_channels_is_one_customer(db_url: str) -> None:
    catalogue()
    people = run("customers", _src(SAMPLES / "generic-customers.csv"))
    assert people.counts["customers_created"] == 3
    tmall = run("orders", _src(SAMPLES / "tmall-orders.csv"), "tmall")
    jd = run("orders", _src(SAMPLES / "jd-orders.xlsx"), "jd")
    # 王芳 bought on Tmall (account known from the customer list) and on JD (new account, same phone)
    assert "13800138001" in jd.merges["phone"].tolist()
    assert jd.merges.set_index("phone").loc["13800138001", "matched_by"] == "phone"
    with db.transaction() as s:
        wangfang = s.execute(select(Customer).where(Customer.phone_bidx == digest("phone", "13800138001"))
                             ).scalars().all()
        assert len(wangfang) == 1
        accounts = set(s.execute(select(CustomerIdentity.external_id)
                                 .where(CustomerIdentity.customer_id == wangfang[0].id)).scalars())
    assert accounts == {"wangfang88", "tb_wangfang88", "jd_13800138001"}
    assert tmall.counts["customers_matched"] >= 1


def test_reimporting_a_file_creates_nothing_and_says_so(db_url: str) -> None:
    catalogue()
    first = run("orders", _src(SAMPLES / "generic-orders.csv"))
    before = counts()
    again = run("orders", _src(SAMPLES / "generic-orders.csv"))
    assert counts() == before
    assert (again.status, again.accepted, again.skipped) == ("imported", 0, 8)
    assert codes(again, "info").count("already_imported") == 6
    numbers = again.issues.loc[again.issues["code"] == "already_imported", "detail"]
    assert set(numbers) == {o.number for o in orders_by_ref().values()}
    with db.transaction() as s:
        shas = s.execute(select(ImportBatch.sha256).where(ImportBatch.id.in_([first.batch_id, again.batch_id]))) \
            .scalars().all()
    assert len(set(shas)) == 1


# --- bad files -----------------------------------------------------------------------------


GOOD_ROW = "B-1,2026-11-01 10:00,completed,王芳,13800138001,上海,上海市,浦东新区,张杨路1号,TS-001-BK-M,1,79.00"


@pytest.mark.parametrize("source, code", [
    (SourceFile("empty.csv", b""), "empty"),
    (SourceFile("latin1.csv", (GENERIC_HEADER + "\nB-1,2026-11-01 10:00,completed,João Araújo,13800138001,"
                               "上海,上海市,浦东新区,Rua São João,TS-001-BK-M,1,79.00\n").encode("utf-8")
                .replace("João Araújo".encode(), "João Araújo".encode("latin-1"))), "unknown_encoding"),
    (SourceFile("header.csv", (GENERIC_HEADER + "\n").encode()), "no_rows"),
    (_csv("nosku.csv", "B-1,2026-11-01 10:00,completed,王芳,138,上海,上海市,浦东新区,路,1,79.00",
          GENERIC_HEADER.replace(",sku", "")), "missing_columns"),
])
def test_unreadable_files_write_nothing_but_the_attempt(db_url: str, source: SourceFile, code: str) -> None:
    catalogue()
    before = counts()
    with pytest.raises(ImportFileError) as caught:
        run("orders", source)
    assert caught.value.code == code
    assert counts() == before
    with db.transaction() as s:
        batch = s.execute(select(ImportBatch).order_by(ImportBatch.id.desc())).scalars().first()
    assert (batch.status, batch.file_name, batch.sha256) == ("failed", source.name, source.sha256)


@pytest.mark.parametrize("body, code, row, field", [
    (GOOD_ROW + "\nB-2,2026-13-45 99:00,completed,张伟,13900139002,上海,上海市,浦东新区,路1号,TS-001-BK-M,1,79.00",
     "bad_date", 3, "placed_at"),
    (GOOD_ROW + "\nB-2,2026-11-01 10:00,completed,张伟,13900139002,上海,上海市,浦东新区,路1号,TS-001-BK-M,-2,79.00",
     "qty_positive", 3, "qty"),
    (GOOD_ROW + "\nB-1,2026-11-02 12:00,completed,张伟,13900139002,上海,上海市,浦东新区,路1号,HM-001,1,129.00",
     "order_conflict", 3, "external_ref"),  # two different orders sharing one reference
    (GOOD_ROW + "\nB-2,2026-11-01 10:00,completed,张伟,13900139002,上海,上海市,浦东新区,路1号,NOPE-9,1,10.00",
     "unknown_sku", 3, "sku"),
    (GOOD_ROW + "\nB-2,2026-11-01 10:00,finished,张伟,13900139002,上海,上海市,浦东新区,路1号,HM-001,1,129.00",
     "unmapped_status", 3, "status"),
    (GOOD_ROW + "\nB-2,2036-11-01 10:00,completed,张伟,13900139002,上海,上海市,浦东新区,路1号,HM-001,1,129.00",
     "future_date", 3, "placed_at"),
])
def test_bad_rows_reject_the_whole_file_and_name_row_column_reason(db_url: str, body: str, code: str, row: int,
                                                                    field: str) -> None:
    catalogue()
    before = counts()
    report = run("orders", _csv("bad.csv", body))
    assert report.status == "rejected" and report.accepted == 0
    assert counts() == before
    hit = report.issues[report.issues["code"] == code]
    assert set(codes(report)) == {code}, report.issues
    assert (int(hit["row"].iloc[0]), hit["field"].iloc[0]) == (row, field)
    assert hit["reason"].iloc[0]  # an English sentence for the CLI and the stored error
    with db.transaction() as s:
        stored = s.execute(select(ImportError_).where(ImportError_.batch_id == report.batch_id)).scalars().all()
    assert any(e.raw["code"] == code and e.row == row for e in stored)


def test_a_50_mb_file_is_refused_before_it_is_parsed(db_url: str) -> None:
    catalogue()
    before = counts()
    line = (GOOD_ROW + "\n").encode()
    big = SourceFile("huge.csv", (GENERIC_HEADER + "\n").encode() + line * (50 * 1024 * 1024 // len(line) + 1))
    assert len(big.data) >= 50 * 1024 * 1024
    with pytest.raises(ImportFileError) as caught:
        run("orders", big)
    assert caught.value.code == "too_large" and "50.0 MB" in str(caught.value)
    assert counts() == before


def test_a_dry_run_reports_and_writes_nothing(db_url: str) -> None:
    catalogue()
    before = counts()
    report = run("orders", _src(SAMPLES / "generic-orders.csv"), dry_run=True)
    assert (report.status, report.accepted, report.errors) == ("dry_run", 8, 0)
    assert counts() == before


# --- quarantine ------------------------------------------------------------------------------


def test_quarantine_round_trip(db_url: str) -> None:
    catalogue()
    body = "\n".join([
        GOOD_ROW,
        "B-2,2026-11-02 10:00,delivered,张伟,13900139002,上海,上海市,浦东新区,路1号,HM-001,1,129.00",
        "B-2,2026-11-02 10:00,delivered,张伟,13900139002,上海,上海市,浦东新区,路1号,TYPO-SKU,2,10.00",
        "B-3,2026-11-03 10:00,completed,李强,13700137003,广东,广州市,天河区,路2号,DG-001,abc,49.00",
        "B-4,2026-11-04 10:00,completed,赵磊,13600136004,北京,北京市,朝阳区,路3号,DG-001,2,49.00",
    ])
    report = run("orders", _csv("day.csv", body), on_error="quarantine")
    assert report.status == "partial" and set(orders_by_ref()) == {"B-1", "B-4"}
    assert (report.accepted, report.rejected) == (2, 3)
    fix = imports.quarantine_rows(report.batch_id, MANAGER)
    assert fix["external_ref"].tolist() == ["B-2", "B-2", "B-3"]  # whole orders, with the line that was fine
    assert "TYPO-SKU" in fix["errors"].iloc[1] and fix["errors"].iloc[0]  # each row says why
    fix.loc[fix["sku"] == "TYPO-SKU", "sku"] = "BT-001-RD"
    fix.loc[fix["qty"] == "abc", "qty"] = "1"
    buffer = io.BytesIO()
    fix.to_csv(buffer, index=False)  # the errors column rides along and is ignored
    again = run("orders", SourceFile("day-fixed.csv", buffer.getvalue()))
    assert again.status == "imported" and again.errors == 0
    assert set(orders_by_ref()) == {"B-1", "B-2", "B-3", "B-4"}
    assert orders_by_ref()["B-2"].total == pytest.approx(129 + 2 * 10)


# --- open orders, history and stock ------------------------------------------------------------


def test_open_orders_backorder_and_review_like_entered_ones(db_url: str) -> None:
    catalogue()
    body = "\n".join([
        "O-1,2026-11-24 10:00,open,王芳,13800138001,上海,上海市,浦东新区,张杨路1号,DG-001,80,49.00",  # SH has 50
        "O-2,2026-11-24 11:00,open,张伟,13900139002,上海,上海市,浦东新区,路1号,HD-001-GY-L,30,199.00",  # > 5000
    ])
    report = run("orders", _csv("open.csv", body))
    assert report.counts["backordered"] == 1 and report.counts["pending_review"] == 1
    orders = orders_by_ref()
    assert orders["O-1"].status == "backordered" and orders["O-2"].status == "pending_review"
    assert stock_of("DG-001", "SH") == (50, 0) and stock_of("HD-001-GY-L", "SH") == (50, 30)
    with db.transaction() as s:
        assert s.execute(select(Alert.entity_id).where(Alert.kind == "backorder")).scalars().all() == \
            [orders["O-1"].number]
    restock = run("stock", _csv("count.csv", "DG-001,SH,120", "sku,warehouse,qty"))
    assert restock.counts["counted"] == 1 and restock.counts["backorders_confirmed"] == 1
    assert orders_by_ref()["O-1"].status == "confirmed" and stock_of("DG-001", "SH") == (120, 80)


def test_history_only_moves_stock_when_asked(db_url: str) -> None:
    catalogue()
    body = "H-1,2026-11-01 10:00,completed,王芳,13800138001,上海,上海市,浦东新区,张杨路1号,DG-001,5,49.00\n" \
           "H-2,2026-11-02 10:00,delivered,张伟,13900139002,上海,上海市,浦东新区,路1号,DG-001,60,49.00"
    report = run("orders", _csv("hist.csv", body), on_error="quarantine", deduct_stock=True)
    assert report.status == "partial"
    refused = report.issues[report.issues["code"] == "refused"]
    assert refused["order"].tolist() == ["H-2"] and "DG-001 @ SH: need 60, available 45" in refused["detail"].iloc[0]
    assert stock_of("DG-001", "SH") == (45, 0)
    with db.transaction() as s:
        moved = s.execute(select(StockMovement.kind, StockMovement.qty_delta, StockMovement.reason)
                          .where(StockMovement.kind == "shipment")).all()
    assert [(k, q) for k, q, _ in moved] == [("shipment", -5)] and moved[0][2] == orders_by_ref()["H-1"].number
    with pytest.raises(PermissionDenied):
        run("orders", _csv("hist.csv", body), actor=SERVICE, deduct_stock=True)


def test_stock_counts_go_through_the_ledger(db_url: str) -> None:
    catalogue()
    make_product("NEW-1", "10.00")
    report = run("stock", _csv("count.csv", "TS-001-BK-M,SH,42,盘点\nNEW-1,BJ,7,\nHM-001,GZ,30,", "sku,warehouse,qty,reason"))
    assert (report.counts["counted"], report.counts["initial"], report.counts["unchanged"]) == (1, 1, 1)
    with db.transaction() as s:
        ledger = s.execute(select(func.sum(StockMovement.qty_delta)).join(Product).where(
            Product.sku == "TS-001-BK-M", StockMovement.warehouse_id == select(Warehouse.id).where(
                Warehouse.code == "SH").scalar_subquery())).scalar_one()
        kinds = s.execute(select(StockMovement.kind, StockMovement.qty_delta, StockMovement.reason)
                          .where(StockMovement.ref_id == report.batch_id)).all()
    assert ledger == 42 == stock_of("TS-001-BK-M", "SH")[0]
    assert sorted(kinds) == [("count", -8, "盘点"), ("initial", 7, f"import #{report.batch_id}")]
    bad = run("stock", _csv("bad.csv", "TS-001-BK-M,XX,1\nNOPE,SH,1\nHM-001,SH,1.5\nHM-001,SH,2", "sku,warehouse,qty"))
    assert bad.status == "rejected"
    assert sorted(codes(bad)) == sorted(["unknown_value", "unknown_sku_stock", "whole_number", "duplicate_row",
                                         "duplicate_row"])


def test_a_count_below_open_reservations_is_refused(db_url: str) -> None:
    catalogue()
    run("orders", _csv("open.csv", "O-1,2026-11-24 10:00,open,王芳,13800138001,上海,上海市,浦东新区,张杨路1号,"
                                   "DG-001,10,49.00"))
    report = run("stock", _csv("count.csv", "DG-001,SH,4\nHM-001,SH,49", "sku,warehouse,qty"), on_error="quarantine")
    assert report.status == "partial"
    hit = report.issues[report.issues["code"] == "count_below_reserved"]
    assert (hit["row"].tolist(), hit["value"].tolist(), hit["detail"].tolist()) == ([2], ["4"], ["10"])
    assert stock_of("DG-001", "SH") == (50, 10) and stock_of("HM-001", "SH") == (49, 0)


def test_products_are_upserted_and_changes_audited(db_url: str) -> None:
    run("products", _src(SAMPLES / "generic-products.csv"))
    report = run("products", _csv("prices.csv", "DG-001,59.00,\nNEW-9,15.00,新品", "sku,unit_price,name"))
    assert (report.counts["products_updated"], report.counts["products_created"]) == (1, 1)
    with db.transaction() as s:
        entry = s.execute(select(AuditLog).where(AuditLog.action == "product.import_update")).scalar_one()
        assert entry.entity_id == "DG-001" and entry.before == {"unit_price": "49.00"}
        assert s.execute(select(Product.category).where(Product.sku == "NEW-9")).scalar_one() == "未分类"
    bad = run("products", _csv("bad.csv", "X-1,,\nX-2,5.00,\nDG-001,-1,\nX-3,1,6901234500011",
                               "sku,unit_price,barcode"))
    assert sorted(set(codes(bad))) == ["barcode_taken", "negative", "new_product_field"]


def test_permissions_are_checked_by_the_service(db_url: str) -> None:
    catalogue()
    with pytest.raises(PermissionDenied):
        run("stock", _src(SAMPLES / "generic-stock.csv"), actor=SERVICE)  # stock.import: office only
    with pytest.raises(PermissionDenied):
        run("orders", _src(SAMPLES / "generic-orders.csv"), actor=WAREHOUSE)
    with pytest.raises(PermissionDenied):
        run("orders", _src(SAMPLES / "generic-orders.csv"), actor=SERVICE, create_missing_products=True)
    assert run("orders", _src(SAMPLES / "generic-orders.csv"), actor=SERVICE).status == "imported"


# --- profiles ----------------------------------------------------------------------------------


def test_saved_profiles_are_found_by_name_and_shipped_names_are_reserved(db_url: str, tmp_path: Path) -> None:
    draft = imports.load_profile("tmall")
    with pytest.raises(Conflict):
        imports.save_profile(draft, MANAGER)
    mine = imports.profile_from_yaml(imports.profile_yaml(draft).replace("name: tmall", "name: 我的天猫"))
    imports.save_profile(mine, MANAGER)
    assert imports.load_profile("我的天猫") == mine
    listed = imports.list_profiles(MANAGER, "orders")
    assert listed.set_index("name").loc["我的天猫", "source"] == "saved"
    path = tmp_path / "x.yaml"
    path.write_text(imports.profile_yaml(mine), encoding="utf-8")
    assert imports.load_profile(str(path)) == mine
    with pytest.raises(NotFound):
        imports.load_profile("nope")
    with pytest.raises(ValidationError):
        imports.save_profile(imports.Profile(name="", kind="orders"), MANAGER)
    imports.delete_profile("我的天猫", MANAGER)
    with pytest.raises(NotFound):
        imports.load_profile("我的天猫")


# --- command line ------------------------------------------------------------------------------


def test_cli_import_and_exit_codes(db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["import", "products", str(SAMPLES / "generic-products.csv")]) == 0
    assert main(["import", "stock", str(SAMPLES / "generic-stock.csv")]) == 0
    assert main(["import", "orders", str(SAMPLES / "tmall-orders.csv"), "--profile", "tmall", "--dry-run"]) == 0
    assert "Dry run: would import" in capsys.readouterr().out
    assert main(["import", "orders", str(SAMPLES / "tmall-orders.csv"), "--profile", "tmall"]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(GENERIC_HEADER + "\n" + GOOD_ROW.replace(",1,79.00", ",0,79.00") + "\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    assert main(["import", "orders", str(bad), "--channel", "WECHAT", "--report", str(report)]) == 1
    out = capsys.readouterr().out
    assert "rejected" in out and "error   · qty [qty]: must be greater than 0: 0 — 1 row (row 2)" in out
    written = pd.read_csv(report)
    assert written.loc[written["severity"] == "error", "code"].tolist() == ["qty_positive"]
    assert main(["import", "orders", str(tmp_path / "missing.csv")]) == 2
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["import", "orders", str(empty)]) == 2
    assert "the file is empty" in capsys.readouterr().err


def test_cli_dq_run_names_a_ledger_discrepancy(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    catalogue()
    assert main(["dq", "run"]) == 0
    assert "all checks passed" in capsys.readouterr().out
    with db.transaction() as s:  # planted: on_hand changed behind the ledger's back
        s.execute(update(StockLevel).where(
            StockLevel.product_id == select(Product.id).where(Product.sku == "HM-001").scalar_subquery(),
            StockLevel.warehouse_id == select(Warehouse.id).where(Warehouse.code == "GZ").scalar_subquery(),
        ).values(on_hand=StockLevel.on_hand + 3))
    assert main(["dq", "run"]) == 1
    out = capsys.readouterr().out
    assert "FAIL db.stock_levels" in out and "✗ ledger" in out
    assert "sku=HM-001" in out and "warehouse=GZ" in out and "ledger_sum=30" in out and "on_hand=33" in out


