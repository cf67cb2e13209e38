"""A pick list on a page (not a page itself): its lines in walking order and the printable PDF
and CSV downloads — shared by the pick lists of Fulfilment and by the waves."""

from __future__ import annotations

import streamlit as st

from core import config
from core.documents.pick_list import pick_list_csv_frame, render_pick_list
from core.services.fulfillment import PickListDoc
from core.webui import (
    CSV_MIME,
    cell_text,
    lang,
    pdf_download,
    show_lines,
    t,
    to_csv_bytes,
)


def show_pick_list(doc: PickListDoc, key: str) -> None:
    """The list as a table on a wide screen; on a phone one short block per stop of the walk
    (bin, quantity, name, then SKU and the orders it is for), no columns to scroll sideways."""
    show_lines(doc.items, key, lambda item: f"**{cell_text(item.bin)}** · {item.qty} × {item.name}  \n"
                                            f"{item.sku} · {t('fl.pick_for', orders=item.orders)}")
    pdf_col, csv_col = st.columns(2)
    language, head = lang(), config.letterhead()
    pdf_download("doc.pick_list", lambda: render_pick_list(doc, head, language), f"{doc.number}.pdf", f"{key}_pdf",
                 container=pdf_col)
    csv_col.download_button(t("common.download_csv"), data=to_csv_bytes(pick_list_csv_frame(doc)),
                            file_name=f"{doc.number}.csv", mime=CSV_MIME, key=f"{key}_csv", on_click="ignore")
