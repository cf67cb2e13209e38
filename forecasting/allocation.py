"""Split scarce stock between warehouses: safety-stock floors first, then by forecast demand.

When a pool of units (what one warehouse has, or a purchase order about to arrive) cannot
cover what every warehouse needs over its lead time, first-come-first-served would leave some
warehouses empty while others sit on weeks of cover. Instead:

1. each warehouse's **need** = forecast demand over its lead time + its safety stock − what it
   already has available (never negative);
2. if the pool covers every need, everyone gets its need (nothing is scarce);
3. otherwise each warehouse first gets its **floor**: what it lacks to reach its safety stock
   (if even the floors cannot be met, the pool is split in proportion to the floors);
4. the rest is split **in proportion to forecast demand over the lead time**, never beyond a
   warehouse's need (what a capped warehouse cannot take is shared among the others).

Integer units are handed out by largest remainder, so the shares always add up to the pool.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INPUT_COLUMNS = ["warehouse", "demand_lead_time", "safety_stock", "available"]
OUTPUT_COLUMNS = [*INPUT_COLUMNS, "need", "floor", "allocated", "share_of_demand"]


def _largest_remainder(weights: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Integers ≤ caps summing to min(total, Σcaps), proportional to ``weights`` (water-filling)."""
    out = np.zeros(len(weights), dtype=np.int64)
    remaining = min(total, int(caps.sum()))
    while remaining > 0:
        room = caps - out
        active = room > 0
        w = np.where(active, weights, 0.0)
        if w.sum() <= 0:
            w = active.astype(float)  # nobody has weight left: share evenly among those with room
        ideal = remaining * w / w.sum()
        give = np.minimum(np.floor(ideal).astype(np.int64), room)
        left = remaining - int(give.sum())
        if left > 0:
            order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
            for i in order:
                if left == 0:
                    break
                if active[i] and give[i] < room[i]:
                    give[i] += 1
                    left -= 1
        if give.sum() == 0:
            break
        out += give
        remaining -= int(give.sum())
    return out


def allocate(pool: int, warehouses: pd.DataFrame) -> pd.DataFrame:
    """Split ``pool`` units among ``warehouses`` (columns ``INPUT_COLUMNS``).

    Returns the input with ``need``, ``floor``, ``allocated`` and ``share_of_demand`` columns.
    """
    missing = set(INPUT_COLUMNS) - set(warehouses.columns)
    if missing:
        raise ValueError(f"missing columns: {sorted(missing)}")
    if pool < 0:
        raise ValueError("pool must not be negative")
    frame = warehouses[INPUT_COLUMNS].reset_index(drop=True).copy()
    demand = frame["demand_lead_time"].to_numpy(dtype=float).clip(0)
    safety = frame["safety_stock"].to_numpy(dtype=float).clip(0)
    available = frame["available"].to_numpy(dtype=float)
    need = np.maximum(np.ceil(demand + safety - available), 0).astype(np.int64)
    floor = np.minimum(np.maximum(np.ceil(safety - available), 0).astype(np.int64), need)
    if pool >= need.sum():
        allocated = need.copy()
    elif pool <= floor.sum():
        allocated = _largest_remainder(floor.astype(float), pool, floor)
    else:
        allocated = floor + _largest_remainder(demand, pool - int(floor.sum()), need - floor)
    total_demand = demand.sum()
    frame["need"] = need
    frame["floor"] = floor
    frame["allocated"] = allocated
    frame["share_of_demand"] = demand / total_demand if total_demand > 0 else 0.0
    return frame


def is_scarce(pool: int, allocation: pd.DataFrame) -> bool:
    """True when the pool cannot cover every warehouse's need."""
    return pool < int(allocation["need"].sum())

