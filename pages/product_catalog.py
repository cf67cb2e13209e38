"""The product catalogue for admins, managers and buyers: find a product by SKU, name or any
of its barcodes, download the whole table, create a product, edit one, deactivate or reactivate
it, delete one nothing refers to yet, and make a product a kit of others (``_kit_editor``).

Every button is one call into ``core.services.product_master`` (validated, audited, one
transaction); a refusal is shown with each wrong field and the form keeps what was typed.
Money is typed as text and parsed to Decimal by the service, never through a float.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.searchbox import MAX_SEARCH_CHARS
from core.services import product_master
from core.services.product_master import ProductDraft, ProductRecord, rules
from core.webui import Notice, attempt, guard_page, show_notice, show_table, t
from pages import _kit_editor as kit_editor

actor = guard_page("product.edit")
state = st.session_state
NEW = "mdp_new"  # widget key prefix of the new-product form


def _run(call: Callable[[], ProductRecord | None], key: str, sku: str = "") -> bool:
    """Callback body: one service call; its refusal or the success notice (naming the product
    as stored, else ``sku``) shows on the next run."""
    try:
        rec = call()
    except OMSError as exc:
        state["mdp_notice"] = exc
        return False
    state["mdp_notice"] = Notice("success", key, {"sku": rec.sku if rec else sku})
    return True


def _draft(prefix: str) -> ProductDraft:
    """The form's fields as typed (the service trims, parses and checks them)."""
    supplier = state.get(f"{prefix}_supplier")
    return ProductDraft(
        sku=state.get(f"{prefix}_sku", ""), name=state.get(f"{prefix}_name", ""),
        category=state.get(f"{prefix}_category", ""), brand=state.get(f"{prefix}_brand", ""),
        barcodes=state.get(f"{prefix}_barcodes", ""), attributes=state.get(f"{prefix}_attributes", ""),
        unit_price=state.get(f"{prefix}_price"), unit_cost=state.get(f"{prefix}_cost"),
        supplier=None if supplier in (None, "") else supplier, pack_size=state.get(f"{prefix}_pack"),
        lead_time_days=state.get(f"{prefix}_lead"), weight_kg=state.get(f"{prefix}_weight"),
        active=bool(state.get(f"{prefix}_active", True)))


def _create() -> None:
    if _run(lambda: product_master.create_product(_draft(NEW), actor), "mdp.created"):
        for name in ("sku", "name", "category", "brand", "barcodes", "attributes", "price", "cost", "weight"):
            state[f"{NEW}_{name}"] = ""


def _save(product_id: int) -> None:
    _run(lambda: product_master.update_product(product_id, _draft(f"mdp_e{product_id}"), actor), "mdp.saved")


def _set_active(product_id: int, active: bool) -> None:
    _run(lambda: product_master.set_product_active(product_id, active, actor),
         "mdp.reactivated" if active else "mdp.deactivated")


def _delete(product_id: int, sku: str) -> None:
    _run(lambda: product_master.delete_product(product_id, actor), "mdp.deleted", sku)


def _fields(prefix: str, rec: ProductRecord | None, suppliers: list[str]) -> None:
    """The product form's inputs; ``rec`` fills them for an edit (keys carry the product id,
    so picking another product shows its own values)."""
    def val(value: object) -> str:
        return "" if value is None else str(value)

    left, right = st.columns(2)
    left.text_input(t("field.sku"), value=val(rec and rec.sku), key=f"{prefix}_sku", max_chars=rules.MAX_SKU,
                    disabled=bool(rec and rec.in_use), help=t("mdp.in_use") if rec and rec.in_use else None)
    right.text_input(t("field.name"), value=val(rec and rec.name), key=f"{prefix}_name", max_chars=rules.MAX_NAME)
    left.text_input(t("field.category"), value=val(rec and rec.category), key=f"{prefix}_category",
                    max_chars=rules.MAX_CATEGORY)
    right.text_input(t("field.brand"), value=val(rec and rec.brand), key=f"{prefix}_brand",
                     max_chars=rules.MAX_BRAND)
    left.text_area(t("field.barcodes"), value="\n".join(rec.barcodes) if rec else "", key=f"{prefix}_barcodes",
                   height=100, help=t("mdp.barcodes_help"))
    right.text_area(t("field.attributes"), value="\n".join(f"{k}={v}" for k, v in rec.attributes) if rec else "",
                    key=f"{prefix}_attributes", height=100, help=t("mdp.attributes_help"))
    a, b, c = st.columns(3)
    a.text_input(t("field.unit_price"), value=val(rec and rec.unit_price), key=f"{prefix}_price", max_chars=16)
    b.text_input(t("field.unit_cost"), value=val(rec and rec.unit_cost), key=f"{prefix}_cost", max_chars=16,
                 help=t("mdp.cost_optional_help" if product_master.COST_OPTIONAL else "mdp.cost_help"))
    current = rec.supplier if rec else None
    options = ["", *suppliers, *([current] if current and current not in suppliers else [])]
    shown = {name: name or t("mdp.no_supplier") for name in options}  # resolved now, in the session's language
    c.selectbox(t("field.supplier"), options, index=options.index(current or ""), key=f"{prefix}_supplier",
                format_func=shown.__getitem__)
    a.number_input(t("field.pack_size"), min_value=1, max_value=rules.MAX_PACK_SIZE, step=1,
                   value=rec.pack_size if rec else 1, key=f"{prefix}_pack")
    b.number_input(t("field.lead_time_days"), min_value=0, max_value=rules.MAX_LEAD_TIME_DAYS, step=1,
                   value=rec.lead_time_days if rec else None, key=f"{prefix}_lead")
    c.text_input(t("field.weight_kg"), value=val(rec and rec.weight_kg), key=f"{prefix}_weight", max_chars=12)
    st.checkbox(t("mdp.active"), value=rec.active if rec else True, key=f"{prefix}_active")


def _new_product(suppliers: list[str]) -> None:
    with st.form(NEW):
        _fields(NEW, None, suppliers)
        st.form_submit_button(t("mdp.create"), type="primary", key="mdp_create", on_click=_create)


def _edit_product(products: pd.DataFrame, suppliers: list[str]) -> None:
    if products.empty:
        st.info(t("mdp.no_products"))
        return
    names = dict(zip(products["id"], products["sku"] + " · " + products["name"], strict=True))
    picked = st.selectbox(t("mdp.pick_product"), list(names), format_func=names.__getitem__, key="mdp_pick")
    rec = attempt(product_master.product_record, int(picked), actor) if picked is not None else None
    if rec is None:
        return
    prefix = f"mdp_e{rec.id}"
    with st.form(prefix):
        _fields(prefix, rec, suppliers)
        st.form_submit_button(t("mdp.save"), type="primary", key="mdp_save", on_click=_save, args=(rec.id,))
    left, right = st.columns(2)
    if rec.active:
        left.button(t("mdp.deactivate"), key="mdp_deactivate", on_click=_set_active, args=(rec.id, False),
                    icon=":material/block:")
    else:
        left.button(t("mdp.reactivate"), key="mdp_reactivate", on_click=_set_active, args=(rec.id, True),
                    icon=":material/check_circle:")
    if not rec.in_use:
        right.button(t("mdp.delete"), key="mdp_delete", on_click=_delete, args=(rec.id, rec.sku),
                     icon=":material/delete:")


st.title(t("mdp.page_products"))
st.caption(t("mdp.products_intro"))
show_notice(state.pop("mdp_notice", None), what="product")
counts = attempt(product_master.product_count, actor)
if counts is not None:
    total_col, active_col = st.columns(2)
    total_col.metric(t("mdp.count_products"), counts[0])
    active_col.metric(t("mdp.count_active"), counts[1])
search_col, toggle_col = st.columns([3, 1], vertical_alignment="bottom")
query = search_col.text_input(t("mdp.search_products"), key="mdp_query", max_chars=MAX_SEARCH_CHARS)
with_inactive = toggle_col.toggle(t("mdp.show_inactive"), value=True, key="mdp_inactive")
found = attempt(product_master.list_products, actor, query, active_only=not with_inactive)
supplier_list = attempt(product_master.supplier_names, actor) or []
if found is not None:
    if found.empty:
        st.info(t("mdp.no_products"))
    else:
        show_table(found.drop(columns=["id"]), download="products", prefix="mdp_col",
                   money=("unit_price", "unit_cost"))
    new_tab, edit_tab, kit_tab = st.tabs([t("mdp.new_product"), t("mdp.edit_product"), t("kits.title")])
    with new_tab:
        _new_product(supplier_list)
    with edit_tab:
        _edit_product(found, supplier_list)
    with kit_tab:
        kit_editor.show(actor)
