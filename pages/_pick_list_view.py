"""A pick list on a page (not a page itself): its lines in walking order and the printable HTML
and CSV downloads — shared by the pick lists of Fulfilment and by the waves."""

from __future__ import annotations

import streamlit as st

from core.picklists import pick_list_csv_frame, render_pick_list
from core.services.fulfillment import PickListDoc
from core.webui import CSV_MIME, lang, show_table, t, to_csv_bytes


def show_pick_list(doc: PickListDoc, key: str) -> None:
    show_table(doc.items)
    html_col, csv_col = st.columns(2)
    html_col.download_button(t("fl.download_pick_html"), data=render_pick_list(doc, lang()).encode("utf-8"),
                             file_name=f"{doc.number}.html", mime="text/html", key=f"{key}_html",
                             on_click="ignore", icon=":material/print:")
    csv_col.download_button(t("common.download_csv"), data=to_csv_bytes(pick_list_csv_frame(doc)),
                            file_name=f"{doc.number}.csv", mime=CSV_MIME, key=f"{key}_csv", on_click="ignore")
