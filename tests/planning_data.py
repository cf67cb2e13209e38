"""Builders for planning tests: suppliers, and forecast runs stored with known daily rates
(so replenishment and allocation are tested on numbers computed by hand, not on a model)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select, update

from core import db
from core.models import Order, Product, Supplier, Warehouse
from core.services import forecast_runs, orders
from core.timeutil import local_day_start_utc, local_today
from tests.factories import ADMIN, CLERK, order_input


def warehouse_id(code: str) -> int:
    with db.transaction() as s:
        return int(s.execute(select(Warehouse.id).where(Warehouse.code == code)).scalar_one())


def make_supplier(name: str, lead_time_days: int = 7, moq: int = 1, *products: int, pack_size: int = 1) -> int:
    """A supplier that supplies ``products`` (their pack size set too)."""
    with db.transaction() as s:
        supplier = Supplier(name=name, lead_time_days=lead_time_days, moq=moq)
        s.add(supplier)
        s.flush()
        if products:
            s.execute(update(Product).where(Product.id.in_(products)).values(supplier_id=supplier.id,
                                                                               pack_size=pack_size))
        return supplier.id


def place_on(day: dt.date, sku: str, qty: int, **order: object) -> int:
    """A form order for ``qty`` × ``sku`` placed at noon (shop time) on the local ``day``."""
    result = orders.create_order(order_input((sku, qty), **order), CLERK)
    with db.transaction() as s:
        s.execute(update(Order).where(Order.id == result.id).values(
            placed_at=local_day_start_utc(day) + dt.timedelta(hours=12)))
    return result.id


def daily_sales(sku: str, last_day: dt.date, days: int, qty: int) -> None:
    """``qty`` units of ``sku`` sold every day of the ``days`` days ending ``last_day``."""
    for i in range(days):
        place_on(last_day - dt.timedelta(days=i), sku, qty)


def stored_run(rates: dict[tuple[int, str], float], *, sigma_lead: float = 0.0, lead_time: int = 7,
               horizon: int = 28, first_day: dt.date | None = None) -> int:
    """A succeeded forecast run forecasting a flat ``rate`` a day from ``first_day`` (default
    today) for each (product id, warehouse code)."""
    run_id = forecast_runs.start_run(ADMIN, horizon=horizon, backend="local")
    today = first_day or local_today()
    rows, series = [], []
    for (product_id, code), rate in rates.items():
        wid = warehouse_id(code)
        rows += [{"product_id": product_id, "warehouse_id": wid, "ds": today + dt.timedelta(days=i), "yhat": rate,
                  "yhat_lower": rate, "yhat_upper": rate, "model": "ma28"} for i in range(horizon)]
        series.append({"product_id": product_id, "warehouse_id": wid, "model": "ma28", "history_days": 365,
                       "folds": 3, "lead_time_days": lead_time, "wape_weekly": 0.2, "wape_lead_time": 0.1,
                       "mase": 0.8, "bias": 0.01, "sigma_daily": 1.0, "sigma_lead_time": sigma_lead,
                       "metrics": {"backtest": {"ma28": {"wape_lead_time": 0.1}},
                                   "holdout": {"ma28": {"wape_lead_time": 0.1}},
                                   "sigma": {"method": "lead_error", "windows": 4}}})
    forecast_runs.finish_run(run_id, pd.DataFrame(rows), pd.DataFrame(series), {"series": len(series)}, ADMIN)
    return run_id
