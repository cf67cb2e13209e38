"""Every dashboard reads the same numbers from the summary tables as from the SELECTs that
define them run on the raw tables (what the benchmark compares against) — money to the cent."""

from __future__ import annotations

import dataclasses

import pytest

from core.analytics import dashboards, summary
from core.analytics.filters import Filters
from core.timeutil import utcnow
from tests.analytics_support import Raw, assert_same, last_day


@pytest.mark.parametrize("name", ["sales", "channels", "customers", "products", "fulfillment", "stock"])
def test_summary_and_raw_tables_agree(demo: Raw, name: str) -> None:
    end = last_day(demo)
    f = Filters.last(60, end, regions=("华东", "华南", "华北"))
    now = utcnow()
    calls = {
        "sales": lambda: dashboards.sales_dashboard(f, "week", end),
        "channels": lambda: dashboards.channels_dashboard(f),
        "customers": lambda: dashboards.customers_dashboard(Filters.last(400, end), end),
        "products": lambda: dashboards.products_dashboard(f),
        "fulfillment": lambda: dashboards.fulfillment_dashboard(f, now),
        "stock": lambda: dashboards.stock_dashboard(Filters.last(60, end), end),
    }
    from_summary = calls[name]()
    with summary.raw_source():
        from_raw = calls[name]()
    for field in dataclasses.fields(from_summary):
        assert_same(getattr(from_summary, field.name), getattr(from_raw, field.name), f"{name}.{field.name}")
