"""Printable order slip (one self-contained HTML page) built from an OrderDetail.

HTML rather than PDF: every browser prints it, Chinese text needs no embedded font (the CSS
lists the usual CJK system fonts), and nothing extra has to be installed. Values are escaped;
the customer's phone is masked (138****8000) because slips travel with parcels.
"""

from __future__ import annotations

from html import escape
from typing import Any

from core import config
from core.i18n import format_money, label, translate
from core.services.orders import OrderDetail
from core.timeutil import format_time

_CSS = """
body { font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC",
       "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; margin: 24px; color: #111; }
h1 { font-size: 20px; margin: 0 0 4px; } .muted { color: #555; font-size: 12px; }
table { width: 100%; border-collapse: collapse; margin-top: 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #ccc; padding: 4px 6px; text-align: left; }
td.num, th.num { text-align: right; } .totals td { border: none; }
.grid { display: grid; grid-template-columns: 8em 1fr; gap: 2px 8px; margin-top: 12px; font-size: 13px; }
@media print { .no-print { display: none; } body { margin: 8mm; } }
"""


def mask_phone(phone: str | None) -> str:
    """Keep the first 3 and last 4 digits of numbers long enough to identify someone."""
    if not phone:
        return ""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if len(phone) >= 8 else phone


def ship_address(header: dict[str, Any]) -> str:
    """Province city district street, skipping blanks."""
    parts = (header.get(k) for k in ("ship_province", "ship_city", "ship_district", "ship_address"))
    return " ".join(p for p in parts if p)


def render_slip(detail: OrderDetail, lang: str) -> str:
    """The order slip as a complete HTML document in ``lang``."""
    h = detail.header
    currency = config.currency()

    def tr(key: str, **params: Any) -> str:
        return escape(translate(key, lang, **params))

    def money(value: Any) -> str:
        return escape(format_money(value, currency))

    facts = [
        ("field.channel", h.get("channel")),
        ("field.placed_at", format_time(h.get("placed_at"))),
        ("field.customer", h.get("ship_name") or h.get("customer")),
        ("field.phone", mask_phone(h.get("ship_phone"))),
        ("field.address", ship_address(h)),
        ("field.delivery_method", label("delivery", h.get("delivery_method"), lang)),
        ("field.payment", label("payment", h.get("payment_method"), lang) + " · "
         + label("payment_status", h.get("payment_status"), lang)),
        ("field.warehouse", h.get("warehouse")),
        ("field.note", h.get("note")),
    ]
    grid = "".join(f"<div>{tr(k)}</div><div>{escape(str(v or ''))}</div>" for k, v in facts)
    rows = "".join(
        f"<tr><td>{ln.line_no}</td><td>{escape(str(ln.sku))}</td><td>{escape(str(ln.name))}</td>"
        f"<td class='num'>{ln.qty}</td><td class='num'>{money(ln.unit_price)}</td>"
        f"<td class='num'>{money(ln.discount)}</td><td class='num'>{money(ln.line_total)}</td></tr>"
        for ln in detail.lines.itertuples(index=False)
    )
    heads = "".join(
        f"<th{' class=num' if k in ('qty', 'unit_price', 'discount', 'line_total') else ''}>{tr('field.' + k)}</th>"
        for k in ("line_no", "sku", "name", "qty", "unit_price", "discount", "line_total")
    )
    totals = "".join(
        f"<tr><td colspan='6' class='num'>{tr('field.' + k)}</td><td class='num'>{money(h.get(k))}</td></tr>"
        for k in ("subtotal", "discount", "shipping_fee", "total")
    )
    number = escape(str(h.get("number")))
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{tr('slip.title')} {number}</title><style>{_CSS}</style></head>
<body>
<h1>{tr('slip.title')} · {number}</h1>
<div class="muted">{tr('field.status')}: {escape(label('status', h.get('status'), lang))}</div>
<div class="grid">{grid}</div>
<table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody><tbody class="totals">{totals}</tbody></table>
<p class="muted">{tr('slip.thanks')}</p>
<button class="no-print" onclick="window.print()">{tr('slip.print')}</button>
</body></html>
"""
