"""Shipping labels on a page (not a page itself): print a batch of labels — which takes tracking
numbers where missing, so it is a button, not a render-time read — and offer the PDF (one
100 × 150 mm page per parcel). Shared by the ship step of Fulfilment and by the waves."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.documents.shipping_label import render_labels
from core.errors import OMSError
from core.services.labels import Label
from core.webui import show_error, t

PDF_MIME = "application/pdf"


def label_buttons(key: str, file_name: str, make: Callable[[], tuple[Label, ...]], *,
                  disabled: bool = False) -> None:
    """A *Print labels* button; once pressed, the PDF's download button under it."""
    if st.button(t("label.print"), key=f"{key}_print", disabled=disabled, icon=":material/print:"):
        try:
            st.session_state[f"{key}_pdf"] = (file_name, render_labels(make()))
        except OMSError as exc:
            st.session_state.pop(f"{key}_pdf", None)
            show_error(exc)
    offer_pdf(key)


def offer_pdf(key: str) -> None:
    """The download button of the labels last printed under ``key`` (nothing before)."""
    ready = st.session_state.get(f"{key}_pdf")
    if ready is not None:
        name, pdf = ready
        st.download_button(t("label.download", name=name), data=pdf, file_name=name, mime=PDF_MIME,
                           key=f"{key}_download", on_click="ignore", icon=":material/download:", type="primary")
