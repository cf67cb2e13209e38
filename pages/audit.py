"""Audit trail for managers: who changed what and when, filtered by record, user, action and
date — the exact count, a page at a time, "download all N rows" — with a field-by-field before/after diff of the picked change.

Read-only by construction: the page offers no edit or delete, the service layer has none, and
the database refuses UPDATE/DELETE on ``audit_log`` (migration 0007). Reads are cached on the
data version, which is the newest audit id itself, so a change made a moment ago shows on the
next rerun.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from core.analytics.audit import audit_entry, audit_facets, audit_log, count_audit, export_audit
from core.timeutil import local_day_start_utc, local_today
from core.webui import (
    attempt,
    cached_read,
    download_all,
    guard_page,
    label,
    local_time,
    localize_times,
    pager,
    show_table,
    t,
)

actor = guard_page("audit.view")
state = st.session_state
DEFAULT_DAYS = 7  # the list opens on the last week; clear the dates to search all history


def _choices(prefix: str, codes: list[str]) -> dict[str | None, str]:
    """``{None: "All", code: display name}``, resolved now (see ``webui.labels``)."""
    return {None: t("common.all")} | {code: label(prefix, code) for code in codes}


def _show_history(entity: str, entity_id: str | None) -> None:
    """Button callback: narrow the list to every change of the picked record."""
    state.update(au_entity=entity, au_entity_id=entity_id or "", au_user=None, au_action=None, au_dates=())


def _date_bounds(picked: Any) -> tuple[dt.datetime | None, dt.datetime | None]:
    if not isinstance(picked, tuple | list) or len(picked) != 2:
        return None, None
    return local_day_start_utc(picked[0]), local_day_start_utc(picked[1] + dt.timedelta(days=1))


def _filters(facets: dict[str, list[str]]) -> dict[str, Any]:
    entity_col, id_col, user_col, action_col, date_col = st.columns([2, 2, 2, 2, 3])
    entities = _choices("entity", facets["entity"])
    users = {None: t("common.all")} | {name: name for name in facets["actor"]}
    actions = _choices("action", facets["action"])
    entity = entity_col.selectbox(t("field.entity"), list(entities), format_func=entities.__getitem__,
                                  key="au_entity")
    entity_id = id_col.text_input(t("field.entity_id"), key="au_entity_id", placeholder=t("auditlog.entity_id_hint"))
    username = user_col.selectbox(t("field.actor"), list(users), format_func=users.__getitem__, key="au_user")
    action = action_col.selectbox(t("field.action"), list(actions), format_func=actions.__getitem__,
                                  key="au_action")
    # the default lives in session state (not value=) so the history button can clear it
    state.setdefault("au_dates", (local_today() - dt.timedelta(days=DEFAULT_DAYS - 1), local_today()))
    dates = date_col.date_input(t("auditlog.dates"), key="au_dates")
    date_from, date_to = _date_bounds(dates)
    return {"entity": entity, "entity_id": entity_id or None, "username": username, "action": action,
            "date_from": date_from, "date_to": date_to}


def _as_listed(entries: pd.DataFrame) -> pd.DataFrame:
    """A page of entries, or a chunk of the full download, as the list shows it."""
    shown = localize_times(entries, "at")
    shown["entity_id"] = shown["entity_id"].fillna("")
    shown["entity"] = [label("entity", v) for v in shown["entity"]]
    shown["action"] = [label("action", v) for v in shown["action"]]
    return shown.drop(columns=["id"])


def _field_name(key: str) -> str:
    """A changed field by its label: ``on_hand`` → 在库; ``received.TEA`` → 已收货 · TEA."""
    head, dot, rest = key.partition(".")
    return label("field", head) + (f" · {rest}" if dot else "")


def _detail(entry_id: int) -> None:
    entry = attempt(audit_entry, entry_id, actor)
    if entry is None:
        return
    st.subheader(t("auditlog.detail", action=label("action", entry.action), entity=label("entity", entry.entity),
                   entity_id=entry.record or ""))
    st.caption(t("auditlog.detail_caption", actor=entry.actor, at=local_time(entry.at, "%Y-%m-%d %H:%M:%S")))
    if entry.diff.empty:
        st.info(t("auditlog.no_values"))
    else:
        show_table(entry.diff.assign(field=[_field_name(f) for f in entry.diff["field"]]))
    st.button(t("auditlog.history"), key="au_history", on_click=_show_history, args=(entry.entity, entry.entity_id),
              icon=":material/history:")


st.title(t("page.audit"))
st.caption(t("auditlog.intro"))
facets = attempt(cached_read, audit_facets, actor)
if facets is not None:
    filters = _filters(facets)
    total = attempt(cached_read, count_audit, actor, **filters)
    if total == 0:
        st.info(t("auditlog.none_found"))
    elif total is not None:
        st.caption(t("auditlog.found", n=total))
        offset, limit = pager("au_list", total)
        entries = attempt(cached_read, audit_log, actor, offset=offset, limit=limit, **filters)
        if entries is not None:
            show_table(_as_listed(entries))
            download_all("audit_log", total, lambda sink: export_audit(actor, sink, **filters), _as_listed)
            options = {int(r.id): f"{local_time(r.at)} · {r.actor} · {label('action', r.action)} · "
                                  f"{label('entity', r.entity)} {r.entity_id or ''}" for r in entries.itertuples()}
            picked = st.selectbox(t("auditlog.pick"), list(options), format_func=options.__getitem__, key="au_pick")
            if picked is not None:
                _detail(int(picked))
