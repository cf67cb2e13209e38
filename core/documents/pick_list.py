"""The pick list as a PDF, and its CSV: the picker walks the shelves with the first table (one
line per SKU in walking order of the bins, :mod:`core.services.bins`, with the bin, the total to
take and a box to tick) and sorts into parcels with the second (per order)."""

from __future__ import annotations

import pandas as pd

from core.config import Letterhead
from core.documents import layout
from core.i18n import translate
from core.services.fulfillment import PickListDoc
from core.timeutil import format_time


def render_pick_list(doc: PickListDoc, letterhead: Letterhead, lang: str) -> bytes:
    """The pick list of ``doc`` as a PDF in ``lang``."""
    def tr(key: str, **params: object) -> str:
        return translate(key, lang, **params)

    width = layout.content_width()
    units = int(doc.items["qty"].sum()) if not doc.items.empty else 0
    orders = int(doc.orders["number"].nunique()) if not doc.orders.empty else 0
    items = [["☐", r.bin, r.sku, r.barcode, r.name, int(r.qty), r.orders] for r in doc.items.itertuples(index=False)]
    per_order = [[r.number, r.bin, r.sku, r.name, int(r.qty)] for r in doc.orders.itertuples(index=False)]
    story = [*layout.heading(letterhead, tr("pick.title"), doc.number, width),
             layout.facts([(tr("field.warehouse"), f"{doc.warehouse} · {doc.warehouse_name}"),
                           (tr("field.created_at"), format_time(doc.created_at)),
                           (tr("field.created_by"), doc.created_by),
                           (tr("field.orders"), tr("pick.summary", orders=orders, units=units))], width),
             layout.text(tr("pick.by_sku"), 11, bold=True),
             layout.lines_table(["", tr("field.bin"), tr("field.sku"), tr("field.barcode"), tr("field.name"),
                                 tr("field.qty"), tr("field.orders")], items,
                                [w * width for w in (0.05, 0.11, 0.15, 0.15, 0.26, 0.08, 0.20)], numeric=(5,), size=10),
             layout.text(tr("pick.by_order"), 11, bold=True),
             layout.lines_table([tr("field.number"), tr("field.bin"), tr("field.sku"), tr("field.name"),
                                 tr("field.qty")], per_order,
                                [w * width for w in (0.2, 0.13, 0.2, 0.37, 0.1)], numeric=(4,))]
    return layout.render(story, title=f"{tr('pick.title')} {doc.number}")


def pick_list_csv_frame(doc: PickListDoc) -> pd.DataFrame:
    """The pick list grouped by SKU in walking order, with the list's number and warehouse on
    every row."""
    return doc.items.assign(pick_list=doc.number, warehouse=doc.warehouse)[
        ["pick_list", "warehouse", "bin", "sku", "barcode", "name", "qty", "orders"]]
