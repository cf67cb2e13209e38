"""core.analytics against an independent pandas computation over the same orders, with the
traps: a cancelled order, sales at 23:59 and 00:01 local time, and the like-for-like cut."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from core import analytics
from core.services.orders import create_order, transition
from core.timeutil import to_utc
from tests.factories import CLERK, MANAGER, make_product, order_input

NOW_LOCAL = dt.datetime(2026, 3, 11, 12, 0)  # Asia/Shanghai
CHANNEL_NAMES = {"PHONE": "电话/批发", "TMALL": "天猫", "POS": "门店POS"}
# (local time, channel, qty at ¥10.00, cancelled)
SALES = [
    (dt.datetime(2026, 3, 10, 23, 59), "PHONE", 1, False),
    (dt.datetime(2026, 3, 11, 0, 1), "TMALL", 2, False),
    (dt.datetime(2026, 3, 11, 10, 0), "PHONE", 3, True),
    (dt.datetime(2026, 3, 10, 9, 0), "POS", 4, False),
    (dt.datetime(2026, 3, 5, 12, 0), "TMALL", 5, False),
    (dt.datetime(2026, 3, 4, 23, 30), "PHONE", 6, False),  # after the previous period's cut
    (dt.datetime(2026, 2, 28, 8, 0), "PHONE", 7, False),
]


@pytest.fixture
def sales(db_url: str) -> pd.DataFrame:
    """The orders above, created through the service; returns them as an independent frame."""
    make_product("TEA-1", "10.00", {"SH": 1000})
    for local, channel, qty, cancelled in SALES:
        result = create_order(order_input(("TEA-1", qty), channel=channel, placed_at=to_utc(local)), CLERK)
        if cancelled:
            transition(result.id, "cancelled", MANAGER)
    return pd.DataFrame(
        [(local, CHANNEL_NAMES[ch], Decimal(10 * qty), cancelled) for local, ch, qty, cancelled in SALES],
        columns=["local", "channel", "total", "cancelled"],
    )


def _expected_kpis(frame: pd.DataFrame, days: int) -> dict[str, tuple[Decimal, int]]:
    sold = frame[~frame["cancelled"]]
    today = pd.Timestamp(NOW_LOCAL.date())
    windows = {
        "current": (today - pd.Timedelta(days=days - 1), today + pd.Timedelta(days=1)),
        "previous": (today - pd.Timedelta(days=2 * days - 1), pd.Timestamp(NOW_LOCAL) - pd.Timedelta(days=days)),
    }
    out = {}
    for period, (start, end) in windows.items():
        part = sold[(sold["local"] >= start) & (sold["local"] < end)]
        out[period] = (sum(part["total"], Decimal("0")), len(part))
    return out


@pytest.mark.parametrize("days", [1, 7, 30])
def test_sales_kpis_match_pandas(sales: pd.DataFrame, days: int) -> None:
    kpis = analytics.sales_kpis(days, now=to_utc(NOW_LOCAL)).set_index("period")
    for period, (revenue, orders) in _expected_kpis(sales, days).items():
        assert kpis.loc[period, "revenue"] == revenue, period
        assert kpis.loc[period, "orders"] == orders, period
        aov = kpis.loc[period, "aov"]
        assert (aov is None and orders == 0) or aov == (revenue / orders).quantize(Decimal("0.01"))


def test_sales_kpis_known_numbers(sales: pd.DataFrame) -> None:
    today = analytics.sales_kpis(1, now=to_utc(NOW_LOCAL)).set_index("period")
    assert (today.loc["current", "revenue"], today.loc["current", "orders"]) == (Decimal("20.00"), 1)  # 00:01 only
    assert (today.loc["previous", "revenue"], today.loc["previous", "orders"]) == (Decimal("40.00"), 1)  # until noon
    week = analytics.sales_kpis(7, now=to_utc(NOW_LOCAL)).set_index("period")
    assert week.loc["current", "revenue"] == Decimal("120.00")
    assert week.loc["previous", "revenue"] == Decimal("70.00")  # 03-04 23:30 is after the cut


def test_daily_revenue_by_channel_matches_pandas(sales: pd.DataFrame) -> None:
    daily = analytics.daily_revenue_by_channel(7, now=to_utc(NOW_LOCAL))
    first = NOW_LOCAL.date() - dt.timedelta(days=6)
    sold = sales[~sales["cancelled"] & (sales["local"].dt.date >= first)]
    expected = (
        sold.assign(day=sold["local"].dt.date)
        .groupby(["day", "channel"], as_index=False)
        .agg(revenue=("total", lambda s: sum(s, Decimal("0"))), orders=("total", "size"))
    )
    got = daily[daily["orders"] > 0].sort_values(["day", "channel"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["day", "channel", "revenue", "orders"]],
                                  expected.sort_values(["day", "channel"]).reset_index(drop=True),
                                  check_dtype=False)
    assert len(daily) == 7 * 3  # zero-filled: every day × every channel that sold in the window
    by_key = daily.set_index(["day", "channel"])
    assert by_key.loc[(dt.date(2026, 3, 10), "电话/批发"), "revenue"] == Decimal("10.00")  # 23:59
    assert by_key.loc[(dt.date(2026, 3, 11), "天猫"), "revenue"] == Decimal("20.00")  # 00:01
    assert by_key.loc[(dt.date(2026, 3, 11), "电话/批发"), "orders"] == 0  # cancelled


def test_local_days_follow_the_shop_timezone(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """New York switches to summer time on 2026-03-08: that local day has 23 hours."""
    monkeypatch.setenv("OMS_TZ", "America/New_York")
    make_product("TEA-1", "10.00", {"SH": 100})
    for utc in (dt.datetime(2026, 3, 8, 4, 59), dt.datetime(2026, 3, 8, 5, 0), dt.datetime(2026, 3, 9, 3, 59),
                dt.datetime(2026, 3, 9, 4, 0)):
        create_order(order_input(("TEA-1", 1), placed_at=utc), CLERK)
    daily = analytics.daily_revenue_by_channel(3, now=dt.datetime(2026, 3, 9, 16, 0))
    assert dict(zip(daily["day"], daily["orders"], strict=True)) == {
        dt.date(2026, 3, 7): 1, dt.date(2026, 3, 8): 2, dt.date(2026, 3, 9): 1}


def test_channel_totals(sales: pd.DataFrame) -> None:
    totals = analytics.channel_totals(analytics.daily_revenue_by_channel(7, now=to_utc(NOW_LOCAL)))
    assert totals["channel"].tolist() == ["天猫", "门店POS", "电话/批发"]
    assert totals["revenue"].tolist() == [Decimal("70.00"), Decimal("40.00"), Decimal("10.00")]
    assert totals["share"].sum() == pytest.approx(1.0)
    assert analytics.channel_totals(analytics.daily_revenue_by_channel(1, now=dt.datetime(2020, 1, 1))).empty


def test_data_version_moves_with_every_write(db_url: str) -> None:
    make_product("TEA-1", "10.00", {"SH": 10})
    v0 = analytics.data_version()
    result = create_order(order_input(("TEA-1", 1)), CLERK)
    v1 = analytics.data_version()
    transition(result.id, "on_hold", MANAGER)
    assert v0 < v1 < analytics.data_version()


def test_days_must_be_positive(db_url: str) -> None:
    with pytest.raises(ValueError):
        analytics.sales_kpis(0)
    with pytest.raises(ValueError):
        analytics.daily_revenue_by_channel(0)
