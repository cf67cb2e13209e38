"""The printable slip: complete, escaped, masked phone, local time, both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from core.services.orders import OrderDetail
from core.slips import mask_phone, render_slip


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
    html = render_slip(_detail(), "zh")
    for text in ("订单小票", "SO20260311-000001", "门店POS", "2026-03-10 23:59", "139****9000", "浦东新区 张江路 1 号",
                 "绿茶", "¥75.00", "¥80.00", "微信支付", "已付款", "快递", 'charset="utf-8"'):
        assert text in html, text
    assert "13900139000" not in html
    assert "李四 &lt;b&gt;" in html and "<b>" not in html  # data is escaped


def test_slip_in_english() -> None:
    html = render_slip(_detail(), "en")
    assert "Order slip" in html and "WeChat Pay" in html and "Shipping fee" in html


def test_mask_phone() -> None:
    assert mask_phone("13900139000") == "139****9000"
    assert mask_phone("12345") == "12345"
    assert mask_phone(None) == ""
