"""Login: the right password opens the role's pages only; failures say why, distinctly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import db
from core.i18n import translate
from core.models import User
from core.permissions import SYSTEM
from core.services.users import MAX_FAILED_LOGINS, create_user
from tests.pages.conftest import new_app

PASSWORD = "secret123"


def _login(username: str, password: str):
    at = new_app()
    at.session_state["lang"] = "en"
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def _failed_logins(username: str) -> int:
    with db.transaction() as s:
        return s.execute(select(User.failed_logins).where(User.username == username)).scalar_one()


def test_login_shows_only_the_roles_pages() -> None:
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    at = _login("clerk1", PASSWORD)
    assert not at.exception
    assert at.session_state["role"] == "clerk"
    assert at.title[0].value == translate("page.order_entry", "en")  # a clerk lands on order entry
    with pytest.raises(ValueError):
        at.switch_page("pages/dashboard.py")  # not registered for a clerk
    at.switch_page("pages/orders.py").run()
    assert not at.exception
    assert at.title[0].value == translate("page.orders", "en")


def test_manager_lands_on_dashboard() -> None:
    create_user("boss", PASSWORD, "manager", SYSTEM)
    at = _login("boss", PASSWORD)
    assert at.title[0].value == translate("page.dashboard", "en")
    at.switch_page("pages/order_entry.py").run()
    assert not at.exception


def test_wrong_password_is_refused_and_counted() -> None:
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    at = _login("clerk1", "wrong-password1")
    assert "role" not in at.session_state
    assert [e.value for e in at.error] == [translate("login.invalid", "en")]
    assert _failed_logins("clerk1") == 1


def test_locked_account_has_its_own_message() -> None:
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    for _ in range(MAX_FAILED_LOGINS - 1):
        _login("clerk1", "wrong-password1")
    at = _login("clerk1", "wrong-password1")
    assert "role" not in at.session_state
    assert len(at.error) == 1 and at.error[0].value != translate("login.invalid", "en")
    assert at.error[0].value.startswith(translate("login.locked", "en", minutes=15)[:20])
    # even the right password is refused while locked
    assert "role" not in _login("clerk1", PASSWORD).session_state


def test_logout_returns_to_login() -> None:
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    at = _login("clerk1", PASSWORD)
    at.button(key="logout").click().run()
    assert "username" not in at.session_state and "oe_basket" not in at.session_state
    # AppTest reruns the page file itself here (see test below); it must not render for nobody
    assert "oe_submit" not in [b.key for b in at.button]
    assert at.session_state["lang"] == "en"  # the language choice survives logout


@pytest.mark.parametrize(("role", "page"), [("clerk", "dashboard.py"), ("warehouse", "order_entry.py")])
def test_pages_refuse_roles_even_when_run_directly(role: str, page: str) -> None:
    """Streamlit can run a page file without app.py; the page checks the role itself."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(f"../../pages/{page}", default_timeout=60)
    at.session_state["username"], at.session_state["role"], at.session_state["lang"] = "x", role, "en"
    at.run()
    assert [e.value for e in at.error] == [translate("error.permission", "en")]
    assert not at.metric and not at.button


def test_pages_refuse_anonymous_sessions() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../../pages/orders.py", default_timeout=60).run()
    assert [w.value for w in at.warning] == [translate("login.required", "zh")]
    assert not at.dataframe
