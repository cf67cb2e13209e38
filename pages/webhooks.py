"""Webhooks (admin, manager): the integrations' subscriptions — create one (its signing secret
shown once), deactivate one — and the delivery log with status, tries and the receiver's last
answer, filtered and downloadable; replay an event by its id (same id: receivers
de-duplicate). docs/api.md "Webhooks" explains signatures, retries and the dead letters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.services import catalog, webhooks
from core.services.webhooks import EVENTS, MAX_LOG, STATUSES
from core.webui import (
    Notice,
    attempt,
    guard_page,
    labels,
    local_time,
    localize_times,
    show_notice,
    show_table,
    t,
    translate_values,
)

actor = guard_page("webhook.view")
can_manage = actor.can("webhook.manage")
state = st.session_state


def _create() -> None:
    """Form callback: the new secret is kept in the session only until it is shown once."""
    try:
        new = webhooks.create_subscription(state["wh_url"], list(state["wh_events"]), actor, name=state["wh_name"],
                                           channel=state["wh_channel"] or None)
    except OMSError as exc:
        state["wh_notice"] = exc
        return
    state["wh_notice"] = None
    state["wh_secret"] = new.secret


def _deactivate() -> None:
    try:
        info = webhooks.deactivate_subscription(int(state["wh_deactivate"]), actor)
    except OMSError as exc:
        state["wh_notice"] = exc
        return
    state["wh_notice"] = Notice("success", "webhooks.deactivated", {"name": info.name})


def _replay() -> None:
    try:
        done = webhooks.replay(state["wh_replay_id"], actor)
    except OMSError as exc:
        state["wh_notice"] = exc
        return
    state["wh_notice"] = Notice("success", "webhooks.replayed", {"event_id": done.event_id, "n": len(done.queued)})


st.title(t("page.webhooks"))
st.caption(t("webhooks.intro"))
show_notice(state.get("wh_notice"))
secret = state.pop("wh_secret", None)
if secret:
    st.success(t("webhooks.created_once"))
    st.code(secret, language=None)

st.subheader(t("webhooks.subscriptions"))
subscriptions = attempt(webhooks.list_subscriptions, actor) or []
if not subscriptions:
    st.info(t("webhooks.none"))
else:
    st.dataframe(pd.DataFrame([{
        t("webhooks.col_name"): s.name, t("webhooks.col_url"): s.url, t("webhooks.col_events"): ", ".join(s.events),
        t("webhooks.col_channel"): s.channel or t("webhooks.all_channels"), t("webhooks.col_active"): s.active,
        t("webhooks.col_created"): local_time(s.created_at), t("webhooks.col_created_by"): s.created_by,
    } for s in subscriptions]), hide_index=True)
    active = {s.id: s.name for s in subscriptions if s.active}
    if can_manage and active:
        st.selectbox(t("webhooks.deactivate_which"), list(active), key="wh_deactivate", format_func=active.__getitem__)
        st.button(t("webhooks.deactivate"), key="wh_deactivate_btn", on_click=_deactivate, icon=":material/block:")

if can_manage:
    codes = {code: code or t("webhooks.all_channels") for code in ["", *catalog.list_channels()["code"]]}
    with st.form("wh_form", clear_on_submit=True):
        st.subheader(t("webhooks.create"))
        st.text_input(t("webhooks.col_name"), key="wh_name", max_chars=webhooks.MAX_NAME)
        st.text_input(t("webhooks.col_url"), key="wh_url", max_chars=webhooks.MAX_URL, placeholder="https://")
        st.multiselect(t("webhooks.col_events"), list(EVENTS), key="wh_events", placeholder=t("common.choose_many"))
        st.selectbox(t("webhooks.col_channel"), list(codes), key="wh_channel", format_func=codes.__getitem__)
        st.form_submit_button(t("webhooks.create"), type="primary", on_click=_create)

st.subheader(t("webhooks.log"))
status_col, sub_col, event_col, id_col, order_col = st.columns([2, 2, 2, 3, 2])
statuses = status_col.multiselect(t("field.webhook_status"), STATUSES, key="wh_statuses",
                                  format_func=labels("outbox_status", STATUSES).__getitem__,
                                  placeholder=t("common.all"))
names: dict[int | None, str] = {None: t("common.all"), **{s.id: s.name for s in subscriptions}}
picked = sub_col.selectbox(t("field.webhook_subscription"), list(names), key="wh_sub", format_func=names.__getitem__)
event = event_col.text_input(t("field.webhook_event"), key="wh_event", placeholder="order.")
event_id = id_col.text_input(t("webhooks.event_id_filter"), key="wh_event_id")
number = order_col.text_input(t("field.number"), key="wh_order")
log = attempt(webhooks.list_deliveries, actor, subscription_id=picked, statuses=statuses or None,
              event_prefix=event or "", event_id=event_id or "", order_number=number or "", limit=MAX_LOG)
if log is not None:
    if log.empty:
        st.info(t("webhooks.log_none"))
    else:
        st.caption(t("webhooks.log_found", n=len(log), limit=MAX_LOG))
        shown = translate_values(localize_times(log, "webhook_queued_at", "webhook_next_attempt_at", "webhook_sent_at"),
                                 webhook_status="outbox_status")
        shown["webhook_reason"] = [t(code) if isinstance(code, str) and code else "" for code in shown["webhook_reason"]]
        show_table(shown.drop(columns=["id"]), download="webhooks")

if can_manage:
    replay_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
    replay_col.text_input(t("webhooks.replay_which"), key="wh_replay_id", max_chars=36)
    button_col.button(t("webhooks.replay_button"), key="wh_replay_btn", on_click=_replay, icon=":material/replay:")
