"""The order slip PDF: complete, user text taken literally, masked phone, local time, both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from core.config import Letterhead
from core.documents.order_slip import render_order_slip
from core.services.orders import OrderDetail
from tests.pdf_text import pdf_text

SHOP = Letterhead("茶语小铺", "上海市浦东新区世纪大道 1 号", "021-5555 0100")


def _detail() -> OrderDetail:
    header = {
        "number": "SO20260311-000001", "status": "confirmed", "channel": "门店POS", "customer": "李四",
        "ship_name": "李四 <b>", "ship_phone": "13900139000", "ship_province": "上海", "ship_city": "上海市",
        "ship_district": "浦东新区", "ship_address": "张江路 1 号", "placed_at": dt.datetime(2026, 3, 10, 15, 59),
        "payment_method": "wechat_pay", "payment_status": "paid", "delivery_method": "express",
        "warehouse": "SH", "note": None, "subtotal": Decimal("75.00"), "discount": Decimal("5.00"),
        "shipping_fee": Decimal("10.00"), "total": Decimal("80.00"),
    }
    lines = pd.DataFrame([(1, "TEA-1", "绿茶", 3, Decimal("25.00"), Decimal("0.00"), Decimal("75.00"))],
                         columns=["line_no", "sku", "name", "qty", "unit_price", "discount", "line_total"])
    return OrderDetail(header, lines, pd.DataFrame(), ())


def test_slip_contains_the_order_in_chinese() -> None:
    text = pdf_text(render_order_slip(_detail(), SHOP, "zh", "CNY"))
    for expected in ("茶语小铺", "订单小票", "SO20260311-000001", "门店POS", "2026-03-1023:59", "139****9000",
                     "浦东新区张江路1号", "绿茶", "¥75.00", "¥80.00", "微信支付", "已付款", "快递"):
        assert expected in text, expected
    assert "13900139000" not in text
    assert "李四<b>" in text  # user text is printed as typed, never read as markup


def test_slip_in_english() -> None:
    text = pdf_text(render_order_slip(_detail(), SHOP, "en", "CNY"))
    assert "Orderslip" in text and "WeChatPay" in text and "Shippingfee" in text
