"""Builders for planning tests: suppliers, and forecast runs stored with known daily rates
(so replenishment and allocation are tested on numbers computed by hand, not on a model)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select, update

from core import db
from core.models import Product, Supplier, Warehouse
from core.services import forecast_runs
from core.timeutil import local_today
from tests.factories import ADMIN


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


def stored_run(rates: dict[tuple[int, str], float], *, sigma_lead: float = 0.0, lead_time: int = 7,
               horizon: int = 28) -> int:
    """A succeeded forecast run forecasting a flat ``rate`` a day from today for each
    (product id, warehouse code)."""
    run_id = forecast_runs.start_run(ADMIN, horizon=horizon, backend="local")
    today = local_today()
    rows, series = [], []
    for (product_id, code), rate in rates.items():
        wid = warehouse_id(code)
        rows += [{"product_id": product_id, "warehouse_id": wid, "ds": today + dt.timedelta(days=i), "yhat": rate,
                  "yhat_lower": rate, "yhat_upper": rate, "model": "ma28"} for i in range(horizon)]
        series.append({"product_id": product_id, "warehouse_id": wid, "model": "ma28", "history_days": 365,
                       "folds": 3, "lead_time_days": lead_time, "wape_weekly": 0.2, "wape_lead_time": 0.1,
                       "mase": 0.8, "bias": 0.01, "sigma_daily": 1.0, "sigma_lead_time": sigma_lead,
                       "metrics": {"ma28": {"wape_lead_time": 0.1}}})
    forecast_runs.finish_run(run_id, pd.DataFrame(rows), pd.DataFrame(series), {"series": len(series)}, ADMIN)
    return run_id
