"""Where is my parcel? — the public order lookup, reachable without logging in.

A customer types the order number and the last four digits of the phone on the order and sees
its status, carrier, tracking number and the progress of any return — nothing else. A wrong
pair gets the same answer as an unknown order, and failed attempts back off in the database per
browser address and per order number (``core.services.order_lookup``), so the page cannot be used
to find orders or phone numbers and a reload does not reset the wait.
There is deliberately no ``guard_page`` here: this page is for people without an account.
"""

from __future__ import annotations

import streamlit as st

from core.errors import OMSError
from core.services.order_lookup import LookupResult, lookup_order
from core.webui import client_id, label, local_time, show_error, t

state = st.session_state


def _look_up() -> None:
    """Form callback: one lookup; the answer (or refusal) stays until the next search."""
    state.pop("lk_result", None)
    try:
        state["lk_result"] = lookup_order(state.get("lk_number", ""), state.get("lk_last4", ""), client_id())
    except OMSError as exc:
        state["lk_result"] = exc


def _show(result: LookupResult) -> None:
    st.subheader(t("lookup.order", number=result.number))
    status, carrier, tracking = st.columns(3)
    status.metric(t("field.status"), label("status", result.status))
    carrier.metric(t("field.carrier"), result.carrier or "—")
    tracking.metric(t("field.tracking_no"), result.tracking_no or "—")
    if not result.rmas:
        return
    st.markdown(f"**{t('lookup.returns')}**")
    for rma in result.rmas:
        steps = " → ".join(f"{label('rma_status', s)} ({local_time(at, '%m-%d %H:%M')})" for s, at in rma.steps)
        st.markdown(f"- **{rma.number}** · {label('rma_kind', rma.kind)} · {label('rma_status', rma.status)}  \n"
                    f"  {steps}")


st.title(t("page.order_lookup"))
st.caption(t("lookup.intro"))
with st.form("lookup"):
    st.text_input(t("lookup.number"), key="lk_number", placeholder=t("lookup.number_hint"), max_chars=32)
    st.text_input(t("lookup.last4"), key="lk_last4", max_chars=4, placeholder="0000")
    st.form_submit_button(t("lookup.submit"), type="primary", key="lk_submit", on_click=_look_up)

answer = state.get("lk_result", False)
if isinstance(answer, OMSError):
    show_error(answer)
elif isinstance(answer, LookupResult):
    _show(answer)
elif answer is None:
    st.warning(t("lookup.not_found"))
