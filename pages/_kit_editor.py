"""The kit editor (组合装), a tab of the product catalogue (not a page itself; ``app.py`` does
not register it): every kit with its components, what each warehouse can build now, and a
form that makes a product a kit of "SKU quantity" lines or turns a kit back into a product.

Each button is one call into :mod:`core.services.kits`, which checks the bounds (≤ 50
components, ≤ 999 units each, no kit in a kit, no stock of its own) and audits the change.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import OMSError
from core.permissions import Actor
from core.services import kits
from core.webui import Notice, attempt, show_notice, show_table, t

NOTICE = "kit_notice"


def parse_components(text: str) -> list[tuple[str, object]]:
    """``"CUP 2"`` lines as (sku, qty); a quantity that is no whole number is passed on as
    typed, so the service names the row and why."""
    rows: list[tuple[str, object]] = []
    for line in text.splitlines():
        parts = line.replace("×", " ").replace("*", " ").split()
        if not parts:
            continue
        qty = parts[1] if len(parts) > 1 else "1"
        rows.append((parts[0], int(qty) if qty.isdigit() else qty))
    return rows


def _run(call: Callable[[], object], notice: Notice) -> None:
    try:
        call()
    except OMSError as exc:
        st.session_state[NOTICE] = exc
        return
    st.session_state[NOTICE] = notice


def _save(actor: Actor) -> None:
    sku = st.session_state.get("kit_sku", "").strip()
    rows = parse_components(st.session_state.get("kit_components", ""))
    _run(lambda: kits.save_kit(sku, rows, actor), Notice("success", "kits.saved", {"sku": sku}))


def _remove(actor: Actor) -> None:
    sku = st.session_state.get("kit_sku", "").strip()
    _run(lambda: kits.remove_kit(sku, actor), Notice("success", "kits.removed", {"sku": sku}))


def show(actor: Actor) -> None:
    st.caption(t("kits.help"))
    show_notice(st.session_state.pop(NOTICE, None), what="product")
    listed = attempt(kits.list_kits, actor)
    if listed is not None:
        if listed.empty:
            st.info(t("kits.none"))
        else:
            show_table(listed, download="kits", prefix="kits_col")
            st.subheader(t("kits.availability"))
            show_table(attempt(kits.kit_availability, actor), prefix="kits_col")
    with st.form("kit_form"):
        st.text_input(t("kits.kit_sku"), key="kit_sku", max_chars=64)
        st.text_area(t("kits.components"), key="kit_components", placeholder="CUP 2\nTEA 1", max_chars=4000)
        left, right = st.columns(2)
        left.form_submit_button(t("kits.save"), type="primary", key="kit_save", on_click=_save, args=(actor,))
        right.form_submit_button(t("kits.remove"), key="kit_remove", on_click=_remove, args=(actor,))
