"""User management for the admin: the accounts with their role, state and last login; create an
account; change a role; deactivate or reactivate; clear failed sign-ins; reset a password.

Every button calls one service in ``core.services.users`` (each writes an audit row). A new or
reset password is either typed by the admin or generated, and shown exactly once: the message
holding it is dropped at the next interaction. The services keep the shop from locking
itself out (the last active admin cannot be demoted or deactivated, nobody deactivates
themselves).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.permissions import ROLES
from core.services import users
from core.services.users import generate_password
from core.webui import (
    Notice,
    attempt,
    guard_page,
    labels,
    localize_times,
    show_notice,
    show_table,
    t,
    translate_values,
)

actor = guard_page("user.manage")
state = st.session_state
ROLE_NAMES = labels("role", ROLES)


def _run(call: Callable[[], object], notice: Notice) -> bool:
    """Callback body: one service call; its error or ``notice`` is shown on the next run."""
    try:
        call()
    except OMSError as exc:
        state["us_notice"] = exc
        return False
    state["us_notice"] = notice
    return True


def _create() -> None:
    username = (state.get("us_new_username") or "").strip()
    password = state.get("us_new_password") or generate_password()
    display_name = (state.get("us_new_display") or "").strip() or None
    if _run(lambda: users.create_user(username, password, state.get("us_new_role", ""), actor, display_name=display_name),
            Notice("success", "users.created", {"username": username, "password": password})):
        state.update(us_new_username="", us_new_display="", us_new_password="")


def _change_role(username: str) -> None:
    role = state.get(f"us_role_{username}", "")
    _run(lambda: users.change_role(username, role, actor),
         Notice("success", "users.role_changed", {"username": username, "role": ROLE_NAMES.get(role, role)}))


def _set_active(username: str, active: bool) -> None:
    _run(lambda: users.set_active(username, active, actor),
         Notice("success", "users.reactivated" if active else "users.deactivated", {"username": username}))


def _unlock(username: str) -> None:
    _run(lambda: users.unlock_user(username, actor), Notice("success", "users.unlocked", {"username": username}))


def _reset_password(username: str) -> None:
    password = state.get("us_reset_password") or generate_password()
    state["us_reset_password"] = ""
    _run(lambda: users.reset_password(username, password, actor),
         Notice("success", "users.password_reset", {"username": username, "password": password}))


def _user_table(accounts: pd.DataFrame) -> None:
    shown = translate_values(localize_times(accounts, "last_login_at", "created_at"), role="role")
    show_table(shown, download="users")


def _create_form() -> None:
    with st.expander(t("users.create"), icon=":material/person_add:"):
        with st.form("us_create"):
            name_col, display_col = st.columns(2)
            name_col.text_input(t("field.username"), key="us_new_username", max_chars=users.MAX_USERNAME)
            display_col.text_input(t("field.display_name"), key="us_new_display", max_chars=users.MAX_DISPLAY_NAME)
            role_col, password_col = st.columns(2)
            role_col.selectbox(t("field.role"), ROLES, format_func=ROLE_NAMES.__getitem__, key="us_new_role",
                               index=ROLES.index("clerk"))
            password_col.text_input(t("field.password"), type="password", key="us_new_password",
                                    help=t("users.password_help"))
            st.form_submit_button(t("users.create_submit"), type="primary", key="us_create_submit",
                                  on_click=_create)


def _manage(accounts: pd.DataFrame) -> None:
    st.subheader(t("users.manage"))
    picked = st.selectbox(t("users.pick"), accounts["username"].tolist(), key="us_pick")
    if picked is None:
        return
    row = accounts.set_index("username").loc[picked]
    role_col, role_button = st.columns([3, 1], vertical_alignment="bottom")
    role_col.selectbox(t("field.role"), ROLES, index=ROLES.index(row["role"]), format_func=ROLE_NAMES.__getitem__,
                       key=f"us_role_{picked}")
    role_button.button(t("users.change_role"), key="us_change_role", on_click=_change_role, args=(picked,))
    password_col, reset_button = st.columns([3, 1], vertical_alignment="bottom")
    password_col.text_input(t("users.new_password"), type="password", key="us_reset_password",
                            help=t("users.password_help"))
    reset_button.button(t("users.reset_password"), key="us_reset", on_click=_reset_password, args=(picked,))
    buttons = st.columns(3)
    if bool(row["active"]):
        buttons[0].button(t("users.deactivate"), key="us_deactivate", on_click=_set_active, args=(picked, False),
                          icon=":material/person_off:")
    else:
        buttons[0].button(t("users.reactivate"), key="us_reactivate", on_click=_set_active, args=(picked, True),
                          icon=":material/person_check:")
    if row["failed_logins"] > 0:
        buttons[1].button(t("users.unlock"), key="us_unlock", on_click=_unlock, args=(picked,),
                          icon=":material/lock_open:")


st.title(t("page.users"))
# A message carrying a password is shown once: popped here, gone at the next interaction.
notice = state.pop("us_notice", None)
show_notice(notice, what="user")
accounts = attempt(users.list_users, actor)
if accounts is not None:
    _user_table(accounts)
    _create_form()
    if not accounts.empty:
        _manage(accounts)
