"""Catalog reads (search, barcode, availability, reference lists) and basket templates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from core import db
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, Product
from core.services import catalog
from core.services.orders import create_order
from tests.factories import CLERK, WAREHOUSE, make_product, order_input


@pytest.fixture
def products(db_url: str) -> dict[str, int]:
    return {
        "TEA-GREEN": make_product("TEA-GREEN", "25.00", {"SH": 10, "GZ": 5}),
        "TEA-BLACK": make_product("TEA-BLACK", "30.00", {"SH": 2}),
        "CUP-1": make_product("CUP-1", "8.00"),
    }


def _barcode(product_id: int) -> str:
    with db.transaction() as s:
        return s.execute(select(Product.barcode).where(Product.id == product_id)).scalar_one()


def _deactivate(product_id: int) -> None:
    with db.transaction() as s:
        s.execute(update(Product).where(Product.id == product_id).values(active=False))


def _audit_actions() -> list[str]:
    with db.transaction() as s:
        return list(s.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars())


def test_search_by_name_sku_and_barcode(products: dict[str, int]) -> None:
    assert sorted(catalog.search_products("tea", CLERK)["sku"]) == ["TEA-BLACK", "TEA-GREEN"]  # any case
    assert catalog.search_products("商品 CUP", CLERK)["sku"].tolist() == ["CUP-1"]  # name
    code = _barcode(products["TEA-BLACK"])
    assert catalog.search_products(code, CLERK)["sku"].tolist() == ["TEA-BLACK"]
    assert catalog.search_products(code[:-1], CLERK).empty  # barcode is exact, not "contains"
    assert catalog.search_products("   ", CLERK).empty
    assert catalog.search_products("%", CLERK).empty  # LIKE wildcards are literal
    assert list(catalog.search_products("tea", CLERK).columns) == catalog.PRODUCT_COLUMNS


def test_exact_sku_comes_first(db_url: str) -> None:
    make_product("AB", "1.00")
    make_product("AAB", "1.00")
    assert catalog.search_products("AB", CLERK)["sku"].tolist() == ["AB", "AAB"]


def test_available_is_on_hand_minus_reserved_over_warehouses(products: dict[str, int]) -> None:
    create_order(order_input(("TEA-GREEN", 3)), CLERK)  # 上海 → SH reserves 3
    row = catalog.search_products("TEA-GREEN", CLERK).iloc[0]
    assert row["available"] == 10 + 5 - 3
    assert catalog.search_products("CUP-1", CLERK).iloc[0]["available"] == 0  # never stocked
    stock = catalog.availability(["TEA-GREEN", "TEA-BLACK"], CLERK)
    assert stock.to_dict("records") == [
        {"sku": "TEA-BLACK", "warehouse": "SH", "on_hand": 2, "reserved": 0, "available": 2},
        {"sku": "TEA-GREEN", "warehouse": "GZ", "on_hand": 5, "reserved": 0, "available": 5},
        {"sku": "TEA-GREEN", "warehouse": "SH", "on_hand": 10, "reserved": 3, "available": 7},
    ]
    assert catalog.availability([], CLERK).empty


def test_inactive_products_are_hidden(products: dict[str, int]) -> None:
    _deactivate(products["TEA-BLACK"])
    assert catalog.search_products("tea", CLERK)["sku"].tolist() == ["TEA-GREEN"]
    assert catalog.product_by_barcode(_barcode(products["TEA-BLACK"]), CLERK) is None
    assert catalog.products_by_sku(["TEA-BLACK", "CUP-1"], CLERK)["sku"].tolist() == ["CUP-1"]


def test_product_by_barcode(products: dict[str, int]) -> None:
    found = catalog.product_by_barcode(f" {_barcode(products['TEA-GREEN'])} ", CLERK)
    assert found is not None and (found.sku, found.available, str(found.unit_price)) == ("TEA-GREEN", 15, "25.00")
    assert catalog.product_by_barcode("nope", CLERK) is None
    assert catalog.product_by_barcode("", CLERK) is None


def test_reference_lists(db_url: str) -> None:
    channels = catalog.list_channels()
    assert {"POS", "TMALL", "PHONE"} <= set(channels["code"])
    assert list(catalog.list_warehouses()["code"]) == ["BJ", "CD", "GZ", "SH"]


def test_templates_save_list_replace_delete(products: dict[str, int]) -> None:
    saved = catalog.save_basket_template(" 礼盒A ", [("TEA-GREEN", 2), ("CUP-1", 1)], CLERK)
    assert (saved.name, saved.lines, saved.updated_by) == ("礼盒A", (("TEA-GREEN", 2), ("CUP-1", 1)), "clerk1")
    catalog.save_basket_template("办公室", [("TEA-BLACK", 6)], CLERK)
    catalog.save_basket_template("礼盒A", [("TEA-GREEN", 4)], CLERK)  # same name replaces
    templates = catalog.list_basket_templates(CLERK)
    assert [(t.name, t.lines) for t in templates] == [("办公室", (("TEA-BLACK", 6),)), ("礼盒A", (("TEA-GREEN", 4),))]
    catalog.delete_basket_template("办公室", CLERK)
    assert [t.name for t in catalog.list_basket_templates(CLERK)] == ["礼盒A"]
    assert _audit_actions() == ["basket_template.save"] * 3 + ["basket_template.delete"]


def test_template_validation_writes_nothing(products: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as err:
        catalog.save_basket_template("", [("NOPE", 1), ("CUP-1", 0)], CLERK)
    assert {(i.field, i.row) for i in err.value.issues} == {("name", None), ("sku", 1), ("qty", 2)}
    with pytest.raises(ValidationError):
        catalog.save_basket_template("empty", [], CLERK)
    with pytest.raises(ValidationError):
        catalog.save_basket_template("x" * 65, [("CUP-1", 1)], CLERK)
    assert catalog.list_basket_templates(CLERK) == []
    assert _audit_actions() == []


def test_template_permissions_and_missing(products: dict[str, int]) -> None:
    with pytest.raises(PermissionDenied):
        catalog.save_basket_template("a", [("CUP-1", 1)], WAREHOUSE)
    with pytest.raises(PermissionDenied):
        catalog.list_basket_templates(WAREHOUSE)
    with pytest.raises(NotFound):
        catalog.delete_basket_template("never saved", CLERK)
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(AuditLog)).scalar_one() == 0
