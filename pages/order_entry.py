"""Order entry for a shop clerk: a phone or walk-in order in under 30 seconds.

Flow: type the customer's phone (one match fills name and address) → scan barcodes or search
products → adjust quantities in the basket → pick payment/delivery presets → submit. Every
action is a callback that calls one service; the basket lives in session state as
``[{"sku", "qty"}]`` and is shown one line per product (current name, price, stock per
warehouse, a quantity box and a remove button — usable on a phone, no grid, no Delete key). Submit
calls ``create_order`` once; a refused order writes nothing and shows each problem next to its
field or basket line.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import streamlit as st

from core.analytics.products import addon_suggestions
from core.errors import OMSError
from core.searchbox import MAX_SEARCH_CHARS
from core.services import catalog
from core.services.customers import search_customers
from core.services.orders import DELIVERY_METHODS, LineInput, OrderInput, create_order, order_detail
from core.webui import (
    Notice,
    attempt,
    cached_read,
    cell_qty,
    field_issues,
    guard_page,
    label,
    labels,
    money,
    percent,
    show_notice,
    slip_download,
    t,
)

actor = guard_page("order.create")
state = st.session_state

CENT = Decimal("0.01")
DEFAULT_CHANNEL = "PHONE"
# preset → (payment_method, payment_status): the combinations a shop actually takes.
PAYMENT_PRESETS: dict[str, tuple[str, str]] = {
    "wechat_paid": ("wechat_pay", "paid"),
    "alipay_paid": ("alipay", "paid"),
    "cash_paid": ("cash", "paid"),
    "card_paid": ("card", "paid"),
    "transfer_unpaid": ("bank_transfer", "unpaid"),
    "cod": ("cod", "unpaid"),
}
# form field → the OrderInput field its issues are reported under
CUSTOMER_FIELDS = {"name": "customer_name", "phone": "phone", "province": "province", "city": "city",
                   "district": "district", "address": "address"}
# What "empty" is for each key a reset touches. Widgets are set, not deleted: a widget that
# keeps its value across pages (persist_state) would come back with the old value.
CUSTOMER_RESET: dict[str, Any] = {
    "oe_customer_id": None, "oe_customer_code": None, "oe_cust_query": "", "oe_cust_hits": None,
    "oe_cust_error": None, "oe_cust_pick": None, **{f"oe_{f}": "" for f in CUSTOMER_FIELDS},
}
ORDER_RESET: dict[str, Any] = {
    "oe_note": "", "oe_payment_ref": "", "oe_discount": 0.0, "oe_shipping": 0.0, "oe_backorder": False, "oe_product_query": "",
    "oe_warehouse": "", "oe_scan": None, "oe_error": None,
}


# --- basket state ----------------------------------------------------------------------------


def _basket() -> list[dict[str, Any]]:
    return state.setdefault("oe_basket", [])


def _qty_key(index: int) -> str:
    """The quantity box of basket line ``index`` (0-based) in the current basket revision."""
    return f"oe_qty_{state.setdefault('oe_rev', 0)}_{index}"


def _set_basket(lines: list[dict[str, Any]]) -> None:
    """Replace the basket and start fresh quantity boxes (old boxes are keyed by position and
    would otherwise carry their numbers over to other products)."""
    state["oe_basket"] = lines
    state["oe_rev"] = state.get("oe_rev", 0) + 1


def _add(sku: str, qty: int) -> None:
    lines = [dict(ln) for ln in _basket()]
    for ln in lines:
        if ln["sku"] == sku:
            ln["qty"] += qty
            break
    else:
        lines.append({"sku": sku, "qty": qty})
    _set_basket(lines)


def _sync_quantities() -> None:
    """Fold the quantity boxes into the basket, each number as typed (the service refuses −5
    or 2.5 and names the line).

    Runs before the basket is drawn, before a line is removed and at the start of submit, so a
    quantity typed just before clicking "submit" is part of the order.
    """
    lines = [dict(ln) for ln in _basket()]
    for idx, line in enumerate(lines):
        typed = state.get(_qty_key(idx))
        if typed is not None:
            line["qty"] = cell_qty(typed)
    state["oe_basket"] = lines  # same revision: the boxes keep their keys and numbers


def _remove(index: int) -> None:
    """The remove button of basket line ``index``."""
    _sync_quantities()
    _set_basket([ln for i, ln in enumerate(_basket()) if i != index])


# --- callbacks -------------------------------------------------------------------------------


def _on_scan() -> None:
    """Barcode box: the scanner types the code and Enter → one unit of that product."""
    code = (state.get("oe_barcode") or "").strip()
    state["oe_barcode"] = ""
    if not code:
        return
    try:
        product = catalog.product_by_barcode(code, actor)
    except OMSError as exc:
        state["oe_scan"] = exc
        return
    if product is None:
        state["oe_scan"] = Notice("error", "entry.barcode_unknown", {"code": code})
        return
    _add(product.sku, 1)
    state["oe_scan"] = Notice("success", "entry.barcode_added", {"name": product.name, "sku": product.sku})


def _on_add_product() -> None:
    sku = state.get("oe_product_pick")
    if sku:
        _add(sku, max(1, int(state.get("oe_product_qty") or 1)))  # a number_input with min_value=1


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _fill_customer(hit: dict[str, Any]) -> None:
    state["oe_customer_id"] = hit["id"]
    state["oe_customer_code"] = hit["code"]
    for f in CUSTOMER_FIELDS:
        state[f"oe_{f}"] = hit[f]


def _on_customer_query() -> None:
    """Phone/name typed + Enter: one match fills the form, several offer a pick list."""
    query = (state.get("oe_cust_query") or "").strip()
    state["oe_cust_hits"], state["oe_cust_error"] = [], None
    if not query:
        return
    try:
        found = search_customers(query, actor)
    except OMSError as exc:
        state["oe_cust_error"] = exc
        return
    hits = [{"id": int(r["id"]), **{k: _text(r[k]) for k in ("code", *CUSTOMER_FIELDS)}}
            for r in found.to_dict("records")]
    state["oe_cust_hits"] = hits
    if len(hits) == 1:
        _fill_customer(hits[0])


def _on_customer_pick() -> None:
    code = state.get("oe_cust_pick")
    for hit in state.get("oe_cust_hits") or []:
        if hit["code"] == code:
            _fill_customer(hit)


def _reset(values: dict[str, Any]) -> None:
    state.update(values)


def _template_lines() -> list[tuple[str, int]]:
    return [(ln["sku"], ln["qty"]) for ln in _basket()]


def _save_template() -> None:
    try:
        saved = catalog.save_basket_template(state.get("oe_template_name", ""), _template_lines(), actor)
    except OMSError as exc:
        state["oe_template_notice"] = exc
        return
    state["oe_template_notice"] = Notice("success", "entry.template_saved", {"name": saved.name})


def _load_template(templates: dict[str, tuple[tuple[str, int], ...]]) -> None:
    name = state.get("oe_template_pick")
    if name in templates:
        _set_basket([{"sku": sku, "qty": qty} for sku, qty in templates[name]])
        state["oe_template_notice"] = Notice("info", "entry.template_loaded", {"name": name})


def _delete_template() -> None:
    name = state.get("oe_template_pick", "")
    try:
        catalog.delete_basket_template(name, actor)
    except OMSError as exc:
        state["oe_template_notice"] = exc
        return
    state["oe_template_notice"] = Notice("info", "entry.template_deleted", {"name": name})


def _money_input(key: str) -> Decimal:
    try:
        return Decimal(str(state.get(key) or 0)).quantize(CENT)
    except InvalidOperation:
        return Decimal("0.00")


def _store_channel(code: str) -> bool:
    """A store channel (POS): the counter sells to walk-in customers without recording them."""
    channels = cached_read(catalog.list_channels)
    return bool((channels.loc[channels["code"] == code, "kind"] == "store").any())


def _order_input() -> OrderInput:
    method, status = PAYMENT_PRESETS[state.get("oe_payment") or next(iter(PAYMENT_PRESETS))]
    fields = {f: (state.get(f"oe_{f}") or "").strip() for f in CUSTOMER_FIELDS}
    channel = state.get("oe_channel") or DEFAULT_CHANNEL
    walk_in = bool(state.get("oe_walk_in")) and _store_channel(channel)
    return OrderInput(
        channel=channel,
        lines=[LineInput(ln["sku"], ln["qty"]) for ln in _basket()],
        customer_id=None if walk_in else state.get("oe_customer_id"), walk_in=walk_in,
        customer_name=fields["name"], phone=fields["phone"] or None, province=fields["province"] or None,
        city=fields["city"] or None, district=fields["district"] or None, address=fields["address"] or None,
        payment_method=method, payment_status=status,
        payment_ref=((state.get("oe_payment_ref") or "").strip() or None) if status == "paid" else None,
        delivery_method=state.get("oe_delivery") or DELIVERY_METHODS[0],
        shipping_fee=_money_input("oe_shipping"), discount=_money_input("oe_discount"),
        warehouse=state.get("oe_warehouse") or None, note=(state.get("oe_note") or "").strip() or None,
        allow_backorder=bool(state.get("oe_backorder")),
    )


def _submit() -> None:
    """The one create_order call; success clears the customer, basket and amounts."""
    _sync_quantities()
    state.pop("oe_last", None)
    try:
        result = create_order(_order_input(), actor)
    except OMSError as exc:
        state["oe_error"] = exc
        return
    state["oe_last"] = {"id": result.id, "number": result.number, "status": result.status,
                        "total": str(result.total), "backordered": result.backordered}
    _set_basket([])
    _reset(CUSTOMER_RESET | ORDER_RESET)


# --- sections --------------------------------------------------------------------------------


def _last_order() -> None:
    last = state.get("oe_last")
    if not last:
        return
    st.success(t("entry.created", number=last["number"], total=money(last["total"]),
                 status=label("status", last["status"])))
    if last["backordered"]:
        st.warning(t("entry.backordered_note"))
    order_id = last["id"]
    slip_download(last["number"], lambda: order_detail(order_id, actor), key="oe_slip")


def _customer_section(error: OMSError | None) -> None:
    st.subheader(t("entry.customer"))
    st.text_input(t("entry.customer_search"), key="oe_cust_query", on_change=_on_customer_query,
                  placeholder=t("entry.customer_search_hint"), persist_state="session", max_chars=MAX_SEARCH_CHARS)
    show_notice(state.get("oe_cust_error"))
    hits = state.get("oe_cust_hits")
    if hits and len(hits) > 1:
        names = {h["code"]: f"{h['name']} · {h['phone']} · {h['city']} {h['district']}" for h in hits}
        st.selectbox(t("entry.pick_customer"), list(names), index=None, format_func=names.__getitem__,
                     key="oe_cust_pick", on_change=_on_customer_pick, placeholder=t("entry.pick_customer_hint"))
    elif hits == [] and state.get("oe_cust_query"):
        st.caption(t("entry.no_customer"))
    if state.get("oe_customer_id"):
        left, right = st.columns([3, 1])
        left.caption(t("entry.linked_customer", code=state.get("oe_customer_code", "")))
        right.button(t("entry.new_customer"), key="oe_new_customer", on_click=_reset, args=(CUSTOMER_RESET,))
    layout = (("name", "phone"), ("province", "city", "district"), ("address",))
    for row in layout:
        for col, f in zip(st.columns(len(row)), row, strict=True):
            with col:
                st.text_input(t(f"field.{CUSTOMER_FIELDS[f]}"), key=f"oe_{f}", persist_state="session")
                field_issues(error, CUSTOMER_FIELDS[f])


def _product_section() -> None:
    st.subheader(t("entry.products"))
    left, right = st.columns(2)
    left.text_input(t("entry.barcode"), key="oe_barcode", on_change=_on_scan, placeholder=t("entry.barcode_hint"))
    query = right.text_input(t("entry.product_search"), key="oe_product_query",
                             placeholder=t("entry.product_search_hint"), persist_state="session",
                             max_chars=MAX_SEARCH_CHARS)
    show_notice(state.get("oe_scan"), what="order")
    if not (query or "").strip():
        return
    hits = attempt(catalog.search_products, query, actor)
    if hits is None:
        return
    if hits.empty:
        st.caption(t("entry.no_products"))
        return
    names = {r.sku: f"{r.sku} · {r.name} · {money(r.unit_price)} · {t('entry.available_n', n=r.available)}"
             for r in hits.itertuples()}
    pick, qty, add = st.columns([5, 1, 1], vertical_alignment="bottom")
    pick.selectbox(t("entry.pick_product"), list(names), format_func=names.__getitem__, key="oe_product_pick")
    qty.number_input(t("field.qty"), min_value=1, value=1, step=1, key="oe_product_qty")
    add.button(t("entry.add"), key="oe_add", on_click=_on_add_product, icon=":material/add:")


def _basket_frame(lines: list[dict[str, Any]]) -> tuple[pd.DataFrame, Decimal]:
    """The basket with current name/price, line total and available stock per warehouse."""
    skus = [ln["sku"] for ln in lines]
    products = attempt(catalog.products_by_sku, skus, actor)
    stock = attempt(catalog.availability, skus, actor)
    info = {} if products is None else {r.sku: r for r in products.itertuples()}
    frame = pd.DataFrame({
        "sku": skus,
        "name": [info[s].name if s in info else t("entry.unknown_product") for s in skus],
        "unit_price": [info[s].unit_price if s in info else Decimal("0") for s in skus],
        "qty": pd.Series([ln["qty"] for ln in lines], dtype="float64"),  # float: see webui.cell_qty
    })
    frame["line_total"] = [price * Decimal(str(q)) for price, q in zip(frame["unit_price"], frame["qty"], strict=True)]
    subtotal = sum(frame["line_total"], Decimal("0.00"))
    if stock is not None and not stock.empty:
        by_wh = stock.pivot_table(index="sku", columns="warehouse", values="available", aggfunc="sum",
                                  fill_value=0)
        for wh in by_wh.columns:
            frame[f"avail_{wh}"] = [int(by_wh[wh].get(s, 0)) for s in skus]
    for col in ("unit_price", "line_total"):
        frame[col] = frame[col].astype(float)  # display only; the service prices the order
    return frame, subtotal


def _stock_note(row: Any, columns: list[str]) -> str:
    """"SH 12 · BJ 3": what each warehouse has available of the line's product."""
    return " · ".join(f"{c.removeprefix('avail_')} {getattr(row, c)}" for c in columns)


def _basket_section(error: OMSError | None) -> Decimal:
    """Draw the basket, one line per product with its quantity box and remove button; returns
    the subtotal at current list prices."""
    st.subheader(t("entry.basket"))
    _sync_quantities()
    lines = _basket()
    if not lines:
        st.caption(t("entry.basket_empty"))
        field_issues(error, "lines")
        return Decimal("0.00")
    frame, subtotal = _basket_frame(lines)
    stock_columns = [c for c in frame.columns if c.startswith("avail_")]
    for idx, row in enumerate(frame.itertuples(index=False)):
        with st.container(border=True, key=f"oe_line_{idx}"):
            text, qty, remove = st.columns([5, 2, 2], vertical_alignment="bottom")
            text.markdown(f"**{row.name}** · {row.sku}  \n{money(row.unit_price)} → {money(row.line_total)}")
            if stock_columns:
                text.caption(t("entry.line_stock", stock=_stock_note(row, stock_columns)))
            qty.number_input(t("field.qty"), value=float(lines[idx]["qty"]), step=1.0, format="%g", key=_qty_key(idx))
            remove.button(t("entry.remove_line"), key=f"oe_remove_{state['oe_rev']}_{idx}", on_click=_remove,
                          args=(idx,), icon=":material/delete:", width="stretch")
    field_issues(error, lines=True)
    field_issues(error, "lines")
    return subtotal


def _options_section(error: OMSError | None) -> None:
    st.subheader(t("entry.options"))
    channels = cached_read(catalog.list_channels)
    warehouses = cached_read(catalog.list_warehouses)
    channel_names = dict(zip(channels["code"], channels["name"], strict=True))
    codes = list(channel_names)
    left, right = st.columns(2)
    default = codes.index(DEFAULT_CHANNEL) if DEFAULT_CHANNEL in codes else 0
    left.selectbox(t("field.channel"), codes, index=default, format_func=channel_names.__getitem__,
                   key="oe_channel", persist_state="session")
    if _store_channel(state.get("oe_channel") or DEFAULT_CHANNEL):
        left.checkbox(t("imh.walk_in_entry"), key="oe_walk_in", help=t("imh.walk_in_entry_help"))
    wh_names = {"": t("entry.auto_warehouse")} | dict(zip(warehouses["code"], warehouses["name"], strict=True))
    right.selectbox(t("field.warehouse"), list(wh_names), format_func=wh_names.__getitem__, key="oe_warehouse")
    with right:
        field_issues(error, "channel", "warehouse")
    left, right = st.columns(2)
    left.radio(t("field.payment"), list(PAYMENT_PRESETS), horizontal=True, key="oe_payment",
               format_func=labels("preset", PAYMENT_PRESETS).__getitem__, persist_state="session")
    right.radio(t("field.delivery_method"), DELIVERY_METHODS, horizontal=True, key="oe_delivery",
                format_func=labels("delivery", DELIVERY_METHODS).__getitem__, persist_state="session")
    with left:
        if PAYMENT_PRESETS[state.get("oe_payment") or next(iter(PAYMENT_PRESETS))][1] == "paid":
            st.text_input(t("entry.payment_ref"), key="oe_payment_ref", max_chars=100, help=t("entry.payment_ref_help"))
        field_issues(error, "payment_method", "payment_status", "payment_ref")
    with right:
        field_issues(error, "delivery_method")
    fee, discount, backorder = st.columns(3, vertical_alignment="bottom")
    fee.number_input(t("field.shipping_fee"), min_value=0.0, step=1.0, format="%.2f", key="oe_shipping")
    discount.number_input(t("entry.order_discount"), min_value=0.0, step=1.0, format="%.2f", key="oe_discount")
    backorder.checkbox(t("entry.allow_backorder"), key="oe_backorder", help=t("entry.allow_backorder_help"))
    with fee:
        field_issues(error, "shipping_fee")
    with discount:
        field_issues(error, "discount", "total")
    st.text_input(t("field.note"), key="oe_note")


def _suggestions_section() -> None:
    """Add-on suggestions: products customers often bought with the basket's SKUs in the last
    90 days (from the analytics summaries), one click to add."""
    skus = tuple(sorted({ln["sku"] for ln in _basket()}))
    if not skus:
        return
    hits = cached_read(addon_suggestions, skus)
    if hits.empty:
        return
    st.caption(t("an.addons.title"))
    for row in hits.itertuples(index=False):
        text, add = st.columns([6, 1], vertical_alignment="center")
        text.markdown(f"**{row.name}** · {row.sku} · {money(row.unit_price)} — " + t(
            "an.addons.because", sku=row.because, confidence=percent(row.confidence, 0), lift=f"{row.lift:.1f}"))
        add.button(t("an.addons.add"), key=f"oe_addon_{row.sku}", on_click=_add, args=(row.sku, 1),
                   icon=":material/add:")


def _templates_section() -> None:
    with st.expander(t("entry.templates"), icon=":material/bookmarks:"):
        templates = {tpl.name: tpl.lines for tpl in attempt(catalog.list_basket_templates, actor) or []}
        if templates:
            pick, load, delete = st.columns([4, 1, 1], vertical_alignment="bottom")
            pick.selectbox(t("entry.template"), list(templates), key="oe_template_pick",
                           format_func={n: t("entry.template_option", name=n, lines=len(lines))
                                        for n, lines in templates.items()}.__getitem__)
            load.button(t("entry.template_load"), key="oe_template_load", on_click=_load_template, args=(templates,))
            delete.button(t("entry.template_delete"), key="oe_template_delete", on_click=_delete_template)
        name, save = st.columns([5, 1], vertical_alignment="bottom")
        name.text_input(t("entry.template_name"), key="oe_template_name")
        save.button(t("entry.template_save"), key="oe_template_save", on_click=_save_template,
                    disabled=not _basket())
        show_notice(state.get("oe_template_notice"), what="template")


def _totals_and_submit(subtotal: Decimal, error: OMSError | None) -> None:
    discount, shipping = _money_input("oe_discount"), _money_input("oe_shipping")
    cols = st.columns(4)
    for col, key, amount in zip(cols, ("field.subtotal", "field.discount", "field.shipping_fee", "field.total"),
                                (subtotal, -discount, shipping, subtotal - discount + shipping), strict=True):
        col.metric(t(key), money(amount))
    st.button(t("entry.submit"), key="oe_submit", type="primary", on_click=_submit, icon=":material/check:")
    show_notice(error, what="order")


st.title(t("page.order_entry"))
if cached_read(catalog.list_channels).empty:  # a new shop that has not set up a channel yet
    st.warning(t("md.no_channels"))
    st.stop()
_last_order()
current_error = state.get("oe_error")
_customer_section(current_error)
_product_section()
basket_subtotal = _basket_section(current_error)
_suggestions_section()
_templates_section()
_options_section(current_error)
_totals_and_submit(basket_subtotal, current_error)
