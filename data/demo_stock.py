"""Stock for the demo retailer: a replenishment simulation whose ledger always reconciles.

Shipments are fixed by the orders; this module decides what arrives when. Each supplier's
buyer reviews stock once a week and orders enough to cover the lead time plus a margin
(knowing the promotion calendar, as a real buyer would). Should a day's shipments still
exceed what is on the shelf, an urgent receipt arrives that morning, before the first carrier
pick-up — so ``on_hand`` is never negative at any instant of the ledger, and
``Σ qty_delta = on_hand`` holds by construction for every (product, warehouse).

Open orders then reserve their lines; a top-up receipt makes sure every reservation is
covered, except for a handful of deliberately starved items: some run low (their supplier
stopped delivering three weeks ago) and a few are out of stock after a stocktake write-off,
so the open orders that need them are backordered — the app has something to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data import demo_tables as T
from data.demo_sim import (
    DAY,
    RECEIVING_HOURS,
    RESERVING,
    WAREHOUSE_CODES,
    Catalogue,
    Clock,
    Lines,
    Orders,
    Returns,
)

# Ledger entry codes, in the order they are applied when two share the same second.
INITIAL, RECEIPT, URGENT, RESTOCK, COUNT, SHIPMENT = range(6)
MOVES: tuple[tuple[str, str | None], ...] = (
    ("initial", "期初库存"), ("receipt", "采购到货"), ("receipt", "紧急补货"),
    ("return_restock", None), ("count", "盘点盘亏（破损报废）"), ("shipment", None),
)
FROZEN_DAYS = 21  # starved items: no purchase arrives in the last three weeks
STOCKOUTS, LOW_ITEMS = 3, 5


@dataclass
class Ledger:
    """Stock movements sorted by time; ``pair`` = product × warehouses + warehouse."""

    at: np.ndarray  # UTC seconds
    pair: np.ndarray
    delta: np.ndarray
    code: np.ndarray  # index into MOVES
    ref: np.ndarray  # order index (shipment), return index (restock), else -1

    @property
    def size(self) -> int:
        return len(self.at)


@dataclass
class Stock:
    ledger: Ledger
    on_hand: np.ndarray  # per pair
    reserved: np.ndarray
    safety: np.ndarray
    reorder: np.ndarray
    line_reserved: np.ndarray  # qty_reserved per order line
    backordered: np.ndarray  # per order
    in_transit: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # order day, arrival day, pair, qty


@dataclass(frozen=True)
class _Policy:
    lead: np.ndarray
    pack: np.ndarray
    moq: np.ndarray
    review_dow: np.ndarray
    frozen: np.ndarray


def _round_up(qty: np.ndarray, pack: np.ndarray) -> np.ndarray:
    return (-(-qty.astype(np.int64) // pack)) * pack


def _daily(day: np.ndarray, pair: np.ndarray, qty: np.ndarray, days: int, pairs: int) -> np.ndarray:
    inside = (day >= 0) & (day < days)
    flat = np.bincount(day[inside] * pairs + pair[inside], weights=qty[inside], minlength=days * pairs)
    return flat.round().astype(np.int64).reshape(days, pairs)


def _receiving_time(rng: np.random.Generator, clock: Clock, day: np.ndarray) -> np.ndarray:
    """Goods arrive in the morning before the first pick-up, never later than now."""
    local = clock.start_local + day * DAY + rng.integers(*RECEIVING_HOURS, len(day))
    return np.minimum(clock.to_utc(local), clock.now_utc - 60)


def simulate_stock(rng: np.random.Generator, clock: Clock, dow: np.ndarray, cat: Catalogue, o: Orders, lines: Lines,
                   returns: Returns) -> Stock:
    """Receipts, write-offs and reservations around the orders' shipments and restocks, and
    the resulting ledger, levels (with safety stock ≈ 7 and reorder point ≈ 14 days of recent
    demand) and the open orders that end up backordered."""
    n_wh = len(WAREHOUSE_CODES)
    pairs = cat.size * n_wh
    pair = lines.product * n_wh + o.warehouse[lines.order]
    ship_at = o.flow.shipped[lines.order]
    shipped = ship_at >= 0
    demand = _daily(clock.local_day_of_utc(ship_at[shipped]), pair[shipped], lines.qty[shipped], clock.days, pairs)
    restock_line = returns.line[returns.restocked > 0]
    restock_at = returns.closed[returns.line_return[returns.restocked > 0]]
    back = _daily(clock.local_day_of_utc(restock_at), pair[restock_line], returns.restocked[returns.restocked > 0],
                  clock.days, pairs)
    is_open = np.isin(o.flow.status[lines.order], RESERVING)
    outs, out_at = _pick_stockouts(rng, clock, demand, pair, ship_at, is_open, o.placed[lines.order])
    low = _pick_low(rng, demand, outs)
    frozen = np.zeros(pairs, dtype=bool)
    frozen[outs] = frozen[low] = True
    supplier_moq = np.array([s[2] for s in T.SUPPLIERS])
    policy = _Policy(np.repeat(cat.lead, n_wh), np.repeat(cat.pack, n_wh), np.repeat(supplier_moq[cat.supplier], n_wh),
                     np.repeat(cat.supplier % 7, n_wh), frozen)
    initial, receipts, in_transit = _replenish(demand, back, dow, policy)

    parts: list[tuple[np.ndarray, ...]] = [
        (np.full(pairs, clock.to_utc(np.array([clock.start_local - DAY + 10 * 3600]))[0]), np.arange(pairs),
         initial, np.full(pairs, INITIAL), np.full(pairs, -1)),
        (_receiving_time(rng, clock, receipts[0]), receipts[1], receipts[2], receipts[3], np.full(len(receipts[0]), -1)),
        (restock_at, pair[restock_line], returns.restocked[returns.restocked > 0], np.full(len(restock_line), RESTOCK),
         returns.line_return[returns.restocked > 0]),
        (ship_at[shipped], pair[shipped], -lines.qty[shipped], np.full(int(shipped.sum()), SHIPMENT),
         lines.order[shipped]),
    ]
    parts.append(_write_offs(parts, outs, out_at))
    backordered = np.zeros(o.size, dtype=bool)
    backordered[lines.order[is_open & np.isin(pair, outs)]] = True
    line_reserved = np.where(is_open & ~backordered[lines.order], lines.qty, 0)
    reserved = np.bincount(pair, weights=line_reserved, minlength=pairs).astype(np.int64)
    parts.append(_top_up(rng, clock, parts, reserved, policy))
    ledger = _sorted_ledger(parts)
    on_hand = np.bincount(ledger.pair, weights=ledger.delta, minlength=pairs).astype(np.int64)
    recent = demand[-90:].sum(axis=0) / min(90, clock.days)
    return Stock(ledger, on_hand, reserved, np.maximum(1, np.ceil(7 * recent)).astype(np.int64),
                 np.maximum(2, np.ceil(14 * recent)).astype(np.int64), line_reserved, backordered, in_transit)


def _pick_stockouts(rng: np.random.Generator, clock: Clock, demand: np.ndarray, pair: np.ndarray,
                    ship_at: np.ndarray, is_open: np.ndarray, placed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A few selling items to run out: (pairs, time of the write-off that empties them).

    Preferably items open orders are waiting for, written off after their last shipment and
    before the first of those orders came in, so those orders were backordered on arrival.
    """
    pairs = demand.shape[1]
    sold = demand[-60:].sum(axis=0)
    last_ship = np.full(pairs, -1, dtype=np.int64)
    np.maximum.at(last_ship, pair[ship_at >= 0], ship_at[ship_at >= 0])
    first_open = np.full(pairs, np.iinfo(np.int64).max)
    np.minimum.at(first_open, pair[is_open], placed[is_open])
    waiting = np.flatnonzero((sold > 0) & (first_open - last_ship > 3600) & (first_open < clock.now_utc))
    chosen = _weighted_pick(rng, waiting, sold, STOCKOUTS)
    gap = np.minimum(first_open[chosen] - last_ship[chosen], DAY)
    at = first_open[chosen] - rng.integers(600, gap)
    quiet = (sold > 0) & (first_open == np.iinfo(np.int64).max) & (last_ship < clock.now_utc - 900)
    spare = np.setdiff1d(np.flatnonzero(quiet), chosen)
    extra = _weighted_pick(rng, spare, sold, STOCKOUTS - len(chosen))
    extra_at = np.minimum(np.maximum(last_ship[extra] + 600, clock.now_utc - DAY), clock.now_utc - 60)
    return np.concatenate([chosen, extra]), np.concatenate([at, extra_at])


def _pick_low(rng: np.random.Generator, demand: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """A few more selling items whose supplier stopped delivering: they run low, not out."""
    sold = demand[-60:].sum(axis=0)
    return _weighted_pick(rng, np.setdiff1d(np.flatnonzero(sold > 0), taken), sold, LOW_ITEMS)


def _weighted_pick(rng: np.random.Generator, candidates: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(candidates))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    w = weight[candidates].astype(float)
    return np.sort(rng.choice(candidates, k, replace=False, p=w / w.sum()))


def _replenish(demand: np.ndarray, back: np.ndarray, dow: np.ndarray, policy: _Policy
               ) -> tuple[np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Day by day: (initial stock, receipts (day, pair, qty, code), purchases still in transit)."""
    days, pairs = demand.shape
    tail = demand[max(0, days - 28):].mean(axis=0)
    ahead = int(policy.lead.max()) + 32
    cum = np.vstack([np.zeros(pairs), np.cumsum(np.vstack([demand, np.tile(tail, (ahead, 1))]), axis=0)])
    cols = np.arange(pairs)

    def expected(day: int, horizon: np.ndarray) -> np.ndarray:
        """Known demand of the next ``horizon`` days (past today: the recent daily rate)."""
        return cum[np.minimum(day + 1 + horizon, len(cum) - 1), cols] - cum[day + 1, cols]

    initial = _round_up(np.maximum(np.ceil(1.25 * expected(-1, policy.lead + 14)), policy.moq), policy.pack)
    on_hand, on_order = initial.copy(), np.zeros(pairs, dtype=np.int64)
    arrivals = np.zeros((days + ahead, pairs), dtype=np.int64)
    freeze_from = np.where(policy.frozen, days - FROZEN_DAYS - policy.lead, days + 1)
    received: list[tuple[int, np.ndarray, np.ndarray, int]] = []
    ordered: list[tuple[int, np.ndarray, np.ndarray]] = []
    for d in range(days):
        got = np.flatnonzero(arrivals[d])
        if got.size:
            on_hand[got] += arrivals[d, got]
            on_order[got] -= arrivals[d, got]
            received.append((d, got, arrivals[d, got], RECEIPT))
        short = np.flatnonzero(demand[d] > on_hand)
        if short.size:
            need = demand[d, short] - on_hand[short]
            rush = _round_up(need + np.ceil(expected(d, np.full(pairs, 7))[short]), policy.pack[short])
            rush = np.where(policy.frozen[short], need, rush)
            on_hand[short] += rush
            received.append((d, short, rush, URGENT))
        on_hand += back[d] - demand[d]
        due = np.flatnonzero((policy.review_dow == dow[d]) & (d < freeze_from))
        gap = np.ceil(1.25 * expected(d, policy.lead + 10)[due]) - on_hand[due] - on_order[due]
        due, gap = due[gap > 0], gap[gap > 0]
        if due.size:
            qty = _round_up(np.maximum(gap, policy.moq[due]), policy.pack[due])
            arrivals[d + policy.lead[due], due] += qty
            on_order[due] += qty
            ordered.append((d, due, qty))
    return initial, _stack_receipts(received), _in_transit(ordered, policy.lead, days)


def _stack_receipts(received: list[tuple[int, np.ndarray, np.ndarray, int]]) -> tuple[np.ndarray, ...]:
    if not received:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(4))
    return (np.concatenate([np.full(len(p), d) for d, p, _, _ in received]),
            np.concatenate([p for _, p, _, _ in received]),
            np.concatenate([q for _, _, q, _ in received]),
            np.concatenate([np.full(len(p), c) for _, p, _, c in received]))


def _in_transit(ordered: list[tuple[int, np.ndarray, np.ndarray]], lead: np.ndarray, days: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Purchases placed but not yet arrived today: these become open purchase orders."""
    if not ordered:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    day = np.concatenate([np.full(len(p), d) for d, p, _ in ordered])
    pair = np.concatenate([p for _, p, _ in ordered])
    qty = np.concatenate([q for _, _, q in ordered])
    arrival = day + lead[pair]
    late = arrival >= days
    return day[late], arrival[late], pair[late], qty[late]


def _write_offs(parts: list[tuple[np.ndarray, ...]], outs: np.ndarray, out_at: np.ndarray) -> tuple[np.ndarray, ...]:
    """A stocktake finds the remaining units of each stock-out item damaged: balance → 0."""
    at = np.concatenate([p[0] for p in parts])
    pair = np.concatenate([p[1] for p in parts])
    delta = np.concatenate([p[2] for p in parts])
    balance = np.array([delta[(pair == q) & (at <= t)].sum() for q, t in zip(outs, out_at, strict=True)],
                       dtype=np.int64)
    keep = balance > 0
    return out_at[keep], outs[keep], -balance[keep], np.full(int(keep.sum()), COUNT), np.full(int(keep.sum()), -1)


def _top_up(rng: np.random.Generator, clock: Clock, parts: list[tuple[np.ndarray, ...]], reserved: np.ndarray,
            policy: _Policy) -> tuple[np.ndarray, ...]:
    """This morning's receipts covering every reservation (starved items: just the shortfall)."""
    pairs = len(reserved)
    on_hand = np.zeros(pairs, dtype=np.int64)
    for p in parts:
        np.add.at(on_hand, p[1], p[2])
    short = np.flatnonzero(reserved > on_hand)
    need = reserved[short] - on_hand[short]
    qty = np.where(policy.frozen[short], need, _round_up(np.maximum(need, policy.moq[short]), policy.pack[short]))
    at = _receiving_time(rng, clock, np.full(len(short), clock.days - 1))
    return at, short, qty, np.full(len(short), RECEIPT), np.full(len(short), -1)


def _sorted_ledger(parts: list[tuple[np.ndarray, ...]]) -> Ledger:
    at, pair, delta, code, ref = (np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(5))
    order = np.lexsort((code, at))
    return Ledger(at[order], pair[order], delta[order], code[order], ref[order])
