"""A refused action on a Chinese page shows Chinese only: a coded refusal says everything in
its headline; a generic one's English detail is folded away for admins and hidden from others."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _page(role: str, generic: bool) -> AppTest:
    def script() -> None:
        import streamlit as st

        from core.errors import OMSError, Refused
        from core.webui import show_error

        st.session_state.update(lang="zh", role=st.session_state["test_role"])
        error = OMSError("pg_restore: error: could not open input file") if st.session_state["test_generic"] \
            else Refused("backups.key_exists", file="key.json")
        show_error(error)

    at = AppTest.from_function(script)
    at.session_state["test_role"], at.session_state["test_generic"] = role, generic
    return at.run()


@pytest.mark.parametrize("role", ["admin", "clerk"])
def test_a_coded_refusal_has_no_english_caption(role: str) -> None:
    at = _page(role, generic=False)
    assert not at.exception
    assert [e.value for e in at.error] == ["key.json 已存在，不会覆盖现有密钥。"]
    assert not at.caption and not at.expander


def test_a_generic_refusal_folds_its_english_detail_away_for_the_admin_only() -> None:
    admin = _page("admin", generic=True)
    assert [e.label for e in admin.expander] == ["技术细节（仅管理员可见）"]
    assert "could not open input file" in admin.code[0].value and not admin.caption
    clerk = _page("clerk", generic=True)
    assert not clerk.expander and not clerk.code and not clerk.caption
