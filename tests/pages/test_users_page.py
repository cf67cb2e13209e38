"""User management page: the admin creates accounts, changes roles, deactivates, unlocks and
resets passwords; every refusal is shown and nothing is written then."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.permissions import SYSTEM
from core.services.users import PAIR_BACKOFF, authenticate, create_user, get_user

ADMIN = "root"
PASSWORD = "Secret-pass9"


@pytest.fixture
def page(logged_in: Callable[..., AppTest]) -> AppTest:
    create_user(ADMIN, PASSWORD, "admin", SYSTEM)
    create_user("clerk1", PASSWORD, "clerk", SYSTEM)
    return logged_in("admin", username=ADMIN, page="pages/users.py")


def _create(at: AppTest, username: str, role: str, password: str = "") -> AppTest:
    at.text_input(key="us_new_username").input(username)
    at.selectbox(key="us_new_role").select(role)
    at.text_input(key="us_new_password").input(password)
    return at.button(key="us_create_submit").click().run()


def test_lists_accounts_without_password_hashes(page: AppTest) -> None:
    table = page.dataframe[0].value
    assert table[translate("field.username", "en")].tolist() == ["clerk1", ADMIN]
    assert not any("hash" in str(c).lower() or "password" in str(c).lower() for c in table.columns)


def test_create_user_with_a_generated_password_shown_once(page: AppTest) -> None:
    _create(page, "wh1", "warehouse")
    assert not page.exception
    message = page.success[0].value
    password = message.split("Initial password: ")[1].split(" ")[0]
    assert authenticate("wh1", password, "test").user is not None
    assert get_user("wh1").role == "warehouse"
    page.run()  # the next interaction: the password is gone from the screen
    assert not page.success


def test_weak_password_is_refused(page: AppTest) -> None:
    _create(page, "wh1", "warehouse", password="Password123456")
    assert translate("error.validation_what", "en", what=translate("what.user", "en")) in [e.value for e in page.error]
    assert translate("issue.pw_common", "en") in "\n".join(m.value for m in page.markdown)
    assert "wh1" not in page.dataframe[0].value[translate("field.username", "en")].tolist()


def test_change_role_and_deactivate(page: AppTest) -> None:
    page.selectbox(key="us_pick").select("clerk1").run()
    page.selectbox(key="us_role_clerk1").select("service")
    page.button(key="us_change_role").click().run()
    assert get_user("clerk1").role == "service"
    page.button(key="us_deactivate").click().run()
    assert not get_user("clerk1").active
    assert authenticate("clerk1", PASSWORD, "test").reason == "invalid"
    page.button(key="us_reactivate").click().run()
    assert authenticate("clerk1", PASSWORD, "test").user is not None


def test_admin_cannot_lock_the_shop_out(page: AppTest) -> None:
    page.selectbox(key="us_pick").select(ADMIN).run()
    page.button(key="us_deactivate").click().run()
    assert translate("issue.self_deactivate", "en") in "\n".join(m.value for m in page.markdown)
    page.selectbox(key=f"us_role_{ADMIN}").select("manager")
    page.button(key="us_change_role").click().run()
    assert translate("issue.last_admin", "en") in "\n".join(m.value for m in page.markdown)
    assert get_user(ADMIN).role == "admin" and get_user(ADMIN).active


def test_unlock_and_reset_password(page: AppTest) -> None:
    for _ in range(PAIR_BACKOFF.free):
        authenticate("clerk1", "wrong-pass1", "test")
    assert authenticate("clerk1", PASSWORD, "test").reason == "throttled"
    page.run()
    assert page.dataframe[0].value.set_index(translate("field.username", "en")).loc[
        "clerk1", translate("field.failed_logins", "en")] == PAIR_BACKOFF.free
    page.selectbox(key="us_pick").select("clerk1").run()
    page.button(key="us_unlock").click().run()
    assert authenticate("clerk1", PASSWORD, "test").user is not None
    page.text_input(key="us_reset_password").input("Brand-new-pw7")
    page.button(key="us_reset").click().run()
    assert "Brand-new-pw7" in page.success[0].value
    assert authenticate("clerk1", "Brand-new-pw7", "test").user is not None
    assert authenticate("clerk1", PASSWORD, "test").reason == "invalid"


def test_only_admin_reaches_the_page(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager")
    with pytest.raises(ValueError):
        at.switch_page("pages/users.py")
    direct = AppTest.from_file("../../pages/users.py", default_timeout=60)
    direct.session_state["username"], direct.session_state["role"], direct.session_state["lang"] = "m", "manager", "en"
    direct.run()
    assert [e.value for e in direct.error] == [translate("error.permission", "en")]
    assert not direct.dataframe
