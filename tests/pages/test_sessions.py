"""Sessions: an idle session is signed out, a deactivated account is signed out at its next
click, a changed role applies at once; lockout at the login form survives the right password.

The checks run in every page's guard (``core.webui.current_actor``), so they hold even when
Streamlit runs a page file without ``app.py``."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.permissions import SYSTEM, Actor
from core.services.users import PAIR_BACKOFF, change_role, create_user, set_active
from tests.pages.conftest import new_app

PASSWORD = "Secret-pass9"
ADMIN = Actor("root", "admin")


@pytest.fixture(autouse=True)
def accounts() -> None:
    create_user("root", PASSWORD, "admin", SYSTEM)
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)


def _session(idle_seconds: float = 0, role: str = "clerk") -> AppTest:
    """The app as the next click of a session that signed in as clerk1 through the form."""
    at = new_app()
    now = time.time()
    for key, value in {"username": "clerk1", "role": role, "lang": "en", "signed_in_at": now - idle_seconds - 60,
                       "last_seen": now - idle_seconds, "oe_basket": [{"sku": "X", "qty": 1}]}.items():
        at.session_state[key] = value
    return at.run()


def test_form_login_starts_the_idle_clock() -> None:
    at = new_app()
    at.session_state["lang"] = "en"
    at.run()
    at.text_input(key="login_username").input("clerk1")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="login_submit").click().run()
    assert at.session_state["role"] == "clerk"
    assert time.time() - at.session_state["signed_in_at"] < 60 and "last_seen" in at.session_state


def test_active_session_continues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_IDLE_MINUTES", "30")
    at = _session(idle_seconds=29 * 60)
    assert at.session_state["username"] == "clerk1" and not at.exception
    assert at.title[0].value == translate("page.order_entry", "en")
    assert time.time() - at.session_state["last_seen"] < 60  # the click restarted the idle clock


def test_idle_session_is_signed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_IDLE_MINUTES", "30")
    at = _session(idle_seconds=31 * 60)
    assert "username" not in at.session_state and "oe_basket" not in at.session_state
    assert at.session_state["lang"] == "en"
    assert [i.value for i in at.info] == [translate("login.expired", "en", minutes=30)]
    assert at.button(key="login_submit")


def test_deactivated_account_is_signed_out_at_the_next_click() -> None:
    set_active("clerk1", False, ADMIN)
    at = _session()
    assert "username" not in at.session_state
    assert [e.value for e in at.error] == [translate("login.disabled", "en")]


def test_changed_role_applies_at_once() -> None:
    change_role("clerk1", "manager", ADMIN)
    at = _session(role="clerk")
    assert at.session_state["role"] == "manager"
    at.switch_page("pages/dashboard.py").run()  # registered now that the role is manager
    assert not at.exception and at.title[0].value == translate("page.dashboard", "en")


def test_injected_sessions_without_a_form_login_are_not_rechecked() -> None:
    """Page tests put a role into session state; only form logins are re-read from the DB."""
    at = new_app()
    at.session_state["username"], at.session_state["role"], at.session_state["lang"] = "ghost", "clerk", "en"
    at.run()
    assert at.session_state["username"] == "ghost" and not at.exception


def test_backoff_holds_even_for_the_right_password() -> None:
    at = new_app()
    at.session_state["lang"] = "en"
    at.run()
    for _ in range(PAIR_BACKOFF.free):
        at.text_input(key="login_username").input("clerk1")
        at.text_input(key="login_password").input("wrong-pass1")
        at.button(key="login_submit").click().run()
    assert at.error[0].value == translate("login.invalid", "en")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="login_submit").click().run()
    assert "username" not in at.session_state
    assert at.error[0].value.startswith(translate("sec.login_throttled", "en", seconds=0).split("0")[0])
