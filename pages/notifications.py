"""Notifications outbox (admin): every customer-visible change queues a message (SMS, e-mail or
webhook) with its payload; the worker sends the e-mails and webhooks, with retries. This page answers "was
the customer told?", shows what is still waiting per event, and why (no SMS gateway, the mail
server's last answer).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from core.services import outbox
from core.timeutil import local_day_start_utc
from core.webui import attempt, guard_page, label, labels, localize_times, show_table, t, translate_values

actor = guard_page("notification.view")
LIMIT = 500


def _date_bounds(picked: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        return None, None
    start, end = picked
    return local_day_start_utc(start), local_day_start_utc(end + dt.timedelta(days=1))


st.title(t("page.notifications"))
summary = attempt(outbox.outbox_summary, actor)
if summary is not None and not summary.empty:
    by_status = summary.groupby("outbox_status")["outbox_messages"].sum()
    cols = st.columns(len(outbox.STATUSES))
    for column, status in zip(cols, outbox.STATUSES, strict=True):
        column.metric(label("outbox_status", status), int(by_status.get(status, 0)))
    with st.expander(t("outbox.summary"), icon=":material/summarize:"):
        show_table(translate_values(summary, outbox_channel="outbox_channel", outbox_status="outbox_status"))

status_col, channel_col, event_col, order_col, date_col = st.columns([2, 2, 2, 2, 2])
statuses = status_col.multiselect(t("field.outbox_status"), outbox.STATUSES, key="nt_statuses",
                                  format_func=labels("outbox_status", outbox.STATUSES).__getitem__,
                                  placeholder=t("common.all"))
channels = channel_col.multiselect(t("field.outbox_channel"), outbox.CHANNELS, key="nt_channels",
                                   format_func=labels("outbox_channel", outbox.CHANNELS).__getitem__,
                                   placeholder=t("common.all"))
event = event_col.text_input(t("outbox.event_filter"), key="nt_event", placeholder="rma.")
number = order_col.text_input(t("field.number"), key="nt_order")
dates = date_col.date_input(t("outbox.dates"), value=[], key="nt_dates")
date_from, date_to = _date_bounds(dates)

rows = attempt(outbox.list_notifications, actor, statuses=statuses or None, channels=channels or None,
               event_prefix=event or "", order_number=number or "", date_from=date_from, date_to=date_to,
               limit=LIMIT)
if rows is not None:
    if rows.empty:
        st.info(t("outbox.none"))
    else:
        st.caption(t("outbox.found", n=len(rows), limit=LIMIT))
        shown = translate_values(localize_times(rows, "outbox_queued_at", "outbox_sent_at"),
                                 outbox_channel="outbox_channel", outbox_status="outbox_status")
        shown["outbox_reason"] = [t(code) if isinstance(code, str) and code else "" for code in shown["outbox_reason"]]
        show_table(shown.drop(columns=["id"]), download="outbox")
