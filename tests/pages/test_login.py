"""Login: the right password opens the role's pages only; failures get one answer whatever the
username, a growing wait per client, and never lock the owner out of another client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from streamlit.runtime.context import ContextProxy
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import LoginAttempt
from core.permissions import SYSTEM
from core.services.users import PAIR_BACKOFF, create_user
from tests.pages.conftest import new_app

PASSWORD = "Tea-and-rice-7"


def _submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button(key="login_submit").click().run()


def _login(username: str, password: str) -> AppTest:
    """A fresh browser session (a new tab, or a reload) signing in once."""
    at = new_app()
    at.session_state["lang"] = "en"
    at.run()
    return _submit(at, username, password)


def _failed_logins(username: str) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count(LoginAttempt.id)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(False))).scalar_one()


def _errors(at: AppTest) -> list[str]:
    """The error texts with the seconds to wait blanked (the clock ticks between runs)."""
    return [re.sub(r"\d+", "N", e.value) for e in at.error]


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


def test_unknown_and_existing_usernames_get_the_same_answers() -> None:
    """Same messages in the same order, the backoff included: usernames cannot be probed."""
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    answers = {}
    for username in ("clerk1", "no-such-user"):
        at = new_app()
        at.session_state["lang"] = "en"
        at.run()
        answers[username] = [_errors(_submit(at, username, "Wrong-guess-1")) for _ in range(PAIR_BACKOFF.free + 2)]
    assert answers["clerk1"] == answers["no-such-user"]
    assert answers["clerk1"][0] == [translate("login.invalid", "en")]
    assert answers["clerk1"][-1] == [re.sub(r"\d+", "N", translate("sec.login_throttled", "en", seconds=1))]


def _address(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """The address Streamlit reports for the next sessions (AppTest has none of its own)."""
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda _self: address))


def test_a_guesser_waits_but_the_owner_signs_in_from_another_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    _address(monkeypatch, "203.0.113.9")
    guesser = new_app()
    guesser.session_state["lang"] = "en"
    guesser.run()
    for _ in range(PAIR_BACKOFF.free):
        _submit(guesser, "clerk1", "Wrong-guess-1")
    _submit(guesser, "clerk1", PASSWORD)  # even the right password waits on the guesser's browser
    assert "role" not in guesser.session_state
    assert _errors(guesser) == [re.sub(r"\d+", "N", translate("sec.login_throttled", "en", seconds=1))]
    _address(monkeypatch, "198.51.100.7")
    owner = _login("clerk1", PASSWORD)
    assert owner.session_state["role"] == "clerk"


def test_the_wait_survives_a_reload_from_the_same_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failures are kept server-side under the browser's address, not in the session."""
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    _address(monkeypatch, "203.0.113.9")
    for _ in range(PAIR_BACKOFF.free):
        _login("clerk1", "Wrong-guess-1")
    reloaded = _login("clerk1", PASSWORD)
    assert "role" not in reloaded.session_state
    assert _errors(reloaded) == [re.sub(r"\d+", "N", translate("sec.login_throttled", "en", seconds=1))]
    _address(monkeypatch, "198.51.100.7")
    assert _login("clerk1", PASSWORD).session_state["role"] == "clerk"


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
