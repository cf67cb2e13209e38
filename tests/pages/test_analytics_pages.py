"""The six analytics dashboards in AppTest: each renders its charts, takeaways and downloadable
tables from a generated demo and says how current its data is; opening one never writes, even
when its summaries are behind; filters change the numbers; a bad range is explained instead of
crashing; only managers see them; order entry offers add-ons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, event
from streamlit.testing.v1 import AppTest

from core import db
from core.analytics import sales, summary
from core.analytics.filters import Filters
from core.i18n import translate
from core.services.orders import create_order
from core.timeutil import local_today
from core.webui import local_time
from data.demo import load_demo
from tests.factories import CLERK, make_product, order_input

PAGES = ("pages/sales.py", "pages/channels.py", "pages/customers.py", "pages/products.py",
         "pages/fulfillment_kpis.py", "pages/stock_health.py")
OTHER_DASHBOARDS = ("pages/dashboard.py", "pages/returns_analytics.py")  # on the raw tables


@pytest.fixture
def demo(db_url: str) -> str:
    load_demo(db_url, orders=600, seed=5)
    summary.refresh()  # what `oms init --demo` and the worker do: dashboards only read
    return db_url


def _open(logged_in: Callable[..., AppTest], page: str, role: str = "manager") -> AppTest:
    at = logged_in(role, page=page)
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", PAGES)
def test_dashboard_renders_charts_takeaways_and_downloads(demo: str, logged_in: Callable[..., AppTest],
                                                          page: str) -> None:
    at = _open(logged_in, page)
    assert not at.error, [e.value for e in at.error]
    assert at.get("plotly_chart"), "at least one chart"
    assert at.info, "a takeaway line"
    downloads = at.get("download_button")
    assert len(downloads) >= 2 and len(downloads) % 2 == 0, "every table as CSV and XLSX"
    state = summary.freshness()
    assert state.current and state.refreshed_at is not None
    assert translate("an.data_as_of", "en", at=local_time(state.refreshed_at)) in [c.value for c in at.caption]


def test_sales_filters_change_the_numbers(demo: str, logged_in: Callable[..., AppTest]) -> None:
    at = _open(logged_in, "pages/sales.py")
    label = translate("an.kpi.orders", "en")
    orders = {m.label: m.value for m in at.metric}[label]
    today = local_today()
    expected_all = sales.kpis(Filters.last(30, today)).set_index("period").at["current", "orders"]
    assert orders == f"{expected_all:,}"
    at.multiselect(key="an_channels").set_value(["TMALL"]).run()
    assert not at.exception
    tmall = sales.kpis(Filters.last(30, today, channels=("TMALL",))).set_index("period").at["current", "orders"]
    assert {m.label: m.value for m in at.metric}[label] == f"{tmall:,}" and tmall < expected_all
    at.segmented_control(key="an_sales_grain").set_value("month").run()
    assert not at.exception
    periods = {d.replace(day=1) for d in Filters.last(30, today).dates()}
    trend = at.dataframe[1].value
    assert len(trend) == len(periods)  # one row per month for the single channel


def test_filters_are_kept_across_dashboards(demo: str, logged_in: Callable[..., AppTest]) -> None:
    at = _open(logged_in, "pages/sales.py")
    at.multiselect(key="an_warehouses").set_value(["SH"]).run()
    at.switch_page("pages/products.py").run()
    assert not at.exception
    assert at.multiselect(key="an_warehouses").value == ["SH"]


def test_an_empty_selection_says_so(demo: str, logged_in: Callable[..., AppTest]) -> None:
    at = _open(logged_in, "pages/channels.py")
    before_the_shop = local_today() - dt.timedelta(days=1500)  # the demo's history is two years
    at.date_input(key="an_range").set_value((before_the_shop, before_the_shop + dt.timedelta(days=30))).run()
    assert not at.exception and not at.error
    assert translate("an.no_data", "en") in [i.value for i in at.info]
    table = at.dataframe[0].value
    assert (table[translate("acol.orders", "en")] == 0).all()  # every channel, zeros


def test_a_too_long_range_is_refused_with_the_reason(demo: str, logged_in: Callable[..., AppTest]) -> None:
    at = _open(logged_in, "pages/products.py")
    today = local_today()
    at.date_input(key="an_range").set_value((today - dt.timedelta(days=2000), today)).run()
    assert not at.exception
    assert at.error and translate("error.validation", "en") in at.error[0].value
    assert not at.get("plotly_chart")


class _Writes:
    """Every transaction a page opens on the database, and those that could write."""

    def __init__(self) -> None:
        self.transactions = 0
        self.writing: list[str] = []

    def begin(self, conn: Connection) -> None:
        self.transactions += 1
        if not conn.get_execution_options().get("oms_readonly", False):
            self.writing.append("BEGIN (a write transaction)")

    def statement(self, _conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP"):
            self.writing.append(statement[:80])


@pytest.mark.parametrize("page", (*PAGES, *OTHER_DASHBOARDS))
def test_opening_a_dashboard_never_writes(demo: str, logged_in: Callable[..., AppTest], page: str) -> None:
    """Not even when the summaries are behind the data: the worker refreshes them."""
    make_product("TEA-1", "10.00", {"SH": 5})
    create_order(order_input(("TEA-1", 1)), CLERK)  # a write: the summaries are now behind
    before = summary.freshness()
    assert not before.current
    writes, engine = _Writes(), db.get_engine()
    event.listen(engine, "begin", writes.begin)
    event.listen(engine, "before_cursor_execute", writes.statement)
    try:
        at = _open(logged_in, page)
    finally:
        event.remove(engine, "begin", writes.begin)
        event.remove(engine, "before_cursor_execute", writes.statement)
    assert writes.transactions > 0 and writes.writing == []
    assert summary.freshness() == before  # agg_state untouched
    if page in PAGES:  # behind: says since when and shows what the summaries hold
        assert before.refreshed_at is not None
        assert translate("an.stale", "en", at=local_time(before.refreshed_at)) in [i.value for i in at.info]
        assert at.get("plotly_chart")


def test_dashboards_are_for_managers_only(demo: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("clerk")
    with pytest.raises(ValueError):
        at.switch_page("pages/sales.py")
    direct = AppTest.from_file("../../pages/stock_health.py", default_timeout=60)  # the page file itself
    for key, value in {"username": "w", "role": "warehouse", "lang": "en"}.items():
        direct.session_state[key] = value
    direct.run()
    assert [e.value for e in direct.error] == [translate("error.permission", "en")]


def test_order_entry_offers_add_ons_from_the_basket(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    for sku in ("TEA-1", "CUP-1", "PEN-1"):
        make_product(sku, "10.00", {"SH": 100})
    for lines in ([("TEA-1", 1), ("CUP-1", 1)],) * 4 + ([("TEA-1", 1)], [("PEN-1", 1)], [("PEN-1", 1)]):
        create_order(order_input(*lines), CLERK)
    summary.refresh()
    at = logged_in("clerk")
    at.session_state["oe_basket"] = [{"sku": "TEA-1", "qty": 1}]
    at.run()
    assert not at.exception
    assert translate("an.addons.title", "en") in [c.value for c in at.caption]
    buttons = [b for b in at.button if (b.key or "").startswith("oe_addon_")]
    assert [b.key for b in buttons] == ["oe_addon_CUP-1"]  # 4 of TEA's 5 orders had a CUP; PEN never
    buttons[0].click().run()
    assert at.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": 1}, {"sku": "CUP-1", "qty": 1}]
    assert not [b for b in at.button if (b.key or "").startswith("oe_addon_")]  # nothing left to suggest
