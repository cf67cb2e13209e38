"""Printable pick list (one self-contained HTML page) and its CSV, from a PickListDoc.

The picker walks the shelves with the first table — one line per SKU in walking order of the
bins (``core.services.bins``), with the bin, the total to take and a box to tick — and sorts into
parcels with the second (per order). HTML, like the order slip:
every browser prints it or saves it as PDF, Chinese needs no embedded font. Values are escaped.
"""

from __future__ import annotations

from html import escape

import pandas as pd

from core.i18n import translate
from core.services.fulfillment import PickListDoc
from core.timeutil import format_time

_CSS = """
body { font-family: "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC",
       "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; margin: 24px; color: #111; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 0; }
.muted { color: #555; font-size: 12px; }
table { width: 100%; border-collapse: collapse; margin-top: 8px; font-size: 14px; }
th, td { border-bottom: 1px solid #bbb; padding: 6px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-size: 16px; font-weight: bold; }
td.tick { width: 28px; } td.tick span { display: inline-block; width: 16px; height: 16px; border: 1px solid #333; }
td.sku { font-family: monospace; font-size: 15px; } td.bin { font-family: monospace; font-size: 16px; font-weight: bold; } td.orders { font-size: 11px; color: #444; }
@media print { .no-print { display: none; } body { margin: 8mm; } tr { page-break-inside: avoid; } }
"""


def render_pick_list(doc: PickListDoc, lang: str) -> str:
    """The pick list as a complete HTML document in ``lang``."""
    def tr(key: str, **params: object) -> str:
        return escape(translate(key, lang, **params))

    items = "".join(
        f"<tr><td class='tick'><span></span></td><td class='bin'>{escape(str(r.bin))}</td>"
        f"<td class='sku'>{escape(str(r.sku))}</td>"
        f"<td>{escape(str(r.barcode or ''))}</td><td>{escape(str(r.name))}</td><td class='num'>{int(r.qty)}</td>"
        f"<td class='orders'>{escape(str(r.orders))}</td></tr>"
        for r in doc.items.itertuples(index=False))
    per_order = "".join(
        f"<tr><td>{escape(str(r.number))}</td><td class='bin'>{escape(str(r.bin))}</td>"
        f"<td class='sku'>{escape(str(r.sku))}</td><td>{escape(str(r.name))}</td>"
        f"<td class='num'>{int(r.qty)}</td></tr>"
        for r in doc.orders.itertuples(index=False))
    units = int(doc.items["qty"].sum()) if not doc.items.empty else 0
    orders = doc.orders["number"].nunique() if not doc.orders.empty else 0
    number = escape(doc.number)
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{tr('pick.title')} {number}</title><style>{_CSS}</style></head>
<body>
<h1>{tr('pick.title')} · {number}</h1>
<div class="muted">{tr('field.warehouse')}: {escape(doc.warehouse)} · {escape(doc.warehouse_name)} ·
{escape(format_time(doc.created_at))} · {escape(doc.created_by)} ·
{tr('pick.summary', orders=orders, units=units)}</div>
<h2>{tr('pick.by_sku')}</h2>
<table><thead><tr><th></th><th>{tr('field.bin')}</th><th>{tr('field.sku')}</th><th>{tr('field.barcode')}</th><th>{tr('field.name')}</th>
<th class="num">{tr('field.qty')}</th><th>{tr('field.orders')}</th></tr></thead><tbody>{items}</tbody></table>
<h2>{tr('pick.by_order')}</h2>
<table><thead><tr><th>{tr('field.number')}</th><th>{tr('field.bin')}</th><th>{tr('field.sku')}</th><th>{tr('field.name')}</th>
<th class="num">{tr('field.qty')}</th></tr></thead><tbody>{per_order}</tbody></table>
<button class="no-print" onclick="window.print()">{tr('slip.print')}</button>
</body></html>
"""


def pick_list_csv_frame(doc: PickListDoc) -> pd.DataFrame:
    """The pick list grouped by SKU in walking order, with the list's number and warehouse on
    every row."""
    return doc.items.assign(pick_list=doc.number, warehouse=doc.warehouse)[
        ["pick_list", "warehouse", "bin", "sku", "barcode", "name", "qty", "orders"]]
