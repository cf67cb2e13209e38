"""Services that hand orders to roles without ``customer.pii`` mask phones and addresses at
the source, so no page, export or slip built on them can leak them."""

from __future__ import annotations

from core.config import letterhead
from core.documents.order_slip import render_order_slip
from core.permissions import Actor
from core.services.orders import create_order, order_detail, search_orders
from tests.factories import BUYER, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input
from tests.pdf_text import pdf_text

PHONE = "13812345678"


def _order() -> int:
    make_product("TEA-1", "25.00", {"SH": 5})
    return create_order(order_input(("TEA-1", 1), phone=PHONE, address="世纪大道 100 号 3 栋"), CLERK).id


def test_search_masks_phone_for_warehouse_and_buyer(db_url: str) -> None:
    _order()
    for actor in (WAREHOUSE, BUYER):
        found = search_orders(actor, PHONE)  # searching by the full number still works
        assert found["phone"].tolist() == ["138****5678"]
    for actor in (CLERK, SERVICE, MANAGER, Actor("root", "admin")):
        assert search_orders(actor, PHONE)["phone"].tolist() == [PHONE]


def test_order_detail_masks_ship_fields(db_url: str) -> None:
    order_id = _order()
    masked = order_detail(order_id, WAREHOUSE).header
    assert masked["ship_phone"] == "138****5678" and masked["ship_address"] == "世纪****"
    assert masked["ship_city"] == "上海市" and masked["ship_district"] == "浦东新区"  # routing needs these
    full = order_detail(order_id, SERVICE).header
    assert full["ship_phone"] == PHONE and full["ship_address"] == "世纪大道 100 号 3 栋"
    slip = pdf_text(render_order_slip(order_detail(order_id, WAREHOUSE), letterhead(), "zh", "CNY"))
    assert PHONE not in slip and "100 号" not in slip
