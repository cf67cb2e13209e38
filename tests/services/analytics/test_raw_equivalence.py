"""Every dashboard reads the same numbers from the summary tables as from the SELECTs that
define them run on the raw tables (what the benchmark compares against) — money to the cent."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pandas as pd
import pytest

from core.analytics import dashboards, summary
from core.analytics.filters import Filters
from core.timeutil import utcnow
from tests.analytics_support import Raw, last_day


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: float(v) if isinstance(v, Decimal) else v)


def _same(a: object, b: object, where: str) -> None:
    """Money (Decimal) equal to the cent, exactly; ratios derived from it equal up to float noise."""
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame)
        for column in a.columns:
            if a[column].map(lambda v: isinstance(v, Decimal)).any():
                assert a[column].tolist() == b[column].tolist(), f"{where}.{column}"
        pd.testing.assert_frame_equal(_plain(a), _plain(b), check_exact=False, atol=1e-9, rtol=1e-9,
                                      check_dtype=False, obj=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], Decimal):
                assert a[key] == b[key], key
            else:
                assert a[key] == pytest.approx(b[key], abs=1e-9) if a[key] is not None else b[key] is None, key


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
        _same(getattr(from_summary, field.name), getattr(from_raw, field.name), f"{name}.{field.name}")
