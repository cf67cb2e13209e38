"""API tokens for the admin: one per integration (a web shop, a WMS…), created with a role and
scopes, shown once, revocable; when each was last used. ``docs/api.md`` explains the API."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.permissions import ROLES, SCOPES
from core.services import api_tokens
from core.webui import EMPTY_CELL, Notice, attempt, guard_page, label, local_time, show_error, show_notice, t

actor = guard_page("user.manage")
state = st.session_state


def _create() -> None:
    """Form callback: the new secret is kept in the session only until it is shown once."""
    try:
        new = api_tokens.create_token(state["tok_name"], state["tok_role"], list(state["tok_scopes"]), actor)
    except OMSError as exc:
        state["tok_notice"] = exc
        return
    state["tok_notice"] = None
    state["tok_secret"] = new.token


def _revoke() -> None:
    try:
        info = api_tokens.revoke_token(state["tok_revoke"], actor)
    except OMSError as exc:
        state["tok_notice"] = exc
        return
    state["tok_notice"] = Notice("success", "api.revoked", {"name": info.name})


st.title(t("page.api_tokens"))
st.caption(t("api.tokens_intro"))
notice = state.get("tok_notice")
if isinstance(notice, OMSError):
    show_error(notice)
else:
    show_notice(notice)
secret = state.pop("tok_secret", None)
if secret:
    st.success(t("api.created_once"))
    st.code(secret, language=None)

tokens = attempt(api_tokens.list_tokens, actor)
if tokens is not None and not tokens:
    st.info(t("api.none"))
elif tokens:
    st.dataframe(pd.DataFrame([{
        t("api.col_name"): tok.name, t("api.col_prefix"): tok.prefix + "…", t("api.col_role"): label("role", tok.role),
        t("api.col_scopes"): ", ".join(tok.scopes), t("api.col_created"): local_time(tok.created_at),
        t("api.col_last_used"): local_time(tok.last_used_at), t("api.col_revoked"): local_time(tok.revoked_at),
    } for tok in tokens]), hide_index=True, placeholder=EMPTY_CELL)
    active = [tok.name for tok in tokens if tok.revoked_at is None]
    if active:
        st.selectbox(t("api.revoke_which"), active, key="tok_revoke")
        st.button(t("api.revoke"), key="tok_revoke_btn", on_click=_revoke, icon=":material/block:")

with st.form("tok_form", clear_on_submit=True):
    st.subheader(t("api.create"))
    st.text_input(t("api.col_name"), key="tok_name", max_chars=api_tokens.MAX_NAME)
    role_names = {r: label("role", r) for r in ROLES}  # translated now, not when the widget formats
    st.selectbox(t("api.col_role"), ROLES, key="tok_role", format_func=role_names.__getitem__)
    st.multiselect(t("api.col_scopes"), list(SCOPES), key="tok_scopes", placeholder=t("common.choose_many"))
    st.form_submit_button(t("api.create"), type="primary", on_click=_create)
