"""Products by hand (core.services.product_master): create, edit, barcodes, deactivate, delete;
every refusal names its field and writes nothing; every barcode finds its product everywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core import db
from core.analytics.inventory import stock_overview
from core.errors import NotFound, PermissionDenied, Refused, ValidationError
from core.models import AuditLog, Product, ProductBarcode, Supplier
from core.services import catalog, fulfillment, inventory, product_master
from core.services.orders import create_order
from core.services.product_master import ProductDraft
from tests.factories import BUYER, CLERK, MANAGER, WAREHOUSE, make_product, order_input


@pytest.fixture
def supplier(db_url: str) -> str:
    with db.transaction() as s:
        s.add(Supplier(name="杭州茶厂", lead_time_days=5, moq=10))
    return "杭州茶厂"


def _draft(**kw: object) -> ProductDraft:
    base: dict[str, object] = dict(sku="TEA-001", name="龙井 250g", unit_price="88.00", unit_cost="41.50",
                                   category="茶叶", brand="西湖", barcodes="6901234567892, SHOP-0001",
                                   attributes={"size": "250g", "color": ""}, pack_size="12", lead_time_days="7",
                                   weight_kg="0.275")
    base.update(kw)
    return ProductDraft(**base)  # type: ignore[arg-type]


def _counts() -> tuple[int, int, int]:
    with db.transaction() as s:
        return (s.execute(select(func.count()).select_from(Product)).scalar_one(),
                s.execute(select(func.count()).select_from(ProductBarcode)).scalar_one(),
                s.execute(select(func.count()).select_from(AuditLog)).scalar_one())


def _issues(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {i.field: i.message for i in exc.value.issues}


def test_create_stores_every_field_and_audits(supplier: str) -> None:
    rec = product_master.create_product(_draft(supplier=supplier, sku="  TEA-001 "), BUYER)
    assert rec.sku == "TEA-001"  # trimmed
    assert rec.barcodes == ("6901234567892", "SHOP-0001")  # primary first
    assert rec.unit_price == Decimal("88.00") and rec.unit_cost == Decimal("41.50")
    assert rec.attributes == (("size", "250g"),)  # blank pair dropped
    assert (rec.supplier, rec.pack_size, rec.lead_time_days, rec.weight_kg) == (supplier, 12, 7, Decimal("0.275"))
    assert rec.active and not rec.in_use
    with db.transaction() as s:
        assert s.execute(select(Product.barcode).where(Product.id == rec.id)).scalar_one() == "6901234567892"
        row = s.execute(select(AuditLog).where(AuditLog.action == "product.create")).scalar_one()
    assert row.actor == BUYER.username and row.after["barcodes"] == ["6901234567892", "SHOP-0001"]


def test_any_barcode_finds_the_product_for_order_entry_search_and_inventory(db_url: str) -> None:
    rec = product_master.create_product(_draft(), BUYER)
    inventory.receive_adhoc("SH", [("TEA-001", 1)], WAREHOUSE)  # a stock row, so the Inventory page lists it
    for code in rec.barcodes:
        assert stock_overview(query=code)["sku"].tolist() == ["TEA-001"]
        found = catalog.product_by_barcode(code, CLERK)
        assert found is not None and found.sku == "TEA-001" and found.barcode == rec.barcodes[0]
        assert catalog.search_products(code, CLERK)["sku"].tolist() == ["TEA-001"]
        assert product_master.list_products(MANAGER, code)["sku"].tolist() == ["TEA-001"]


def test_pack_bench_accepts_a_secondary_barcode(db_url: str) -> None:
    pid = make_product("SOAP", "10.00", {"SH": 5})
    rec = product_master.product_record(pid, MANAGER)
    product_master.update_product(pid, _draft(sku="SOAP", barcodes=[*rec.barcodes, "SOAP-LABEL"], unit_cost="5.00"),
                                  MANAGER)
    order = create_order(order_input(("SOAP", 2)), CLERK)
    assert order.status == "confirmed"
    first = fulfillment.scan_item(order.id, "SOAP-LABEL", WAREHOUSE)  # the shop's own label
    assert not first.packed
    assert fulfillment.scan_item(order.id, rec.barcodes[0], WAREHOUSE).packed  # the maker's EAN


def test_edit_changes_fields_and_barcodes_and_audits_only_the_change(db_url: str) -> None:
    rec = product_master.create_product(_draft(), BUYER)
    after = product_master.update_product(rec.id, _draft(unit_price="90.00", barcodes="SHOP-0001\nNEW-2"), MANAGER)
    assert after.unit_price == Decimal("90.00") and after.barcodes == ("SHOP-0001", "NEW-2")
    assert catalog.product_by_barcode("6901234567892", CLERK) is None  # removed code no longer matches
    assert catalog.product_by_barcode("NEW-2", CLERK).sku == "TEA-001"
    with db.transaction() as s:
        row = s.execute(select(AuditLog).where(AuditLog.action == "product.update")).scalar_one()
    assert set(row.after) == {"unit_price", "barcodes"} and row.before["unit_price"] == "88.00"
    unchanged = _counts()
    product_master.update_product(rec.id, _draft(unit_price="90.00", barcodes="SHOP-0001, NEW-2"), MANAGER)
    assert _counts() == unchanged  # nothing changed → no audit row


def test_bad_input_names_every_field_and_writes_nothing(db_url: str) -> None:
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        product_master.create_product(_draft(
            sku="TEA 001", name="", unit_price="12.345", unit_cost="-1", pack_size="0", lead_time_days="1.5",
            weight_kg="abc", barcodes="A1, A1, bad!", supplier="nobody", attributes=[("", "x")],
            brand="b" * 65), BUYER)
    assert _issues(exc) == {
        "sku": "mdp.sku_chars", "name": "issue.required", "unit_price": "mdp.decimals", "unit_cost": "issue.negative",
        "pack_size": "mdp.between", "lead_time_days": "issue.whole_number", "weight_kg": "issue.not_a_number",
        "barcodes": "mdp.barcode_chars", "supplier": "mdp.supplier_unknown", "attributes": "mdp.attribute_key",
        "brand": "issue.too_long"}
    assert [i.message for i in exc.value.issues if i.field == "barcodes"] == ["mdp.barcode_twice", "mdp.barcode_chars"]
    assert _counts() == before


@pytest.mark.parametrize(("field", "value", "code"), [
    ("unit_price", "1000000.01", "issue.at_most"),
    ("unit_price", "", "issue.required"),
    ("unit_price", 1.1, "issue.not_a_number"),  # a float cannot say 1.10 exactly
    ("unit_price", "NaN", "issue.not_a_number"),
    ("pack_size", "10001", "mdp.between"),
    ("sku", "S" * 65, "issue.too_long"),
    ("sku", "   ", "issue.required"),
    ("barcodes", "1" * 33, "issue.too_long"),
    ("barcodes", ",".join(f"C{i}" for i in range(11)), "mdp.too_many"),
])
def test_bounds(db_url: str, field: str, value: object, code: str) -> None:
    with pytest.raises(ValidationError) as exc:
        product_master.create_product(_draft(**{field: value}), BUYER)
    assert _issues(exc) == {field: code}


def test_an_inactive_supplier_is_refused(supplier: str) -> None:
    with db.transaction() as s:
        s.execute(update(Supplier).where(Supplier.name == supplier).values(active=False))
    assert product_master.supplier_names(BUYER) == []
    with pytest.raises(ValidationError) as exc:
        product_master.create_product(_draft(supplier=supplier), BUYER)
    assert _issues(exc) == {"supplier": "mdp.supplier_unknown"}


def test_cost_may_be_unknown_when_the_column_allows_it(db_url: str) -> None:
    if product_master.COST_OPTIONAL:
        assert product_master.create_product(_draft(unit_cost=""), BUYER).unit_cost is None
    else:
        with pytest.raises(ValidationError) as exc:
            product_master.create_product(_draft(unit_cost=""), BUYER)
        assert _issues(exc) == {"unit_cost": "issue.required"}


def test_sku_and_barcodes_are_unique_and_the_refusal_names_the_holder(db_url: str) -> None:
    product_master.create_product(_draft(), BUYER)
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        product_master.create_product(_draft(name="另一个", barcodes="X-1, SHOP-0001"), BUYER)
    issues = {i.field: i for i in exc.value.issues}
    assert issues["sku"].message == "mdp.sku_taken" and issues["sku"].params["name"] == "龙井 250g"
    assert issues["barcodes"].message == "mdp.barcode_taken"
    assert issues["barcodes"].params == {"code": "SHOP-0001", "sku": "TEA-001"}
    assert "TEA-001" in str(exc.value)  # the English text for the CLI names the holder too
    assert _counts() == before


def test_barcode_held_only_in_the_primary_column_is_taken_too(db_url: str) -> None:
    pid = make_product("OLD", "1.00")
    code = product_master.product_record(pid, MANAGER).barcodes[0]
    with pytest.raises(ValidationError) as exc:
        product_master.create_product(_draft(barcodes=code), BUYER)
    assert exc.value.issues[0].params == {"code": code, "sku": "OLD"}


def test_sku_can_be_corrected_until_the_product_is_used(db_url: str) -> None:
    rec = product_master.create_product(_draft(sku="TEA-01"), BUYER)
    rec = product_master.update_product(rec.id, _draft(sku="TEA-001"), BUYER)
    assert rec.sku == "TEA-001"
    used = make_product("USED", "5.00", {"SH": 3})
    with pytest.raises(ValidationError) as exc:
        product_master.update_product(used, _draft(sku="USED-2", barcodes=""), BUYER)
    assert _issues(exc) == {"sku": "mdp.sku_fixed"}


def test_used_products_are_deactivated_never_deleted(db_url: str) -> None:
    used = make_product("USED", "5.00", {"SH": 3})
    before = _counts()
    with pytest.raises(Refused) as exc:
        product_master.delete_product(used, MANAGER)
    assert exc.value.key == "mdp.product_in_use" and _counts() == before
    rec = product_master.set_product_active(used, False, MANAGER)
    assert not rec.active and rec.in_use
    with pytest.raises(ValidationError) as refused:  # order entry refuses a discontinued product
        create_order(order_input(("USED", 1)), CLERK)
    assert (refused.value.issues[0].message, refused.value.issues[0].params) == ("issue.discontinued", {"sku": "USED"})
    assert product_master.set_product_active(used, True, MANAGER).active


def test_unused_product_can_be_deleted_with_its_barcodes(db_url: str) -> None:
    rec = product_master.create_product(_draft(), BUYER)
    product_master.delete_product(rec.id, MANAGER)
    products, codes, _ = _counts()
    assert (products, codes) == (0, 0)
    with pytest.raises(NotFound):
        product_master.product_record(rec.id, MANAGER)


def test_list_is_the_full_table_with_barcodes_and_attributes(supplier: str) -> None:
    product_master.create_product(_draft(supplier=supplier), BUYER)
    make_product("ZZ", "1.00")
    frame = product_master.list_products(MANAGER)
    assert list(frame.columns) == product_master.LIST_COLUMNS
    assert frame["sku"].tolist() == ["TEA-001", "ZZ"]
    row = frame.iloc[0]
    assert row["barcodes"] == "6901234567892, SHOP-0001" and row["attributes"] == "size=250g"
    assert row["supplier"] == supplier
    assert product_master.list_products(MANAGER, "龙井")["sku"].tolist() == ["TEA-001"]
    assert product_master.list_products(MANAGER, "%").empty


@pytest.mark.parametrize("call", [
    lambda: product_master.create_product(_draft(), CLERK),
    lambda: product_master.list_products(WAREHOUSE),
    lambda: product_master.set_product_active(1, False, CLERK),
])
def test_only_office_and_buyer_maintain_products(db_url: str, call: object) -> None:
    with pytest.raises(PermissionDenied):
        call()  # type: ignore[operator]


def test_receiving_and_stock_adjustments_take_any_barcode_for_the_sku(db_url: str) -> None:
    rec = product_master.create_product(_draft(), BUYER)
    receipt = inventory.receive_adhoc("SH", [("SHOP-0001", 4)], WAREHOUSE, note="found in the back")
    assert receipt.units == 4
    with pytest.raises(ValidationError) as exc:  # a barcode and the SKU of one product: listed twice
        inventory.receive_adhoc("SH", [("TEA-001", 1), ("6901234567892", 1)], WAREHOUSE)
    assert exc.value.issues[0].row == 2 and exc.value.issues[0].message == "inv_issue.listed_twice"
    adjusted = inventory.adjust_stock("6901234567892", "SH", -1, "damage", WAREHOUSE)
    assert adjusted.sku == rec.sku and adjusted.status == "posted"
    assert catalog.availability(["TEA-001"], CLERK)["on_hand"].tolist() == [3]


def _import_products(body: str) -> object:
    from core.services import imports

    source = imports.SourceFile("products.csv", ("sku,unit_price,barcode,name\n" + body + "\n").encode("utf-8"))
    options = imports.ImportOptions("products", imports.load_profile("generic-products"), on_error="quarantine")
    return imports.run_import([source], options, MANAGER)


def test_product_import_shares_the_barcode_register_and_the_bounds(db_url: str) -> None:
    product_master.create_product(_draft(), BUYER)
    report = _import_products("X-1,5.00,SHOP-0001,taken\nX-2,2000000.00,,too dear\nX-3,5.00,X3-CODE,fine")
    rows = report.issues.dropna(subset=["row"])  # (the file lacks optional columns: reported without a row)
    assert rows.set_index("row")["code"].to_dict() == {2: "barcode_taken", 3: "rb_too_large"}  # a secondary barcode is taken too
    assert catalog.product_by_barcode("X3-CODE", CLERK).sku == "X-3"  # a new product's barcode is registered
    _import_products("X-3,5.00,X3-NEW,fine")  # the import changes the primary barcode
    assert catalog.product_by_barcode("X3-CODE", CLERK) is None
    with db.transaction() as s:
        x3 = s.execute(select(Product.id).where(Product.sku == "X-3")).scalar_one()
    assert product_master.product_record(x3, MANAGER).barcodes == ("X3-NEW",)
