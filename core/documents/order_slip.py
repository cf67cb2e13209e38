"""The order slip (what the customer ordered and paid, for the office or the parcel) and the
packing slip (what goes into the parcel: no prices, a box to tick per line).

Both mask the customer's phone (138****8000, :func:`core.pii.mask_phone`) because slips travel
with parcels, whatever the printing role may see on screen."""

from __future__ import annotations

from typing import Any

from core import pii
from core.config import Letterhead
from core.documents import layout
from core.i18n import format_money, label, translate
from core.services.orders import OrderDetail
from core.timeutil import format_time

MONEY_COLUMNS = ("unit_price", "discount", "line_total")


def ship_address(header: dict[str, Any]) -> str:
    """Province city district street, skipping blanks."""
    parts = (header.get(k) for k in ("ship_province", "ship_city", "ship_district", "ship_address"))
    return " ".join(str(p) for p in parts if p)


def _facts(h: dict[str, Any], lang: str, *, with_payment: bool) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = [
        ("field.channel", h.get("channel")),
        ("field.placed_at", format_time(h.get("placed_at"))),
        ("field.customer", h.get("ship_name") or h.get("customer")),
        ("field.phone", pii.mask_phone(h.get("ship_phone"))),
        ("field.address", ship_address(h)),
        ("field.delivery_method", label("delivery", h.get("delivery_method"), lang)),
        ("field.warehouse", h.get("warehouse")),
        ("field.note", h.get("note")),
    ]
    if with_payment:
        pairs.insert(6, ("field.payment", label("payment", h.get("payment_method"), lang) + " · "
                         + label("payment_status", h.get("payment_status"), lang)))
    return [(translate(k, lang), v) for k, v in pairs]


def render_order_slip(detail: OrderDetail, letterhead: Letterhead, lang: str, currency: str) -> bytes:
    """The order slip as a PDF in ``lang``: lines with prices, discounts and the totals."""
    h = detail.header
    width = layout.content_width()
    title = translate("slip.title", lang)
    columns = ("line_no", "sku", "name", "qty", *MONEY_COLUMNS)
    rows: list[list[Any]] = [
        [ln.line_no, ln.sku, ln.name, ln.qty, *(format_money(getattr(ln, c), currency, lang) for c in MONEY_COLUMNS)]
        for ln in detail.lines.itertuples(index=False)]
    rows += [["", "", "", "", "", translate(f"field.{k}", lang), format_money(h.get(k), currency, lang)]
             for k in ("subtotal", "discount", "shipping_fee", "total")]
    story = [*layout.heading(letterhead, title, str(h.get("number")), width),
             layout.facts([(translate("field.status", lang), label("status", h.get("status"), lang)),
                           *_facts(h, lang, with_payment=True)], width),
             layout.lines_table([translate(f"field.{c}", lang) for c in columns], rows,
                                [w * width for w in (0.06, 0.16, 0.32, 0.08, 0.13, 0.12, 0.13)], numeric=(3, 4, 5, 6)),
             layout.text(translate("slip.thanks", lang), 8)]
    return layout.render(story, title=f"{title} {h.get('number')}")


def render_packing_slip(detail: OrderDetail, letterhead: Letterhead, lang: str) -> bytes:
    """The packing slip as a PDF in ``lang``: what goes into the parcel, without prices."""
    h = detail.header
    width = layout.content_width()
    title = translate("packslip.title", lang)
    rows = [["☐", ln.sku, ln.name, ln.qty] for ln in detail.lines.itertuples(index=False)]
    units = int(detail.lines["qty"].sum()) if not detail.lines.empty else 0
    story = [*layout.heading(letterhead, title, str(h.get("number")), width),
             layout.facts(_facts(h, lang, with_payment=False), width),
             layout.lines_table(["", translate("field.sku", lang), translate("field.name", lang),
                                 translate("field.qty", lang)], rows,
                                [w * width for w in (0.06, 0.24, 0.55, 0.15)], numeric=(3,), size=11),
             layout.text(translate("packslip.units", lang, units=units, lines=len(rows)), 9)]
    return layout.render(story, title=f"{title} {h.get('number')}")
