"""Printable documents as real PDFs: each one is rendered from what its service returns, on the
shop's letterhead, and its text read back (pypdf) in Chinese and English — the shop's name,
the document's number, the lines, the masked phone — with the Chinese font embedded."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from core import config, db
from core.documents import fonts
from core.documents.order_slip import render_order_slip, render_packing_slip
from core.documents.pick_list import render_pick_list
from core.documents.purchase_order import render_purchase_order
from core.documents.rma_label import render_rma_label
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog
from core.services import aftersales as rma
from core.services import orders, rma_views
from core.services.aftersales import RMALine, RMARequest
from core.services.fulfillment import create_pick_lists, pick_list
from core.services.purchasing import POLineInput, create_purchase_order, po_detail
from core.services.shop_setup import SetupRequest, set_shop_logo, set_up_shop
from tests.aftersales_data import delivered_order
from tests.factories import ADMIN, BUYER, CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input
from tests.pdf_text import pdf_text
from tests.planning_data import make_supplier, warehouse_id

SHOP = "茶语小铺"


def _png(width: int = 120, height: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def shop(db_url: str) -> config.Letterhead:
    set_up_shop(SetupRequest(shop_name=SHOP, shop_address="上海市浦东新区世纪大道 1 号", shop_phone="021-5555 0100"),
                ADMIN)
    set_shop_logo(_png(), ADMIN)
    return config.letterhead()


def _text(pdf: bytes) -> str:
    return pdf_text(pdf)


def test_the_letterhead_comes_from_shop_setup(shop: config.Letterhead) -> None:
    assert (shop.name, shop.address, shop.phone) == (SHOP, "上海市浦东新区世纪大道 1 号", "021-5555 0100")
    assert shop.logo == _png()


def test_order_and_packing_slip(shop: config.Letterhead) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    made = orders.create_order(order_input(("TEA-1", 2)), CLERK)
    detail = orders.order_detail(made.id, CLERK)
    slip = render_order_slip(detail, shop, "zh", "CNY")
    text = (_text(slip))
    for expected in (SHOP, "订单小票", made.number, "商品TEA-1", "TEA-1", "138****8000", "¥50.00", "世纪大道"):
        assert expected in text, expected
    assert "13800138000" not in text  # a slip travels with the parcel: the phone is masked
    assert b"/FontFile2" in slip if fonts.embedded() else True  # the TrueType CJK font is in the file
    assert b"/Subtype /Image" in slip  # the logo
    packing = (_text(render_packing_slip(detail, shop, "en")))
    assert "Packingslip" in packing and made.number in packing and "¥" not in packing  # no prices
    assert "Lines:1·units:2" in packing


def test_pick_list_in_walk_order(shop: config.Letterhead) -> None:
    make_product("A", "10.00", {"SH": 10}), make_product("B", "10.00", {"SH": 10})
    one = orders.create_order(order_input(("A", 2), ("B", 1)), CLERK)
    two = orders.create_order(order_input(("A", 3)), CLERK)
    [made] = create_pick_lists([one.id, two.id], WAREHOUSE)
    text = (_text(render_pick_list(pick_list(made.id, WAREHOUSE), shop, "zh")))
    assert "拣货单" in text and made.number in text and one.number in text and two.number in text
    assert "2个订单，共6件" in text


def test_purchase_order(shop: config.Letterhead) -> None:
    tea = make_product("TEA", "20.00", {"SH": 0})
    supplier = make_supplier("茶具厂", 5, 1, tea)
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 12)], BUYER, note="春茶")
    text = (_text(render_purchase_order(po_detail(po.id, BUYER), shop, "en", "CNY")))
    assert "Purchaseorder" in text and po.number in text and "茶具厂" in text and "春茶" in text
    assert "¥120.00" in text and SHOP in text  # 12 × 10.00, the supplier's cost


def test_rma_label_has_the_rma_barcode_and_the_shop_as_addressee(shop: config.Letterhead) -> None:
    make_product("A", "50.00", {"SH": 10})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(RMARequest(order.id, "return", "quality", (RMALine(1, 1),)), SERVICE)
    detail = rma_views.rma_detail(opened.id, SERVICE)
    pdf = render_rma_label(detail, shop, "zh")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1 and round(float(reader.pages[0].mediabox.width) / 72 * 25.4) == 100
    text = (_text(pdf))
    assert opened.number in text and order.number in text and SHOP in text and "质量问题" in text


def test_the_logo_is_bounded_and_checked_and_nothing_is_stored_on_refusal(db_url: str) -> None:
    refusals = {
        b"x" * (512 * 1024 + 1): "setup.issue_logo_size",
        b"GIF89a not a logo": "setup.issue_logo_format",
        _png(2400, 10): "setup.issue_logo_pixels",
    }
    for data, code in refusals.items():
        with pytest.raises(ValidationError) as caught:
            set_shop_logo(data, ADMIN)
        assert [i.message for i in caught.value.issues] == [code]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    with pytest.raises(ValidationError):
        set_shop_logo(gif.getvalue(), ADMIN)  # a real image, but not PNG or JPEG
    assert config.letterhead().logo is None
    with pytest.raises(PermissionDenied):
        set_shop_logo(_png(), MANAGER)
    set_shop_logo(_png(), ADMIN)
    set_shop_logo(None, ADMIN)
    assert config.letterhead().logo is None
    with db.transaction(readonly=True) as s:
        assert s.execute(select(AuditLog.action).where(AuditLog.action == "shop.logo")).scalars().all() == [
            "shop.logo", "shop.logo"]


def test_address_and_phone_are_checked(db_url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        set_up_shop(SetupRequest(shop_phone="call me", shop_address="x" * 201), ADMIN)
    assert sorted(i.message for i in caught.value.issues) == ["issue.too_long", "setup.issue_phone"]
    assert config.letterhead().phone == ""


def test_without_a_truetype_cjk_font_documents_fall_back_to_the_viewers_font(
        shop: config.Letterhead, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fonts.FONT_ENV, "/nonexistent/font.ttf")
    assert fonts.font_name() == fonts.FALLBACK_NAME and not fonts.embedded()
    make_product("A", "10.00", {"SH": 5})
    made = orders.create_order(order_input(("A", 1)), CLERK)
    pdf = render_order_slip(orders.order_detail(made.id, CLERK), shop, "zh", "CNY")
    assert b"/FontFile2" not in pdf and "订单小票" in _text(pdf)  # still real, searchable text
