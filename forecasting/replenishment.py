"""Replenishment arithmetic for one product × warehouse (pure; the service feeds and stores it).

    μ_L   = forecast demand over the lead time L (days)
    σ_L   = spread of that demand (from the forecast's backtest errors)
    SS    = ⌈z(service level) · σ_L⌉                       safety stock
    ROP   = ⌈μ_L + SS⌉                                     reorder point
    S     = ⌈μ_(L+R) + SS⌉                                  order-up-to level (R = review period)
    available = on hand − reserved − backordered            (negative when backorders wait)
    position  = available + on order + in transit + accepted-not-yet-ordered
    need  = S − position   if position ≤ ROP, else 0
    qty   = need raised to the MOQ, then up to a whole number of packs

Netting what is already on order (open PO lines not yet received), on its way (transfers) and
already accepted by a buyer but not yet on a PO is what keeps a re-run from suggesting the
same units twice. Backorders count against availability: those units are already promised.
A forecast shorter than L + R is extended at the average rate of its last week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

TAIL_DAYS = 7


@dataclass(frozen=True)
class Position:
    """Stock and pipeline of one product in one warehouse."""

    on_hand: int
    reserved: int
    backordered: int = 0
    on_order: int = 0
    in_transit: int = 0
    pending: int = 0  # accepted suggestions not yet on a purchase order

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.backordered

    @property
    def inventory_position(self) -> int:
        return self.available + self.on_order + self.in_transit + self.pending


@dataclass(frozen=True)
class Policy:
    lead_time_days: int
    review_days: int = 7
    service_level: float = 0.95
    pack_size: int = 1
    moq: int = 1


@dataclass(frozen=True)
class Plan:
    demand_lead_time: float  # μ_L
    demand_review: float  # μ over L + R
    sigma_lead_time: float  # σ_L
    z: float
    safety_stock: int
    reorder_point: int
    order_up_to: int
    available: int
    inventory_position: int
    need: int  # before rounding
    suggested_qty: int
    daily_demand: float  # average over the lead time
    days_to_stockout: float | None  # None: no demand in sight


def demand_over(daily: np.ndarray, days: int) -> float:
    """Σ of the first ``days`` forecast days, extended at the last week's rate if too short."""
    if days <= 0:
        return 0.0
    head = float(daily[:days].sum())
    missing = days - min(days, len(daily))
    if missing == 0:
        return head
    rate = float(daily[-TAIL_DAYS:].mean()) if len(daily) else 0.0
    return head + rate * missing


def days_until_stockout(daily: np.ndarray, available: int) -> float | None:
    """Days until cumulative forecast demand exceeds what is available now (0 if none is)."""
    if available <= 0:
        return 0.0
    cumulative = np.cumsum(daily)
    beyond = np.flatnonzero(cumulative > available)
    if beyond.size:
        return float(beyond[0])
    rate = float(daily[-TAIL_DAYS:].mean()) if len(daily) else 0.0
    if rate <= 0:
        return None
    return float(len(daily) + (available - (cumulative[-1] if len(daily) else 0.0)) / rate)


def round_order(need: int, pack_size: int, moq: int) -> int:
    """Nothing for no need; otherwise at least the MOQ, in whole packs."""
    if need <= 0:
        return 0
    qty = max(need, moq)
    pack = max(pack_size, 1)
    return math.ceil(qty / pack) * pack


def plan(daily_forecast: np.ndarray, sigma_lead_time: float, position: Position, policy: Policy) -> Plan:
    """The suggestion for one series (see the module docstring for the arithmetic)."""
    if not 0.5 <= policy.service_level < 1:
        raise ValueError("service level must be in [0.5, 1)")
    if policy.lead_time_days < 0 or policy.review_days < 0:
        raise ValueError("lead time and review period must not be negative")
    daily = np.clip(np.asarray(daily_forecast, dtype=float), 0.0, None)
    lead = policy.lead_time_days
    mu_l = demand_over(daily, lead)
    mu_lr = demand_over(daily, lead + policy.review_days)
    z = NormalDist().inv_cdf(policy.service_level)
    safety = math.ceil(round(z * max(sigma_lead_time, 0.0), 6))
    rop = math.ceil(round(mu_l + safety, 6))
    up_to = math.ceil(round(mu_lr + safety, 6))
    ip = position.inventory_position
    need = up_to - ip if ip <= rop else 0
    return Plan(
        demand_lead_time=mu_l, demand_review=mu_lr, sigma_lead_time=sigma_lead_time, z=z, safety_stock=safety,
        reorder_point=rop, order_up_to=up_to, available=position.available, inventory_position=ip,
        need=max(need, 0), suggested_qty=round_order(need, policy.pack_size, policy.moq),
        daily_demand=mu_l / lead if lead else float(daily[:1].sum()),
        days_to_stockout=days_until_stockout(daily, position.available),
    )
