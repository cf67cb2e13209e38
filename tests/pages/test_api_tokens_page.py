"""API tokens page: the admin creates a token (shown once), sees it listed, and revokes it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import api_tokens
from tests.factories import ADMIN


def test_create_list_and_revoke(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page="pages/api_tokens.py")
    assert [i.value for i in at.info] == [translate("api.none", "en")]
    at.text_input(key="tok_name").set_value("webshop")
    at.selectbox(key="tok_role").set_value("service")
    at.multiselect(key="tok_scopes").set_value(["orders:read", "orders:write"])
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    secret = at.code[0].value
    assert secret.startswith("oms_")
    assert api_tokens.authenticate_token(secret).actor.role == "service"
    assert at.dataframe[0].value[translate("api.col_name", "en")].tolist() == ["webshop"]
    at.run()
    assert not at.code  # shown once
    at.button(key="tok_revoke_btn").click().run()
    assert [s.value for s in at.success] == [translate("api.revoked", "en", name="webshop")]
    assert api_tokens.list_tokens(ADMIN)[0].revoked_at is not None


def test_a_refused_token_says_why_in_chinese(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page="pages/api_tokens.py", lang="zh")
    at.text_input(key="tok_name").set_value("wms")
    at.selectbox(key="tok_role").set_value("warehouse")
    at.multiselect(key="tok_scopes").set_value(["customers:pii"])
    at.button[0].click().run()
    assert not at.exception and at.error[0].value == translate("error.validation", "zh")
    assert api_tokens.list_tokens(ADMIN) == []


def test_managers_cannot_manage_tokens(logged_in: Callable[..., AppTest]) -> None:
    with pytest.raises(ValueError):
        logged_in("manager").switch_page("pages/api_tokens.py")
