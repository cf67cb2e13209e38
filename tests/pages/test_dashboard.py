"""Dashboard: KPI metrics, the channel trend chart and a takeaway, refreshed by new orders."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input


def _metrics(at: AppTest) -> dict[str, str]:
    """First column (today): label → value."""
    return {m.label: m.value for m in at.metric[:3]}


def test_dashboard_shows_new_orders(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    create_order(order_input(("TEA-1", 2)), CLERK)  # PHONE, ¥50.00
    at = logged_in("manager")  # managers land on the dashboard
    assert not at.exception
    today = _metrics(at)
    assert today[translate("dash.revenue", "en")] == "CN¥50.00"
    assert today[translate("dash.orders", "en")] == "1"
    assert today[translate("dash.aov", "en")] == "CN¥50.00"
    assert at.get("plotly_chart"), "the trend chart is drawn"
    assert "电话/批发" in at.info[0].value and "100%" in at.info[0].value  # the takeaway

    create_order(order_input(("TEA-1", 4), channel="TMALL"), CLERK)  # ¥100.00
    at.run()
    assert not at.exception
    today = _metrics(at)
    assert today[translate("dash.revenue", "en")] == "CN¥150.00"
    assert today[translate("dash.orders", "en")] == "2"
    assert today[translate("dash.aov", "en")] == "CN¥75.00"
    assert "天猫" in at.info[0].value and "67%" in at.info[0].value
    channels = at.dataframe[0].value
    assert channels[translate("field.channel", "en")].tolist() == ["天猫", "电话/批发"]


def test_dashboard_without_sales(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin")
    assert not at.exception
    assert _metrics(at)[translate("dash.revenue", "en")] == "CN¥0.00"
    assert [i.value for i in at.info] == [translate("dash.no_sales", "en")]
