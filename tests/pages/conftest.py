"""AppTest helpers: a fresh database per test (``db_url``), empty Streamlit caches, and an
app already logged in as a given role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = "../../app.py"  # AppTest resolves this relative to the test file
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _fresh_caches(db_url: str) -> Iterator[None]:
    """Every page test gets its own SQLite file and no cache entries from earlier tests."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


@pytest.fixture
def logged_in() -> Callable[..., AppTest]:
    """``logged_in("clerk", page="pages/orders.py")`` → an AppTest that has run that page."""

    def make(role: str, username: str = "tester", page: str | None = None, lang: str = "en") -> AppTest:
        at = new_app()
        at.session_state["username"] = username
        at.session_state["role"] = role
        at.session_state["lang"] = lang
        at.run()
        assert not at.exception, at.exception
        if page is not None:
            at.switch_page(page).run()
            assert not at.exception, at.exception
        return at

    return make
