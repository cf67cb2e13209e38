"""The roll-ups (monthly, and per day over fewer keys) give every dashboard exactly the numbers
the day tables give — money to the cent — for ranges that start and end anywhere in a month,
under every kind of filter; and the range planner splits ranges into whole months and days."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from core import db
from core.analytics import dashboards
from core.analytics.filters import Filters
from core.analytics.summary import rollups
from core.timeutil import utcnow
from tests.analytics_support import Raw, assert_same, last_day

D = dt.date


@pytest.mark.parametrize(("first", "last", "cuts", "months", "days"), [
    (D(2026, 3, 1), D(2026, 3, 31), (), [(D(2026, 3, 1), D(2026, 3, 1))], []),
    (D(2026, 3, 2), D(2026, 3, 31), (), [], [(D(2026, 3, 2), D(2026, 3, 31))]),
    (D(2026, 2, 15), D(2026, 5, 3), (), [(D(2026, 3, 1), D(2026, 4, 1))],
     [(D(2026, 2, 15), D(2026, 2, 28)), (D(2026, 5, 1), D(2026, 5, 3))]),
    (D(2025, 12, 9), D(2026, 12, 8), (), [(D(2026, 1, 1), D(2026, 11, 1))],
     [(D(2025, 12, 9), D(2025, 12, 31)), (D(2026, 12, 1), D(2026, 12, 8))]),
    # a comparison: the previous period ends mid-March, the current one starts there
    (D(2026, 1, 1), D(2026, 5, 31), (D(2026, 3, 16),),
     [(D(2026, 1, 1), D(2026, 2, 1)), (D(2026, 4, 1), D(2026, 5, 1))],
     [(D(2026, 3, 1), D(2026, 3, 15)), (D(2026, 3, 16), D(2026, 3, 31))]),
    (D(2024, 2, 1), D(2024, 2, 29), (), [(D(2024, 2, 1), D(2024, 2, 1))], []),  # leap year
])
def test_plan_splits_a_range_into_whole_months_and_days(first: dt.date, last: dt.date, cuts: tuple[dt.date, ...],
                                                        months: list, days: list) -> None:
    assert rollups.plan(first, last, cuts) == (months, days)


def _ranges(end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Month edges on purpose (first day, last day, one whole month, a year) and random ones."""
    pick = random.Random(19)
    fixed = [(end - dt.timedelta(days=364), end), (D(end.year, end.month, 1) - dt.timedelta(days=1), end),
             (D(2026, 2, 1), D(2026, 2, 28)), (D(2025, 11, 30), D(2026, 3, 1)), (D(2025, 6, 1), D(2026, 5, 31))]
    spread = []
    for _ in range(4):
        start = end - dt.timedelta(days=pick.randrange(20, 600))
        spread.append((start, min(end, start + dt.timedelta(days=pick.randrange(25, 400)))))
    return fixed + spread


FILTERS: list[dict[str, Any]] = [{}, {"channels": ("TMALL", "JD")}, {"warehouses": ("SH",)},
                                 {"regions": ("华东", "")}, {"category": "鞋靴"},
                                 {"category": "鞋靴", "channels": ("DOUYIN",), "regions": ("华南",)}]


def _pages(f: Filters, end: dt.date) -> dict[str, Callable[[], object]]:
    now = utcnow()
    return {
        "sales": lambda: dashboards.sales_dashboard(f, "day", end),
        "channels": lambda: dashboards.channels_dashboard(f, "month"),
        "products": lambda: dashboards.products_dashboard(f),
        "fulfillment": lambda: dashboards.fulfillment_dashboard(f, now),
        "stock": lambda: dashboards.stock_dashboard(f, end),
    }


@pytest.mark.parametrize("extra", FILTERS, ids=lambda e: "-".join(e) or "none")
def test_roll_ups_and_day_tables_agree_on_any_range(demo: Raw, extra: dict[str, Any]) -> None:
    end = last_day(demo)
    for first, last in _ranges(end):
        f = Filters(first, last, **extra)
        for name, call in _pages(f, end).items():
            got = call()
            with rollups.day_tables_only():
                want = call()
            for field in dataclasses.fields(got):  # type: ignore[arg-type]
                assert_same(getattr(got, field.name), getattr(want, field.name), f"{name}.{field.name} {first}…{last}")


def test_a_year_reads_the_months_from_the_monthly_roll_ups(demo: Raw) -> None:
    """Not only equal: the long range really is answered by the monthly and narrow tables."""
    from sqlalchemy import event

    seen: list[str] = []

    def log(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", log)
    try:
        end = last_day(demo)
        f = Filters.last(365, end)
        for call in _pages(f, end).values():
            call()
    finally:
        event.remove(engine, "before_cursor_execute", log)
    text = "\n".join(seen)
    for table in rollups.TABLES:
        assert table.name in text, table.name


def test_the_monthly_roll_ups_equal_the_day_tables_summed_by_month(demo: Raw) -> None:
    with db.transaction() as s:
        for r in rollups.ROLLUPS:
            stored = sorted(tuple(row) for row in s.execute(select(r.table)))
            grouped = sorted(tuple(row) for row in s.execute(rollups.grouped(r, s.get_bind().dialect.name)))
            assert stored == grouped, r.table.name
            assert stored, r.table.name
