"""Shop settings for the admin: the thresholds behind alerts, due times, adjustment and refund
approval (second person), whether packing must be verified by scan, and the backup schedule.

One form, saved all or nothing through :func:`core.services.shop_settings.update_settings`
(validated, audited, effective on every user's next action). Below it, whether customers' names
are encrypted at rest: a switch of its own (:func:`core.services.customer_names.switch_names`),
because it starts a job that converts the stored names, shown with its progress.
"""

from __future__ import annotations

import streamlit as st

from core.errors import OMSError
from core.services import customer_names
from core.services.jobs import JobView
from core.services.shop_settings import shop_settings, update_settings
from core.webui import Notice, attempt, guard_page, show_notice, t
from pages import _job_panel as job_panel

actor = guard_page("settings.edit")
state = st.session_state


def _save() -> None:
    """Form callback: every value of the form in one update."""
    values = {
        "fulfilment_sla.hours": state["set_sla_hours"],
        "order_due.hours": state["set_due_hours"],
        "delivery_overdue.days": state["set_overdue_days"],
        "adjustment_approval.amount": state["set_approval_amount"],
        "adjustment_approval.units": state["set_approval_units"],
        "refund_approval.amount": state["set_refund_approval"],
        "packing.require_scan": state["set_require_scan"],
        "gifts.max_per_order": state["set_gifts_per_order"],
        "merge_orders.auto": state["set_merge_auto"],
        "weighing.tolerance_pct": state["set_weigh_tolerance"],
        "backup_schedule.enabled": state["set_backup_enabled"],
        "backup_schedule.hour": state["set_backup_hour"],
        "backup_schedule.minute": state["set_backup_minute"],
        "backup_schedule.every_days": state["set_backup_every_days"],
        "backup_schedule.keep": state["set_backup_keep"],
    }
    try:
        changed = update_settings(values, actor)
    except OMSError as exc:
        state["set_notice"] = exc
        return
    state["set_notice"] = (Notice("success", "shop_settings.saved", {"n": len(changed)}) if changed
                           else Notice("info", "shop_settings.unchanged", {}))


def _switch_names() -> None:
    """Toggle callback: the setting and its conversion job in one call."""
    encrypt = bool(state["set_names_encrypt"])
    try:
        job_id = customer_names.switch_names(encrypt, actor)
    except OMSError as exc:
        state["names_notice"] = exc
        state["set_names_encrypt"] = not encrypt  # the switch shows the setting, which did not change
        return
    state["names_notice"] = (Notice("info", "names.unchanged", {}) if job_id is None else
                             Notice("success", "names.switched_on" if encrypt else "names.switched_off", {"job": job_id}))


def _names_done(job: JobView) -> None:
    result = job.result or {}
    st.success(t("names.done", rewritten=result.get("rewritten", 0), verified=result.get("verified", 0)))


def _names_section() -> None:
    st.subheader(t("names.title"))
    names = attempt(customer_names.names_state, actor)
    if names is None:
        return
    st.toggle(t("names.setting"), value=names.encrypt, key="set_names_encrypt", help=t("names.setting_help"),
              on_change=_switch_names, disabled=names.job is not None and names.job.active)
    st.caption(t("names.state", sealed=names.sealed, plain=names.plain))
    show_notice(state.pop("names_notice", None))
    job_panel.show(names.job, actor, key="names_job", outcome=_names_done)


st.title(t("page.settings"))
st.caption(t("shop_settings.intro"))
current = attempt(shop_settings, actor)
if current is not None:
    with st.form("shop_settings"):
        st.subheader(t("shop_settings.fulfilment"))
        left, mid, right = st.columns(3)
        left.number_input(t("shop_settings.sla_hours"), min_value=1, max_value=720, step=1,
                          value=int(current["fulfilment_sla.hours"]), key="set_sla_hours",
                          help=t("shop_settings.sla_hours_help"))
        mid.number_input(t("shop_settings.due_hours"), min_value=1, max_value=720, step=1,
                         value=int(current["order_due.hours"]), key="set_due_hours",
                         help=t("shop_settings.due_hours_help"))
        right.number_input(t("shop_settings.overdue_days"), min_value=1, max_value=90, step=1,
                           value=int(current["delivery_overdue.days"]), key="set_overdue_days",
                           help=t("shop_settings.overdue_days_help"))
        st.toggle(t("shop_settings.require_scan"), value=bool(current["packing.require_scan"]),
                  key="set_require_scan", help=t("shop_settings.require_scan_help"))
        st.number_input(t("field.gifts.max_per_order"), min_value=0, max_value=10, step=1,
                        value=int(current["gifts.max_per_order"]), key="set_gifts_per_order",
                        help=t("gift.max_per_order_help"))
        st.toggle(t("merge.setting_auto"), value=bool(current["merge_orders.auto"]),
                  key="set_merge_auto", help=t("merge.setting_auto_help"))
        st.number_input(t("shop_settings.weigh_tolerance"), min_value=1, max_value=100, step=1,
                        value=int(current["weighing.tolerance_pct"]), key="set_weigh_tolerance",
                        help=t("shop_settings.weigh_tolerance_help"))
        st.subheader(t("shop_settings.stock"))
        # money as typed text, parsed to Decimal by the service (never through a float)
        st.text_input(t("shop_settings.approval_amount"), value=str(current["adjustment_approval.amount"]),
                      key="set_approval_amount", max_chars=20, help=t("shop_settings.approval_amount_help"))
        st.text_input(t("rb.setting_approval_units"), value=str(current["adjustment_approval.units"]),
                      key="set_approval_units", max_chars=10, help=t("rb.setting_approval_units_help"))
        st.subheader(t("rb.setting_refunds"))
        st.text_input(t("rb.setting_refund_approval"), value=str(current["refund_approval.amount"]),
                      key="set_refund_approval", max_chars=20, help=t("rb.setting_refund_approval_help"))
        st.subheader(t("shop_settings.backups"))
        st.toggle(t("shop_settings.backup_enabled"), value=bool(current["backup_schedule.enabled"]),
                  key="set_backup_enabled", help=t("shop_settings.backup_help"))
        hour, minute, every, keep = st.columns(4)
        hour.number_input(t("shop_settings.backup_hour"), min_value=0, max_value=23, step=1,
                          value=int(current["backup_schedule.hour"]), key="set_backup_hour")
        minute.number_input(t("shop_settings.backup_minute"), min_value=0, max_value=59, step=1,
                            value=int(current["backup_schedule.minute"]), key="set_backup_minute")
        every.number_input(t("shop_settings.backup_every_days"), min_value=1, max_value=30, step=1,
                           value=int(current["backup_schedule.every_days"]), key="set_backup_every_days")
        keep.number_input(t("shop_settings.backup_keep"), min_value=1, max_value=365, step=1,
                          value=int(current["backup_schedule.keep"]), key="set_backup_keep")
        st.form_submit_button(t("shop_settings.save"), type="primary", on_click=_save)
    show_notice(state.pop("set_notice", None), what="settings")
    _names_section()
