"""Pages and their downloads mask personal data for roles without ``customer.pii``."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input

PHONE = "13812345678"


def _orders_page(logged_in: Callable[..., AppTest], role: str) -> AppTest:
    make_product("TEA-1", "25.00", {"SH": 5})
    number = create_order(order_input(("TEA-1", 1), phone=PHONE, address="世纪大道 100 号"), CLERK).number
    at = logged_in(role, page="pages/orders.py")
    at.text_input(key="ol_query").input(number).run()
    assert not at.exception
    return at


def _page_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_warehouse_sees_masked_phone_and_address(logged_in: Callable[..., AppTest]) -> None:
    at = _orders_page(logged_in, "warehouse")
    assert at.dataframe[0].value[translate("field.phone", "en")].tolist() == ["138****5678"]
    text = _page_text(at)
    assert "138****5678" in text and PHONE not in text and "100 号" not in text


def test_service_sees_the_full_phone(logged_in: Callable[..., AppTest]) -> None:
    at = _orders_page(logged_in, "service")
    assert at.dataframe[0].value[translate("field.phone", "en")].tolist() == [PHONE]
    assert PHONE in _page_text(at)


def _protect_script() -> None:
    """Runs inside AppTest: what download_buttons would export for the session's role."""
    import pandas as pd
    import streamlit as st

    from core.webui import localize_columns, protect, to_csv_bytes

    frame = pd.DataFrame({"phone": ["13812345678"], "address": ["世纪大道 100 号"], "customer": ["=1+1"]})
    st.code(to_csv_bytes(protect(frame)).decode("utf-8-sig"))  # service column names
    st.code(to_csv_bytes(protect(localize_columns(frame))).decode("utf-8-sig"))  # translated headers


def _exports(role: str | None) -> list[str]:
    at = AppTest.from_function(_protect_script)
    if role:
        at.session_state["username"], at.session_state["role"] = "u", role
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    return [c.value for c in at.code]


def test_downloads_are_masked_per_role_and_formula_safe() -> None:
    raw, localized = _exports("buyer")
    assert raw.splitlines()[1] == "138****5678,世纪****,'=1+1"
    assert localized.splitlines()[1] == "138****5678,世纪****,'=1+1"
    raw, _ = _exports("clerk")
    assert raw.splitlines()[1] == "13812345678,世纪大道 100 号,'=1+1"
    raw, _ = _exports(None)  # nobody logged in: masked
    assert "13812345678" not in raw
