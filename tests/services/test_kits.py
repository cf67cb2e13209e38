"""Kits and bundles (组合装): the definition's bounds, availability derived from components,
and a kit order reserving, shipping, cancelling and returning its components; revenue once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.analytics.demand import demand_history
from core.errors import InsufficientStock, NotFound, Refused, ValidationError
from core.models import Order, OrderKitLine, OrderLine
from core.permissions import Actor
from core.services import aftersales as rma
from core.services import catalog, channel_stock, inventory, kits, orders, product_master
from core.services.aftersales import Inspection, RMALine, RMARequest
from tests.aftersales_data import delivered_order, returned_qty, stock_of
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input

D = Decimal


@pytest.fixture
def gift_box(db_url: str) -> dict[str, int]:
    """GIFT = 2 × CUP (10.00) + 1 × TEA (30.00), sold at 45.00; CUP 10 and TEA 4 in SH."""
    ids = {"CUP": make_product("CUP", "10.00", {"SH": 10}), "TEA": make_product("TEA", "30.00", {"SH": 4}),
           "GIFT": make_product("GIFT", "45.00")}
    kits.save_kit("GIFT", [("CUP", 2), ("TEA", 1)], MANAGER)
    return ids


def _lines(order_id: int) -> list[tuple[str, int, int, D, int | None]]:
    from core.models import Product
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Product.sku, OrderLine.qty, OrderLine.qty_reserved, OrderLine.line_total, OrderLine.kit_line_id)
            .join(Product, Product.id == OrderLine.product_id).where(OrderLine.order_id == order_id)
            .order_by(OrderLine.line_no))]


def test_a_kit_is_defined_within_bounds(gift_box: dict[str, int]) -> None:
    assert kits.list_kits(MANAGER)[["kit_sku", "component_sku", "qty"]].values.tolist() == [
        ["GIFT", "CUP", 2], ["GIFT", "TEA", 1]]
    make_product("BOX", "1.00")
    for components, field, code in [
        ([], "components", "kits.no_components"),
        ([("CUP", 1000)], "qty", "issue.at_most"),
        ([("CUP", 0)], "qty", "issue.positive"),
        ([("CUP", 1), ("CUP", 2)], "sku", "kits.duplicate_component"),
        ([("BOX", 1)], "sku", "kits.contains_itself"),
        ([("GIFT", 1)], "sku", "kits.component_is_kit"),  # no kit in a kit
        ([("NOPE", 1)], "sku", "issue.unknown_sku"),
        ([(f"S{i}", 1) for i in range(51)], "components", "issue.at_most"),
    ]:
        with pytest.raises(ValidationError) as err:
            kits.save_kit("BOX", components, MANAGER)
        assert (err.value.issues[0].field, err.value.issues[0].message) == (field, code), components
    with pytest.raises(Refused) as refused:
        kits.save_kit("CUP", [("TEA", 1)], MANAGER)  # CUP is a component of GIFT (and holds stock)
    assert refused.value.key == "kits.kit_is_component"
    make_product("STOCKED", "1.00", {"SH": 1})
    with pytest.raises(Refused) as refused:
        kits.save_kit("STOCKED", [("TEA", 1)], MANAGER)
    assert refused.value.key == "kits.kit_has_stock"
    with pytest.raises(NotFound):
        kits.save_kit("GHOST", [("TEA", 1)], MANAGER)
    assert kits.list_kits(MANAGER, "BOX").empty  # refused saves wrote nothing
    with pytest.raises(Refused) as refused:  # a kit holds no stock of its own
        inventory.receive_adhoc("SH", [("GIFT", 5)], MANAGER)
    assert refused.value.key == "kits.no_stock_of_its_own"


def test_availability_is_derived_from_components_per_warehouse(gift_box: dict[str, int]) -> None:
    # CUP 10 // 2 = 5, TEA 4 // 1 = 4 → 4 kits in SH; GZ stocks neither → none
    assert kits.kit_availability(MANAGER).values.tolist() == [["GIFT", "SH", 4]]
    assert catalog.availability(["GIFT"], CLERK).values.tolist() == [["GIFT", "SH", 0, 0, 4]]
    assert int(catalog.products_by_sku(["GIFT"], CLERK).iloc[0]["available"]) == 4
    orders.create_order(order_input(("CUP", 3)), CLERK)  # CUP free 7 → 3 kits
    assert kits.kit_availability(MANAGER)["available"].tolist() == [3]
    channel_stock.save_policy(channel_stock.PolicyInput("PHONE", 100, 0, None), MANAGER)
    figures = channel_stock.channel_ats(MANAGER, skus=["GIFT"], channel="PHONE")
    assert figures["available"].tolist() == [3]


def test_a_kit_order_reserves_its_components_and_keeps_the_kit_line(gift_box: dict[str, int]) -> None:
    r = orders.create_order(order_input(("GIFT", 2), ("TEA", 1)), CLERK)
    assert r.total == D("120.00")  # 2 × 45 + 30: the kit's price, once
    # the 90.00 of the kits split by list value 2×10 : 30 → 36.00 CUP, 54.00 TEA
    kit_line = _lines(r.id)[0][4]
    assert _lines(r.id) == [("CUP", 4, 4, D("36.00"), kit_line), ("TEA", 2, 2, D("54.00"), kit_line),
                            ("TEA", 1, 1, D("30.00"), None)]
    with db.transaction() as s:
        kit = s.execute(select(OrderKitLine.qty, OrderKitLine.unit_price, OrderKitLine.line_total)).one()
        assert tuple(kit) == (2, D("45.00"), D("90.00"))
        assert s.execute(select(func.sum(OrderLine.line_total)).where(OrderLine.order_id == r.id)).scalar_one() \
            == s.execute(select(Order.subtotal).where(Order.id == r.id)).scalar_one()
    assert stock_of(gift_box["CUP"]) == (10, 4) and stock_of(gift_box["TEA"]) == (4, 3)
    detail = orders.order_detail(r.id, MANAGER)
    assert detail.kits[["line_no", "sku", "qty", "line_total"]].values.tolist() == [[1, "GIFT", 2, D("90.00")]]
    assert detail.lines[["line_no", "sku", "kit_line"]].astype(object).where(detail.lines.notna(), None)\
        .values.tolist() == [[2, "CUP", 1], [3, "TEA", 1], [4, "TEA", None]]
    with pytest.raises(InsufficientStock) as short:  # TEA: 1 free, 2 needed → named, nothing written
        orders.create_order(order_input(("GIFT", 2)), CLERK)
    assert [s.sku for s in short.value.shortages] == ["TEA"]
    assert stock_of(gift_box["CUP"]) == (10, 4)
    product_master.set_product_active(gift_box["TEA"], False, MANAGER)
    with pytest.raises(ValidationError) as err:  # a discontinued component stops the kit, named
        orders.create_order(order_input(("GIFT", 1)), CLERK)
    assert [(i.message, i.row, i.params) for i in err.value.issues] == [
        ("kits.component_discontinued", 1, {"kit": "GIFT", "sku": "TEA"})]
    orders.transition(r.id, "cancelled", MANAGER, note="changed mind")  # releases the components
    assert stock_of(gift_box["CUP"]) == (10, 0) and stock_of(gift_box["TEA"]) == (4, 0)


def test_a_kit_defined_or_removed_counts_from_the_very_next_order(db_url: str) -> None:
    """Orders learn which products are kits from the cached reference snapshot; saving or
    removing a kit must refresh it, or the next order would sell the kit's own (absent) stock."""
    make_product("CUP", "10.00", {"SH": 10})
    make_product("GIFT", "45.00", {"SH": 3})  # stocked before it becomes a kit: sold as itself
    first = orders.create_order(order_input(("GIFT", 1)), CLERK)  # the snapshot is cached now
    assert [ln[0] for ln in _lines(first.id)] == ["GIFT"]
    orders.transition(first.id, "cancelled", MANAGER, note="test")
    inventory.adjust_stock("GIFT", "SH", -3, "damage", MANAGER)  # a kit holds no stock
    kits.save_kit("GIFT", [("CUP", 2)], MANAGER)
    second = orders.create_order(order_input(("GIFT", 1)), CLERK)
    assert [ln[0] for ln in _lines(second.id)] == ["CUP"]
    kits.remove_kit("GIFT", MANAGER)
    with pytest.raises(InsufficientStock):  # a plain product again, with no stock
        orders.create_order(order_input(("GIFT", 1)), CLERK)


def test_a_kit_ships_and_returns_as_components(gift_box: dict[str, int]) -> None:
    r = delivered_order(("GIFT", 1))  # picked and packed by scanning CUP, CUP, TEA
    assert stock_of(gift_box["CUP"]) == (8, 0) and stock_of(gift_box["TEA"]) == (3, 0)
    # line 1 is the kit line (what the customer bought); its components are lines 2 and 3
    opened = rma.open_rma(RMARequest(r.id, "return", "size", (RMALine(2, 2), RMALine(3, 1))), SERVICE)
    rma.transition_rma(opened.id, "approved", Actor("cs2", "service"))
    rma.transition_rma(opened.id, "received", WAREHOUSE)
    rma.inspect_rma(opened.id, [Inspection(2, 2, "SH"), Inspection(3, 1, "SH")], WAREHOUSE)
    assert stock_of(gift_box["CUP"]) == (10, 0) and stock_of(gift_box["TEA"]) == (4, 0)  # restocked
    assert rma.refund_rma(opened.id, ADMIN).amount == D("45.00")  # the kit's price, not the list prices


def test_returning_the_kit_line_returns_its_components(gift_box: dict[str, int]) -> None:
    r = delivered_order(("GIFT", 2))
    opened = rma.open_rma(RMARequest(r.id, "return", "size", (RMALine(1, 1),)), SERVICE)  # one of two boxes
    assert returned_qty(r.id) == [2, 1]  # CUP 2 of 4, TEA 1 of 2 claimed
    rma.transition_rma(opened.id, "approved", Actor("cs2", "service"))
    rma.transition_rma(opened.id, "received", WAREHOUSE)
    rma.inspect_rma(opened.id, [Inspection(2, 2, "SH"), Inspection(3, 1, "SH")], WAREHOUSE)
    assert stock_of(gift_box["CUP"]) == (8, 0) and stock_of(gift_box["TEA"]) == (3, 0)
    assert rma.refund_rma(opened.id, ADMIN).amount == D("45.00")


def test_kit_sales_and_component_demand_are_reported_apart(gift_box: dict[str, int]) -> None:
    orders.create_order(order_input(("GIFT", 2), ("CUP", 1)), CLERK)
    sales = kits.kit_sales(MANAGER, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert sales.values.tolist() == [["kit", "GIFT", "商品 GIFT", 2, D("90.00")],
                                     ["component", "CUP", "商品 CUP", 4, D("36.00")],
                                     ["component", "TEA", "商品 TEA", 2, D("54.00")]]
    assert kits.kit_sales(MANAGER, dt.date(2026, 10, 1), dt.date(2026, 10, 31)).empty


def test_forecast_demand_is_component_demand(gift_box: dict[str, int]) -> None:
    orders.create_order(order_input(("GIFT", 2), ("CUP", 1)), CLERK)
    day = dt.date(2026, 11, 25)
    history = demand_history(day - dt.timedelta(days=1), day + dt.timedelta(days=1))
    by_product = dict(zip(history["product_id"], history["qty"], strict=True))
    assert by_product == {gift_box["CUP"]: 5, gift_box["TEA"]: 2}  # the kit itself has no demand of its own
