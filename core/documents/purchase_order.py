"""The purchase order as a PDF, to send to the supplier: who orders what, delivered where and
when, at what cost."""

from __future__ import annotations

from typing import Any

from core.config import Letterhead
from core.documents import layout
from core.i18n import format_money, label, translate
from core.locales.planning import PO_STATUS
from core.services.purchasing import PODetail
from core.timeutil import format_time


def render_purchase_order(po: PODetail, letterhead: Letterhead, lang: str, currency: str) -> bytes:
    """``po`` as a PDF in ``lang``; the lines' ordered quantities and costs, and the total."""
    h = po.header
    width = layout.content_width()
    title = translate("podoc.title", lang)
    facts: list[tuple[str, Any]] = [
        ("field.supplier", h.get("supplier")), ("field.warehouse", h.get("warehouse")),
        ("field.status", label(PO_STATUS, h.get("status"), lang)),
        ("field.created_at", format_time(h.get("created_at"))), ("field.sent_at", format_time(h.get("sent_at"))),
        ("field.expected_at", format_time(h.get("expected_at"))), ("field.note", h.get("note"))]
    rows: list[list[Any]] = [[r.sku, r.name, int(r.qty_ordered), format_money(r.unit_cost, currency, lang),
                              format_money(r.line_total, currency, lang)] for r in po.lines.itertuples(index=False)]
    rows.append(["", "", "", translate("field.total", lang), format_money(h.get("total"), currency, lang)])
    story = [*layout.heading(letterhead, title, str(h.get("number")), width),
             layout.facts([(translate(k, lang), v) for k, v in facts], width),
             layout.lines_table([translate(f"field.{c}", lang) for c in ("sku", "name", "qty_ordered", "unit_cost",
                                                                        "line_total")], rows,
                                [w * width for w in (0.2, 0.38, 0.12, 0.15, 0.15)], numeric=(2, 3, 4)),
             layout.text(translate("podoc.footer", lang, shop=letterhead.name), 8)]
    return layout.render(story, title=f"{title} {h.get('number')}")
