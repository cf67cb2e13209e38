"""The side menu by job: sections hold only the pages a role may open, and each role lands on
its main job (an admin on Shop setup while the shop is not set up yet)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from core import db, refdata
from core.i18n import translate
from core.models import Channel, Rule, Warehouse
from core.permissions import ROLES

# role -> {section code: pages}, written out by hand so a page moved to the wrong section or
# shown to the wrong role is seen here (not re-derived from app.py's own table).
_DASHBOARDS = ["dashboard", "sales", "channels", "customers", "products", "fulfillment_kpis", "stock_health",
               "finance"]
_OFFICE = {
    "dashboards": _DASHBOARDS,
    "orders": ["order_entry", "orders", "import_data", "customer_profiles"],
    "warehouse": ["fulfillment", "waves", "inventory", "stock_count", "transfers", "receiving", "bins"],
    "purchasing": ["replenishment", "purchase_orders", "forecast", "allocation", "channel_stock", "product_catalog"],
    "aftersales": ["aftersales", "returns_analytics"],
    "system": ["alerts", "notifications", "webhooks", "data_quality", "rules", "audit", "master_data"],
}
MENUS: dict[str, dict[str, list[str]]] = {
    "admin": {**_OFFICE, "system": [*_OFFICE["system"], "users", "api_tokens", "shop_setup", "settings", "backup"]},
    "manager": _OFFICE,
    "buyer": {"orders": ["orders"], "warehouse": ["inventory", "receiving"],
              "purchasing": ["replenishment", "purchase_orders", "forecast", "product_catalog"],
              "system": ["alerts", "master_data"]},
    "warehouse": {"orders": ["orders"], "warehouse": ["fulfillment", "waves", "inventory", "stock_count", "transfers",
                                                              "receiving", "bins"],
                  "aftersales": ["aftersales", "returns_analytics"], "system": ["alerts"]},
    "service": {"orders": ["order_entry", "orders", "import_data", "customer_profiles"], "warehouse": ["inventory"],
                "aftersales": ["aftersales", "returns_analytics"], "system": ["alerts"]},
    "clerk": {"orders": ["order_entry", "orders", "customer_profiles"], "warehouse": ["inventory"]},
}
LANDINGS = {"admin": ("dashboard", "page.dashboard"), "manager": ("dashboard", "page.dashboard"),
            "buyer": ("replenishment", "page.replenishment"), "warehouse": ("fulfillment", "page.fulfillment"),
            "service": ("aftersales", "page.aftersales"), "clerk": ("order_entry", "page.order_entry")}


@pytest.fixture
def menus(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Mapping[str, Sequence[Any]], object]]]:
    """Records what app.py hands to ``st.navigation`` (Streamlit keeps the sections in the
    browser message only), then lets the real call run."""
    seen: list[tuple[Mapping[str, Sequence[Any]], object]] = []
    real = st.navigation

    def recording(pages: Any, **kwargs: Any) -> Any:
        seen.append((pages, kwargs.get("expanded")))
        return real(pages, **kwargs)

    monkeypatch.setattr(st, "navigation", recording)
    yield seen


def _names(pages: Sequence[Any]) -> list[str]:
    return [Path(str(page._page)).stem for page in pages]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_sections_and_lands_on_its_job(
        role: str, logged_in: Callable[..., AppTest], menus: list[tuple[Mapping[str, Sequence[Any]], object]]) -> None:
    at = logged_in(role, lang="en")
    menu, expanded = menus[-1]
    assert expanded is True  # every permitted page listed: no "View N more"
    expected = {translate(f"nav.{section}", "en"): pages for section, pages in MENUS[role].items()}
    assert {section: _names(pages) for section, pages in menu.items()} == expected
    assert list(menu) == list(expected)  # sections in the menu's fixed order
    landing, title = LANDINGS[role]
    assert [_names([p])[0] for pages in menu.values() for p in pages if p._default] == [landing]
    assert at.title[0].value == translate(title, "en")


def test_sections_are_named_in_chinese(logged_in: Callable[..., AppTest],
                                       menus: list[tuple[Mapping[str, Sequence[Any]], object]]) -> None:
    logged_in("warehouse", lang="zh")
    assert list(menus[-1][0]) == ["订单", "仓库", "售后", "系统"]


def test_admin_of_a_new_shop_lands_on_setup(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    with db.transaction() as s:
        for model in (Rule, Warehouse, Channel):
            s.execute(delete(model))
        refdata.bump(s)
    assert logged_in("admin").title[0].value == translate("page.shop_setup", "en")
    assert logged_in("manager").title[0].value == translate("page.dashboard", "en")
