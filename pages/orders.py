"""Orders: one search box (number, phone, name, external ref) with filters, the exact number
of matching orders, the results a page at a time with "download all N rows", and the picked
order's detail — header, lines with reservations, the timeline — with a button for every status change this role may make.

Each button sends the version the user was looking at; if someone else changed the order in
the meantime the service refuses (StaleVersion) and the page asks to reload instead of
overwriting their change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from core.documents.order_slip import ship_address
from core.errors import OMSError
from core.searchbox import MAX_SEARCH_CHARS
from core.services import catalog, merging, rma_views
from core.services.orders import (
    STATUSES,
    OrderDetail,
    count_orders,
    export_orders,
    holds,
    order_detail,
    search_orders,
    transition,
)
from core.timeutil import local_day_start_utc
from core.webui import (
    Notice,
    attempt,
    cached_read,
    download_all,
    guard_page,
    label,
    labels,
    local_time,
    localize_times,
    money,
    pager,
    show_notice,
    show_table,
    slip_download,
    stored_text,
    t,
    translate_values,
)

actor = guard_page("order.view")
state = st.session_state

# (header field, how to show it) for the detail card
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("status", "status"), ("channel", "text"), ("placed_at", "time"), ("customer", "text"),
    ("ship_phone", "text"), ("address", "text"), ("payment_method", "payment"),
    ("payment_status", "payment_status"), ("delivery_method", "delivery"), ("warehouse", "text"),
    ("carrier", "text"), ("tracking_no", "text"), ("subtotal", "money"), ("discount", "money"),
    ("shipping_fee", "money"), ("total", "money"), ("external_ref", "text"), ("note", "text"),
)


def _do_transition(order_id: int, to_status: str, version: int) -> None:
    """Button callback: one transition() call with the version shown on screen."""
    shipping = to_status == "shipped"
    try:
        transition(order_id, to_status, actor, expected_version=version,
                   carrier=state.get(f"ol_carrier_{order_id}") if shipping else None,
                   tracking_no=state.get(f"ol_tracking_{order_id}") if shipping else None)
    except OMSError as exc:
        state["ol_notice"] = exc
        return
    state["ol_notice"] = Notice("success", "orders.transition_done", {"status": label("status", to_status)})


def _date_bounds(picked: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    """A (from, to) local date range → UTC bounds [start of from, start of the day after to)."""
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        return None, None
    start, end = picked
    return local_day_start_utc(start), local_day_start_utc(end + dt.timedelta(days=1))


def _filters() -> dict[str, Any]:
    query = st.text_input(t("orders.search"), key="ol_query", placeholder=t("orders.search_hint"),
                          persist_state="session", max_chars=MAX_SEARCH_CHARS)
    channels = cached_read(catalog.list_channels)
    channel_names = dict(zip(channels["code"], channels["name"], strict=True))
    status_col, channel_col, date_col = st.columns(3)
    statuses = status_col.multiselect(t("field.status"), STATUSES, format_func=labels("status", STATUSES).__getitem__,
                                      key="ol_statuses", persist_state="session", placeholder=t("common.all"))
    picked_channels = channel_col.multiselect(t("field.channel"), list(channel_names),
                                              format_func=channel_names.__getitem__, key="ol_channels",
                                              persist_state="session", placeholder=t("common.all"))
    dates = date_col.date_input(t("orders.date_range"), value=[], key="ol_dates", persist_state="session")
    date_from, date_to = _date_bounds(dates)
    return {"query": query or "", "statuses": statuses or None, "channels": picked_channels or None,
            "date_from": date_from, "date_to": date_to}


def _as_listed(results: pd.DataFrame) -> pd.DataFrame:
    """A page of results, or a chunk of the full download, as the list shows it."""
    shown = translate_values(localize_times(results, "placed_at"), status="status",
                             payment_status="payment_status")
    if "customer" in shown.columns:  # walk-in sales have no customer
        shown["customer"] = shown["customer"].astype(object).where(shown["customer"].notna(), t("imh.walk_in"))
    return shown.drop(columns=["id"])


def _show(kind: str, value: object) -> str:
    if kind == "time":
        return local_time(value)  # type: ignore[arg-type]
    if kind == "money":
        return money(value)  # type: ignore[arg-type]
    if kind == "text":
        return "" if value is None else str(value)
    return label(kind, value)


def _header(detail: OrderDetail) -> None:
    header = detail.header | {"address": ship_address(detail.header)}
    if header.get("customer_id") is None:  # a walk-in sale: no customer, said so
        header["customer"] = t("imh.walk_in")
    cols = st.columns(3)
    for i, (name, kind) in enumerate(HEADER_FIELDS):
        cols[i % 3].markdown(f"**{label('field', name)}**: {_show(kind, header.get(name)) or '—'}")


def _lines_and_events(detail: OrderDetail) -> None:
    if not detail.kits.empty:  # what the customer bought; the lines below are its components
        st.markdown(f"**{t('kits.title')}**")
        show_table(detail.kits)
    st.markdown(f"**{t('orders.lines')}**")
    show_table(detail.lines)
    st.markdown(f"**{t('orders.timeline')}**")
    events = translate_values(localize_times(detail.events, "at"), from_status="status", to_status="status")
    events["note"] = [stored_text(c, n) for c, n in zip(events.pop("note_codes"), events["note"], strict=True)]
    show_table(events)


def _actions(order_id: int, detail: OrderDetail) -> None:
    """One button per allowed transition; shipping asks for carrier and tracking number and
    cancelling needs a tick first (it releases stock and cannot be undone)."""
    if detail.header["status"] == "picking" and "packed" not in detail.allowed_transitions \
            and actor.can("order.fulfil"):
        st.page_link("pages/fulfillment.py", label=t("orders.pack_at_bench"), icon=":material/barcode_scanner:")
    if not detail.allowed_transitions:
        st.caption(t("orders.no_actions"))
        return
    version = int(detail.header["version"])
    for to_status in detail.allowed_transitions:
        kwargs: dict[str, Any] = {"key": f"ol_to_{to_status}", "on_click": _do_transition,
                                  "args": (order_id, to_status, version)}
        button_label = t("orders.to_status", status=label("status", to_status))
        if to_status == "shipped":
            carrier, tracking, go = st.columns([2, 2, 1], vertical_alignment="bottom")
            carrier.text_input(t("field.carrier"), value=detail.header.get("carrier") or "",
                               key=f"ol_carrier_{order_id}")
            tracking.text_input(t("field.tracking_no"), key=f"ol_tracking_{order_id}")
            go.button(button_label, type="primary", **kwargs)
        elif to_status == "cancelled":
            confirm, go = st.columns([2, 1], vertical_alignment="bottom")
            ok = confirm.checkbox(t("orders.confirm_cancel"), key=f"ol_confirm_cancel_{order_id}")
            go.button(button_label, disabled=not ok, **kwargs)
        else:
            st.button(button_label, **kwargs)


def _rmas(order_id: int) -> None:
    """The order's after-sales requests (worked on in the After-sales page)."""
    rmas = attempt(rma_views.list_rmas, actor, order_id=order_id)
    if rmas is None or rmas.empty:
        return
    st.markdown(f"**{t('desk.order_section')}**")
    shown = translate_values(localize_times(rmas, "rma_created_at", "rma_closed_at"), rma_status="rma_status",
                             rma_kind="rma_kind", rma_reason="rma_reason")
    show_table(shown.drop(columns=["id", "order_id", "number", "customer", "phone"]))


def _intercept(number: str) -> None:
    try:
        holds.intercept(number, str(state.get(f"ol_hold_reason_{number}")), actor)
    except OMSError as exc:
        state["ol_notice"] = exc
        return
    state["ol_notice"] = Notice("warning", "hold.intercepted", {"number": number})


def _release(number: str) -> None:
    try:
        released = holds.release(number, actor)
    except OMSError as exc:
        state["ol_notice"] = exc
        return
    state["ol_notice"] = Notice("success", "hold.released", {"number": number, "n": released})


def _holds(number: str, status: str) -> None:
    """Interception (拦截): the open holds as a banner, release for reviewers, intercept for editors."""
    open_ = attempt(holds.open_holds, actor, number=number)
    if open_ is None:
        return
    if not open_.empty:
        st.warning(t("hold.banner", reasons="、".join(label("hold_reason", r) for r in open_["reason"])),
                   icon=":material/front_hand:")
        if actor.can("order.review"):
            st.button(t("hold.release"), key=f"ol_release_{number}", on_click=_release, args=(number,))
    elif actor.can("order.edit") and status in ("pending_review", "confirmed", "on_hold", "backordered", "picking",
                                                  "packed"):
        names = {r: label("hold_reason", r) for r in holds.HOLD_REASONS}
        pick, go = st.columns([2, 1], vertical_alignment="bottom")
        pick.selectbox(t("hold.reason"), list(names), format_func=names.__getitem__, key=f"ol_hold_reason_{number}")
        go.button(t("hold.intercept"), key=f"ol_intercept_{number}", on_click=_intercept, args=(number,))


def _set_do_not_merge(number: str) -> None:
    try:
        merging.set_do_not_merge(number, bool(state.get(f"ol_no_merge_{number}")), actor)
    except OMSError as exc:
        state["ol_notice"] = exc


def _merging(number: str, header: dict[str, object]) -> None:
    """Merged orders (合单): the shipment this order travels in, and the do-not-merge mark."""
    shipment = attempt(merging.shipment_for, number, actor)
    if shipment is not None:
        group, numbers = shipment
        st.info(t("merge.in_group", group=group, orders=", ".join(n for n in numbers if n != number)))
    if actor.can("order.edit") and header["status"] in ("pending_review", "confirmed", "on_hold", "backordered"):
        st.checkbox(t("merge.do_not_merge_flag"), value=bool(header.get("do_not_merge")), key=f"ol_no_merge_{number}",
                    help=t("merge.do_not_merge_help"), on_change=_set_do_not_merge, args=(number,))


def _detail(order_id: int) -> None:
    detail = attempt(order_detail, order_id, actor)
    if detail is None:
        return
    number = str(detail.header["number"])
    st.subheader(t("orders.detail", number=number))
    _header(detail)
    _lines_and_events(detail)
    if actor.can("rma.view"):
        _rmas(order_id)
    slip_download(number, lambda: detail, key=f"ol_slip_{order_id}")
    st.markdown(f"**{t('orders.actions')}**")
    show_notice(state.get("ol_notice"), what="order")
    _holds(number, str(detail.header["status"]))
    _merging(number, detail.header)
    _actions(order_id, detail)


st.title(t("page.orders"))
filters = _filters()
total = attempt(count_orders, actor, **filters)
if total == 0:
    st.info(t("orders.none_found"))
elif total is not None:
    st.caption(t("orders.found", n=total))
    offset, limit = pager("ol_list", total)
    found = attempt(search_orders, actor, offset=offset, limit=limit, **filters)
    if found is not None:
        show_table(_as_listed(found))
        download_all("orders", total, lambda sink: export_orders(actor, sink, **filters), _as_listed)
        numbers = {int(r.id): f"{r.number} · {'' if pd.isna(r.customer) else r.customer}" for r in found.itertuples()}
        picked = st.selectbox(t("orders.pick"), list(numbers), format_func=numbers.__getitem__, key="ol_pick",
                              on_change=lambda: state.pop("ol_notice", None))
        if picked is not None:
            _detail(int(picked))
