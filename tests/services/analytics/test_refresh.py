"""The summary refresh: an incremental refresh after real service actions (orders at 23:59 and
00:01, a cancellation, shipment and delivery, an RMA, a goods movement) leaves exactly what a
full rebuild builds; it notices what changed and only that; the CLI runs it."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core import audit, db, stock
from core.analytics import customers, sales, summary
from core.analytics.filters import Filters
from core.analytics.summary import SUMMARY_TABLES
from core.analytics.summary import customers as summary_customers
from core.cli import main
from core.models import (
    AggCustomer,
    AggCustomerQuintile,
    AggCustomerScore,
    AggSalesDaily,
    AggSalesHourly,
    Order,
    Product,
    Warehouse,
)
from core.services import aftersales
from core.services.aftersales import RMALine, RMARequest
from core.services.orders import LineInput, create_order, transition
from core.timeutil import local_today, to_utc, utcnow
from tests.aftersales_data import delivered_order
from tests.factories import ADMIN, CLERK, MANAGER, SERVICE, make_product, order_input


def _snapshot() -> dict[str, list[tuple]]:
    """Every summary row, money rounded to 4 places (SQLite sums floats in any order)."""
    out = {}
    with db.transaction() as s:
        for table in SUMMARY_TABLES:
            rows = s.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(round(float(v), 4) if isinstance(v, Decimal | float) else v for v in r)
                               for r in rows]
    return out


def _local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return to_utc(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def shop(db_url: str) -> dict[str, Any]:
    make_product("TEA-1", "10.00", {"SH": 500, "GZ": 50})
    make_product("CUP-1", "30.00", {"SH": 200})
    return {"today": local_today()}


def test_incremental_refresh_equals_a_full_rebuild(shop: dict[str, Any]) -> None:
    today = shop["today"]
    yesterday = today - dt.timedelta(days=1)
    first = create_order(order_input(("TEA-1", 2), ("CUP-1", 1), placed_at=_local(yesterday, 23, 59)), CLERK)
    create_order(order_input(("TEA-1", 1), channel="TMALL", placed_at=_local(today, 0, 1)), CLERK)
    assert summary.refresh().full  # first run builds everything
    # a day of business: an order cancelled, one delivered and partly returned, a new one,
    # goods received — each in its own transaction, as the services do it
    transition(first.id, "cancelled", MANAGER)
    delivered = delivered_order(("CUP-1", 2), ("TEA-1", 3), discount="5", channel="JD")
    rma = aftersales.open_rma(RMARequest(delivered.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    assert rma.number
    create_order(order_input(("TEA-1", 4), channel="DOUYIN", province="广东", city="广州市", district="天河区"), CLERK)
    with db.transaction() as s:
        gz = s.execute(select(Warehouse.id).where(Warehouse.code == "GZ")).scalar_one()
        tea = s.execute(select(Product.id).where(Product.sku == "TEA-1")).scalar_one()
        stock.post_movement(s, product_id=tea, warehouse_id=gz, qty_delta=25, kind="receipt", actor="test",
                            reason="PO test")
    result = summary.refresh()
    assert not result.full and not result.skipped
    assert result.days >= 1 and result.customers and result.stock_pairs
    incremental = _snapshot()
    assert summary.refresh(full=True).full
    assert incremental == _snapshot()
    assert sum(len(rows) for rows in incremental.values()) > 20


def test_a_sale_at_2359_and_one_at_0001_fall_on_their_local_days(shop: dict[str, Any]) -> None:
    today = shop["today"]
    yesterday = today - dt.timedelta(days=1)
    create_order(order_input(("TEA-1", 1), placed_at=_local(yesterday, 23, 59)), CLERK)
    create_order(order_input(("TEA-1", 3), placed_at=_local(today, 0, 1)), CLERK)
    summary.refresh()
    kpis = {day: sales.kpis(Filters(day, day)).set_index("period").loc["current"] for day in (yesterday, today)}
    assert (kpis[yesterday]["orders"], kpis[yesterday]["net_sales"]) == (1, Decimal("10.00"))
    assert (kpis[today]["orders"], kpis[today]["net_sales"]) == (1, Decimal("30.00"))
    heat = sales.heatmap(Filters(yesterday, today)).set_index(["weekday", "hour"])
    assert heat.at[(yesterday.weekday(), 23), "orders"] == 1 and heat.at[(today.weekday(), 0), "orders"] == 1
    assert sales.kpis(Filters(yesterday, yesterday)).set_index("period").loc["previous", "orders"] == 0


def test_days_follow_daylight_saving_time(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """New York springs forward on March's second Sunday (a 23-hour day, 02:00 EST = 07:00 UTC)
    and falls back on November's first Sunday (02:00 EDT = 06:00 UTC); last year's, so both lie
    in the past whatever the pinned date."""
    monkeypatch.setenv("OMS_TZ", "America/New_York")
    year = local_today().year - 1
    spring, autumn = _sunday_on_or_after(dt.date(year, 3, 8)), _sunday_on_or_after(dt.date(year, 11, 1))
    make_product("TEA-1", "10.00", {"SH": 100})
    for day, (hour, minute) in ((spring, (4, 59)), (spring, (6, 59)), (spring, (7, 0)),
                                (autumn, (5, 30)), (autumn, (6, 30))):
        placed = dt.datetime.combine(day, dt.time(hour, minute))
        create_order(order_input(("TEA-1", 1), placed_at=placed), CLERK)
    summary.refresh()
    with db.transaction() as s:
        hours = s.execute(select(AggSalesHourly.day, AggSalesHourly.hour, AggSalesHourly.orders)
                          .where(AggSalesHourly.category == "*").order_by(AggSalesHourly.day, AggSalesHourly.hour)).all()
    assert [(d, h, n) for d, h, n in hours] == [
        (spring - dt.timedelta(days=1), 23, 1), (spring, 1, 1), (spring, 3, 1),  # 02:00 never happened
        (autumn, 1, 2)]  # 01:30 twice: before and after falling back


def _sunday_on_or_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(6 - day.weekday()) % 7)


def test_cancelled_orders_leave_the_numbers(shop: dict[str, Any]) -> None:
    result = create_order(order_input(("CUP-1", 2)), CLERK)
    summary.refresh()
    f = Filters.last(1)
    assert sales.kpis(f).set_index("period").loc["current", "net_sales"] == Decimal("60.00")
    transition(result.id, "cancelled", MANAGER)
    assert not summary.is_current()
    summary.refresh_if_stale()
    row = sales.kpis(f).set_index("period").loc["current"]
    assert (row["orders"], row["net_sales"], row["cancelled_orders"]) == (0, Decimal("0.00"), 1)


def test_returns_are_netted_on_the_day_of_the_sale(shop: dict[str, Any]) -> None:
    # 2 × CUP 30 + 3 × TEA 10 = 90, order discount 9 → CUP line keeps 60 × 81/90 = 54
    order = delivered_order(("CUP-1", 2), ("TEA-1", 3), discount="9")
    summary.refresh()
    f = Filters.last(1)
    assert sales.kpis(f).set_index("period").loc["current", "net_sales"] == Decimal("81.00")
    aftersales.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 1),)), SERVICE)  # one CUP back
    summary.refresh_if_stale()
    row = sales.kpis(f).set_index("period").loc["current"]
    assert row["net_sales"] == Decimal("54.00") and row["returned_sales"] == Decimal("27.00")
    assert (row["units"], row["returned_units"]) == (4, 1) and row["return_rate"] == pytest.approx(0.2)


def test_refresh_only_when_something_changed(shop: dict[str, Any]) -> None:
    assert summary.refresh_if_stale() is not None  # never built
    assert summary.is_current() and summary.refresh_if_stale() is None
    assert summary.refresh().skipped
    create_order(order_input(("TEA-1", 1)), CLERK)
    result = summary.refresh_if_stale()
    assert result is not None and (result.days, result.customers) == (1, 1) and not result.full


def test_a_late_commit_inside_the_look_back_is_picked_up(shop: dict[str, Any]) -> None:
    """On PostgreSQL a transaction can commit after a refresh that began later than its
    writes; the look-back (RESCAN) re-reads recent changes so it is not lost."""
    order = create_order(order_input(("TEA-1", 1)), CLERK)
    summary.refresh()
    with db.transaction() as s:  # the order "changed" a minute before the last refresh began
        s.execute(Order.__table__.update().where(Order.id == order.id).values(
            status="cancelled", updated_at=utcnow() - dt.timedelta(minutes=1)))
    with db.transaction() as s:
        audit.record(s, ADMIN, "test.touch", "order", order.number)
    summary.refresh()
    assert sales.kpis(Filters.last(1)).set_index("period").loc["current", "orders"] == 0


def test_a_new_timezone_rebuilds_everything(shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    create_order(order_input(("TEA-1", 1)), CLERK)
    summary.refresh()
    assert summary.is_current()
    monkeypatch.setenv("OMS_TZ", "Europe/London")
    assert not summary.is_current()
    assert summary.refresh().full


def test_concurrent_refreshes_do_not_double_count(shop: dict[str, Any]) -> None:
    summary.refresh()
    for i in range(5):
        create_order(order_input(("TEA-1", 1 + i)), CLERK)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            summary.refresh()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sales.kpis(Filters.last(1)).set_index("period").loc["current", "orders"] == 5
    before = _snapshot()
    summary.refresh(full=True)
    assert before == _snapshot()


def _scores() -> list[tuple]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(select(AggCustomerScore.as_of, AggCustomerScore.r, AggCustomerScore.f,
                                                   AggCustomerScore.customers, AggCustomerScore.orders)
                                            .order_by(AggCustomerScore.r, AggCustomerScore.f)).all()]


def test_customer_scores_move_with_orders_and_with_the_day(shop: dict[str, Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Scores are kept as of the refresh's local day: a new order moves its customer by
    difference; the next day makes the summaries stale without any write, and the refresh
    rescores everyone (R drops as days pass) without rebuilding anything else."""
    today = shop["today"]
    create_order(order_input(("TEA-1", 1), placed_at=_local(today - dt.timedelta(days=40), 10, 0)), CLERK)
    create_order(order_input(("TEA-1", 1), phone="13900139000", customer_name="李四",
                             placed_at=_local(today - dt.timedelta(days=5), 10, 0)), CLERK)
    summary.refresh()
    assert _scores() == [(today, 4, 1, 1, 1), (today, 5, 1, 1, 1)]
    create_order(order_input(("CUP-1", 1)), CLERK)  # 张三 again, today: R4 F1 → R5 F2
    assert not summary.refresh().full
    assert _scores() == [(today, 5, 1, 1, 1), (today, 5, 2, 1, 2)]
    assert customers.m_thresholds() == (Decimal("10.00"),) * 2 + (Decimal("40.00"),) * 2  # 10 and 10 + 30
    patched = _snapshot()
    summary.refresh(full=True)
    assert patched == _snapshot()

    later = today + dt.timedelta(days=28)  # 李四's last order is now 33 days old: R5 → R4
    real_utcnow = summary.utcnow
    monkeypatch.setattr(summary, "utcnow", lambda: real_utcnow() + dt.timedelta(days=28))
    monkeypatch.setattr(summary, "local_today", lambda: later)
    assert not summary.is_current()
    result = summary.refresh_if_stale()
    assert result is not None and not result.full and not result.skipped
    assert _scores() == [(later, 4, 1, 1, 1), (later, 5, 2, 1, 2)]
    assert summary.is_current() and summary.refresh().skipped
    keys = ["r", "f", "province", "channel_id"]
    profile = customers.rfm_profile(Filters.last(730, later), later).sort_values(keys, ignore_index=True)
    with summary.raw_source():
        scanned = customers.rfm_profile(Filters.last(730, later), later).sort_values(keys, ignore_index=True)
    assert profile.equals(scanned)
    # yesterday's scores are not used for another day: that is scored from the customers
    assert customers.score_grid(customers.rfm_profile(Filters.last(730, today), today)).set_index(
        ["r", "f"]).at[(5, 1), "customers"] == 1


def test_quintile_edges_are_computed_until_a_refresh_stores_them(shop: dict[str, Any]) -> None:
    """A database migrated to 0008 has customers but no stored edges yet: M is computed."""
    create_order(order_input(("TEA-1", 2)), CLERK)
    summary.refresh()
    with db.transaction() as s:
        s.execute(AggCustomerQuintile.__table__.delete())
    assert customers.m_thresholds() == (Decimal("20.00"),) * 4
    create_order(order_input(("TEA-1", 1), phone="13900139000", customer_name="李四"), CLERK)
    summary.refresh()
    with db.transaction() as s:
        assert s.execute(select(AggCustomerQuintile.net_sales).order_by(AggCustomerQuintile.quintile)
                         ).scalars().all() == [Decimal("10.00")] * 2 + [Decimal("20.00")] * 2


def _edges_now() -> tuple[list[tuple], list[tuple]]:
    """(stored edges with their counts, the same computed from all customers)."""
    with db.transaction() as s:
        stored = [tuple(r) for r in s.execute(select(
            AggCustomerQuintile.net_sales, AggCustomerQuintile.below, AggCustomerQuintile.at_edge,
            AggCustomerQuintile.total).order_by(AggCustomerQuintile.quintile))]
        values = s.execute(select(AggCustomer.net_sales)).scalars().all()
        edges = summary_customers.net_sales_quintiles(s)
    return stored, [(e, sum(v < e for v in values), sum(v == e for v in values), len(values)) for e in edges]


def test_quintile_edges_move_with_the_customers_a_refresh_changes(shop: dict[str, Any]) -> None:
    """The incremental refresh moves the stored M edges by the customers it re-derived (new
    customers, repeat orders, cancellations): always the edges a full sort finds, with where
    they stand (below, at, in all) right."""
    pick = random.Random(7)
    placed: list[int] = []

    def buy(i: int, line: tuple[str, int] | None = None) -> None:
        sku, qty = line or ("TEA-1" if pick.random() < 0.7 else "CUP-1", pick.randint(1, 4))
        form = order_input((sku, qty), phone=f"1390000{i:04d}", customer_name=f"客户{i}", allow_backorder=True)
        # a discount of a few cents: distinct net sales, so a wrong position shows as a wrong value
        form.lines = [LineInput(sku, qty, discount=Decimal(pick.randrange(0, 900)) / 100)]
        placed.append(create_order(form, CLERK).id)

    for i in range(24):
        buy(i)
    summary.refresh()
    stored, computed = _edges_now()
    assert stored == computed and len(stored) == 4
    newcomers = iter(range(100, 200))
    for round_ in range(8):
        for _ in range(pick.randint(1, 6)):
            buy(pick.randrange(24))  # repeat customers: edges move up
        if round_ % 2:
            for _ in range(6):  # small new customers: the edges move down
                buy(next(newcomers), ("TEA-1", 1))
        if round_ % 3 == 1:
            transition(placed.pop(pick.randrange(len(placed))), "cancelled", MANAGER)
        assert not summary.refresh().full
        stored, computed = _edges_now()
        assert stored == computed, round_


def test_oms_refresh_command(shop: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    create_order(order_input(("TEA-1", 1)), CLERK)
    assert main(["refresh", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["full"] and not out["skipped"]
    assert main(["refresh", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"]
    assert main(["refresh", "--full"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["full"] and "summaries up to date" in captured.err
    with db.transaction() as s:
        assert s.execute(select(AggSalesDaily.orders).where(AggSalesDaily.category == "*")).scalar_one() == 1
