"""Admin → Rules: the review, allocation, carrier and tagging rules the order flow applies.

Pick a rule (or start a new one), edit its conditions as a table of *field · operator · value*
rows joined by "all"/"any" (deeper nesting is edited as JSON), set what it does, **preview**
which of the last 1,000 orders it would catch, then save — the next order already follows it.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import FieldIssue, OMSError, ValidationError
from core.services import catalog
from core.services.rules_admin import (
    ACTION_KEYS,
    COMBINATORS,
    FIELDS,
    KINDS,
    OPERATORS,
    REVIEW_STATUSES,
    TIERS,
    RuleInfo,
    RuleInput,
    apply_tagging,
    clauses_of,
    condition_from_clauses,
    delete_rule,
    get_rule,
    list_rules,
    preview_rule,
    save_rule,
)
from core.webui import (
    EMPTY_CELL,
    Notice,
    attempt,
    cached_read,
    guard_page,
    label,
    labels,
    localize_times,
    show_error,
    show_notice,
    show_table,
    t,
    translate_values,
)

actor = guard_page("rules.edit")
state = st.session_state
NEW = 0  # the "new rule" choice in the picker
EDITOR_OPS = tuple(op for op in OPERATORS if op != "contains")


def _loaded(rule: RuleInfo | None) -> dict[str, Any]:
    """The editor's starting values for ``rule`` (a blank review rule for a new one)."""
    if rule is None:
        return {"name": "", "kind": "review", "priority": 100, "active": True, "combine": "all",
                "rows": [("total", ">", "")], "json": None, "action": {}}
    flat = clauses_of(rule.condition)
    return {"name": rule.name, "kind": rule.kind, "priority": rule.priority, "active": rule.active,
            "combine": flat[0] if flat else "all", "rows": flat[1] if flat else [],
            "json": None if flat else json.dumps(rule.condition, ensure_ascii=False, indent=2),
            "action": dict(rule.action)}


def _condition(edited: pd.DataFrame | None, use_json: bool) -> dict[str, Any]:
    """The condition on screen; a JSON typo is reported like any other field problem."""
    if use_json:
        try:
            parsed = json.loads(state.get("rl_json") or "")
        except json.JSONDecodeError as exc:
            raise ValidationError([FieldIssue("condition", "inv_issue.bad_json", value=exc.lineno)]) from exc
        return parsed if isinstance(parsed, dict) else {}
    rows = [] if edited is None else [
        ("" if pd.isna(r.field) else str(r.field), "" if pd.isna(r.op) else str(r.op),
         "" if pd.isna(r.value) else str(r.value)) for r in edited.itertuples()]
    return condition_from_clauses(state.get("rl_combine", "all"), rows)


def _action(kind: str) -> dict[str, Any]:
    values = {key: state.get(f"rl_action_{key}") for key in ACTION_KEYS[kind]}
    action: dict[str, Any] = {}
    for key, value in values.items():
        if value in (None, "") or (key == "priority" and not state.get("rl_use_priority")):
            continue
        action[key] = int(value) if key == "priority" else value
    return action


def _condition_editor(start: dict[str, Any], kind: str) -> tuple[pd.DataFrame | None, bool]:
    use_json = st.toggle(t("rl.json_mode"), value=start["json"] is not None, key=f"rl_use_json_{state['rl_rev']}")
    if use_json:
        if f"rl_json_seed_{state['rl_rev']}" not in state:
            state[f"rl_json_seed_{state['rl_rev']}"] = True
            state["rl_json"] = start["json"] or json.dumps({"all": []})
        st.text_area(t("rl.condition_json"), key="rl_json", height=160)
        return None, True
    st.radio(t("rl.combine"), COMBINATORS, index=COMBINATORS.index(start["combine"]), horizontal=True,
             format_func=labels("rl_combine", COMBINATORS).__getitem__, key="rl_combine")
    rows = pd.DataFrame(start["rows"] or [("", "", "")], columns=["field", "op", "value"])
    edited = st.data_editor(
        rows, placeholder=EMPTY_CELL, num_rows="dynamic", hide_index=True, key=f"rl_rows_{state['rl_rev']}",
        column_config={
            "field": st.column_config.SelectboxColumn(t("rl.field"), options=list(FIELDS[kind]),
                                                      format_func=lambda f: label("fact", f)),
            "op": st.column_config.SelectboxColumn(t("rl.op"), options=list(EDITOR_OPS),
                                                   format_func=lambda o: label("rl_op", o)),
            "value": st.column_config.TextColumn(t("rl.value"), help=t("rl.value_help")),
        })
    return edited, False


def _action_editor(start: dict[str, Any], kind: str) -> None:
    action = start["action"] if start["kind"] == kind else {}
    rev = state["rl_rev"]
    seeds = {f"rl_action_{k}": action.get(k) for k in ACTION_KEYS[kind]} | {"rl_use_priority": "priority" in action}
    if state.get("rl_action_seed") != (rev, kind):  # fill the inputs once per loaded rule and kind
        state.update(seeds, rl_action_seed=(rev, kind))
    st.markdown(f"**{t('rl.then')}**")
    if kind == "review":
        st.selectbox(t("rl.set_status"), [None, *REVIEW_STATUSES], key="rl_action_status", placeholder=t("rl.no_change"),
                     format_func=lambda s: t("rl.no_change") if s is None else label("status", s))
    elif kind == "allocation":
        warehouses = cached_read(catalog.list_warehouses)
        names = dict(zip(warehouses["code"], warehouses["name"], strict=True))
        st.selectbox(t("field.warehouse"), [None, *names], key="rl_action_warehouse", placeholder="—",
                     format_func=lambda c: "—" if c is None else f"{c} · {names.get(c, c)}")
    elif kind == "carrier":
        st.text_input(t("field.carrier"), key="rl_action_carrier")
    elif kind == "gift":
        sku, qty, fallback = st.columns(3)
        sku.text_input(t("rl.gift_sku"), key="rl_action_gift", max_chars=64)
        if state.get("rl_action_qty") is None:
            state["rl_action_qty"] = 1
        qty.number_input(t("rl.gift_qty"), min_value=1, max_value=10, step=1, key="rl_action_qty")
        fallback.text_input(t("rl.gift_fallback"), key="rl_action_fallback", max_chars=64)
    else:
        st.text_input(t("rl.tag"), key="rl_action_tag")
        st.selectbox(t("rl.tier"), [None, *TIERS], key="rl_action_tier", placeholder=t("rl.no_change"),
                     format_func=lambda c: t("rl.no_change") if c is None else label("rl_tier", c))
    if "priority" in ACTION_KEYS[kind]:
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        left.checkbox(t("rl.use_priority"), key="rl_use_priority")
        if state.get("rl_action_priority") is None:
            state["rl_action_priority"] = 10
        right.number_input(t("field.priority"), min_value=-1000, max_value=1000, step=1, key="rl_action_priority",
                           disabled=not state.get("rl_use_priority"))


def _select_rule(rules: pd.DataFrame) -> RuleInfo | None:
    options = {NEW: t("rl.new_rule")} | {int(r.id): f"{label('rule_kind', r.kind)} · {r.priority} · {r.name}"
                                         for r in rules.itertuples()}
    picked = st.selectbox(t("rl.pick"), list(options), format_func=options.__getitem__, key="rl_pick",
                          on_change=lambda: state.update(rl_rev=state.get("rl_rev", 0) + 1, rl_preview=None))
    return None if picked == NEW else attempt(get_rule, int(picked), actor)


def _editor(rule: RuleInfo | None) -> None:
    state.setdefault("rl_rev", 0)
    start = _loaded(rule)
    rev = state["rl_rev"]
    name_col, kind_col, prio_col, active_col = st.columns([4, 2, 1, 1], vertical_alignment="bottom")
    name_col.text_input(t("field.name"), value=start["name"], key=f"rl_name_{rev}", max_chars=100)
    kind = kind_col.selectbox(t("rl.kind"), KINDS, index=KINDS.index(start["kind"]), key=f"rl_kind_{rev}",
                              format_func=labels("rule_kind", KINDS).__getitem__)
    prio_col.number_input(t("rl.order"), min_value=0, max_value=10000, value=start["priority"], step=1,
                          key=f"rl_priority_{rev}", help=t("rl.order_help"))
    active_col.checkbox(t("field.active"), value=start["active"], key=f"rl_active_{rev}")
    st.markdown(f"**{t('rl.when')}**")
    st.caption(t(f"rl.facts_{kind}"))
    edited, use_json = _condition_editor(start, kind)
    _action_editor(start, kind)
    preview_col, save_col, delete_col = st.columns(3)
    if preview_col.button(t("rl.preview"), key="rl_preview_btn"):
        try:
            state["rl_preview"] = preview_rule(kind, _condition(edited, use_json), actor)
        except OMSError as exc:
            show_error(exc, what="rule")
    if save_col.button(t("rl.save"), key="rl_save", type="primary"):
        try:
            data = RuleInput(state.get(f"rl_name_{rev}", ""), kind, int(state.get(f"rl_priority_{rev}") or 0),
                             _condition(edited, use_json), _action(kind), bool(state.get(f"rl_active_{rev}")))
            saved = save_rule(rule.id if rule else None, data, actor)
        except OMSError as exc:
            show_error(exc, what="rule")
        else:
            state.update(rl_notice=Notice("success", "rl.saved", {"name": saved.name}), rl_rev=rev + 1,
                         rl_preview=None, rl_pick_next=saved.id)
            st.rerun()
    if rule is not None:
        sure = delete_col.checkbox(t("rl.confirm_delete"), key=f"rl_sure_{rev}")
        if delete_col.button(t("rl.delete"), key="rl_delete", disabled=not sure):
            try:
                delete_rule(rule.id, actor)
            except OMSError as exc:
                show_error(exc, what="rule")
            else:
                state.update(rl_notice=Notice("success", "rl.deleted", {"name": rule.name}), rl_rev=rev + 1,
                             rl_pick_next=NEW, rl_preview=None)
                st.rerun()


def _preview() -> None:
    preview = state.get("rl_preview")
    if preview is None:
        return
    st.info(t("rl.preview_result", matched=preview.matched, checked=preview.checked))
    if not preview.orders.empty:
        shown = translate_values(localize_times(preview.orders, "placed_at"), status="status")
        show_table(shown, download="rule_preview")


def _tagging() -> None:
    with st.expander(t("rl.tagging"), icon=":material/sell:"):
        st.caption(t("rl.tagging_help"))
        if st.button(t("rl.apply_tagging"), key="rl_apply_tagging"):
            result = attempt(apply_tagging, actor)
            if result is not None:
                st.success(t("rl.tagging_done", customers=result.customers, tagged=len(result.tagged),
                             orders=result.orders_prioritised))


st.title(t("page.rules"))
show_notice(state.pop("rl_notice", None), what="rule")
if "rl_pick_next" in state:  # a saved or deleted rule picks itself (before the picker is drawn)
    state["rl_pick"] = state.pop("rl_pick_next")
kind_filter = st.segmented_control(t("rl.kind"), KINDS, key="rl_kind_filter",
                                   format_func=labels("rule_kind", KINDS).__getitem__)
all_rules = attempt(list_rules, actor, kind_filter)
if all_rules is not None:
    shown_rules = translate_values(localize_times(all_rules.drop(columns=["id"]), "updated_at"), kind="rule_kind")
    show_table(shown_rules, download="rules")
    st.divider()
    _editor(_select_rule(all_rules))
    _preview()
    _tagging()
