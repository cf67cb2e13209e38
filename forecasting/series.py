"""Turn the aggregated demand history into one dense daily series per product × warehouse.

The database returns only days with demand; a model needs every day, zeros included, and the
open/closed mask of that warehouse. A series starts on its first day with demand (a product
launched last month has no "zero demand" before its launch) and ends on the last complete day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from forecasting.calendar import open_mask
from forecasting.runner import SeriesTask, prophet_series

YEAR = 365
DEFAULT_LEAD_TIME = 7


def build_tasks(history: pd.DataFrame, last_day: dt.date, horizon: int, *,
                lead_times: Mapping[int, int], closures: Mapping[int | None, list[tuple[dt.date, dt.date]]],
                prophet_max_series: int, groups: Mapping[int, str] | None = None) -> list[SeriesTask]:
    """One :class:`SeriesTask` per (product, warehouse) in ``history``.

    ``history`` has columns ``[product_id, warehouse_id, day, qty]``; ``closures`` maps a
    warehouse id (``None`` = every warehouse) to closed date ranges; ``lead_times`` maps a
    product id to its lead time in days (default 7); ``groups`` maps a product id to its
    category (the group whose season ``yoy_ma`` borrows).
    """
    if history.empty:
        return []
    first_day = min(history["day"])
    days = (last_day - first_day).days + 1
    day_index = np.array([(d - first_day).days for d in history["day"]])
    keep = (day_index >= 0) & (day_index < days)
    frame = history.loc[keep].assign(idx=day_index[keep])
    masks: dict[int, np.ndarray] = {}
    future: dict[int, np.ndarray] = {}
    shared = closures.get(None, [])
    dense: dict[tuple[int, int], np.ndarray] = {}
    for (product_id, warehouse_id), group in frame.groupby(["product_id", "warehouse_id"], sort=True):
        y = np.zeros(days)
        np.add.at(y, group["idx"].to_numpy(), group["qty"].to_numpy(dtype=float))
        dense[(int(product_id), int(warehouse_id))] = y
    for _, warehouse_id in dense:
        if warehouse_id not in masks:
            ranges = [*shared, *closures.get(warehouse_id, [])]
            full = open_mask(first_day, days + horizon, ranges)
            masks[warehouse_id], future[warehouse_id] = full[:days], full[days:]
    starts = {key: int(np.argmax(y > 0)) for key, y in dense.items()}
    stats = {key: _density(y[starts[key]:], masks[key[1]][starts[key]:]) for key, y in dense.items()}
    chosen = prophet_series({k: v[0] for k, v in stats.items()}, {k: v[1] for k, v in stats.items()},
                            {k: days - starts[k] for k in dense}, prophet_max_series)
    return [
        SeriesTask(product_id=key[0], warehouse_id=key[1], start=first_day + dt.timedelta(days=starts[key]),
                   y=y[starts[key]:], open=masks[key[1]][starts[key]:], future_open=future[key[1]],
                   lead_time=int(lead_times.get(key[0]) or DEFAULT_LEAD_TIME), use_prophet=key in chosen,
                   group=(groups or {}).get(key[0]))
        for key, y in dense.items()
    ]


def _density(y: np.ndarray, open_: np.ndarray) -> tuple[float, float]:
    """(mean units per open day, share of open days with demand) over the last year."""
    recent, recent_open = y[-YEAR:], open_[-YEAR:]
    if not recent_open.any():
        return 0.0, 0.0
    observed = recent[recent_open]
    return float(observed.mean()), float((observed > 0).mean())
