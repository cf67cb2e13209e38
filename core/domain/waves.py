"""Waves (波次): which confirmed orders go on the floor together, and who gets a short pick.

A wave rule narrows the confirmed orders of one warehouse (carrier, single-unit orders only,
due before a time, every line living in one bin zone) and caps the wave by orders and by lines.
Orders are taken most urgent first — the pick queue's order: priority, then due time, then age
— and an order that would break the line cap is skipped, not split (a smaller one behind it may
still fit). Each order gets a **slot** (1, 2, …) at the sorting wall in that order.

When the picker comes back short, the missing units are taken from the orders with the
highest slots first (the least urgent), counting only units not yet sorted into a slot: those
orders go back to the queue and everyone more urgent still ships.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

MAX_WAVE_ORDERS = 1_000
MAX_WAVE_LINES = 20_000
SHORT_REASONS = ("not_found", "damaged", "short")


@dataclass(frozen=True)
class WaveRule:
    carrier: str | None = None
    single_unit: bool = False
    due_before: dt.datetime | None = None
    zone: str | None = None
    max_orders: int = 200
    max_lines: int | None = None


@dataclass(frozen=True)
class Candidate:
    order_id: int
    priority: int
    due_by: dt.datetime | None
    placed_at: dt.datetime
    carrier: str | None
    units: int
    lines: int
    zones: frozenset[str]  # the zones of the lines' home bins ("" for a line without one)


def rule_issues(rule: WaveRule) -> list[tuple[str, str, dict[str, int]]]:
    """(field, issue code, params) for caps out of bounds."""
    issues: list[tuple[str, str, dict[str, int]]] = []
    if not 1 <= rule.max_orders <= MAX_WAVE_ORDERS:
        issues.append(("max_orders", "wave_issue.cap", {"lo": 1, "hi": MAX_WAVE_ORDERS}))
    if rule.max_lines is not None and not 1 <= rule.max_lines <= MAX_WAVE_LINES:
        issues.append(("max_lines", "wave_issue.cap", {"lo": 1, "hi": MAX_WAVE_LINES}))
    return issues


def _urgency(c: Candidate) -> tuple[int, dt.datetime, dt.datetime, int]:
    return (-c.priority, c.due_by or dt.datetime.max, c.placed_at, c.order_id)


def matches(rule: WaveRule, c: Candidate) -> bool:
    return ((rule.carrier is None or c.carrier == rule.carrier)
            and (not rule.single_unit or c.units == 1)
            and (rule.due_before is None or (c.due_by is not None and c.due_by <= rule.due_before))
            and (rule.zone is None or c.zones == {rule.zone}))


def choose(rule: WaveRule, candidates: Sequence[Candidate]) -> list[int]:
    """The wave's order ids in slot order (see the module docstring)."""
    chosen: list[int] = []
    lines = 0
    for c in sorted((c for c in candidates if matches(rule, c)), key=_urgency):
        if len(chosen) == rule.max_orders:
            break
        if rule.max_lines is not None and lines + c.lines > rule.max_lines:
            continue
        chosen.append(c.order_id)
        lines += c.lines
    return chosen


def short_orders(missing: int, unsorted_by_slot: Sequence[tuple[int, int]]) -> list[int]:
    """The slots sent back when ``missing`` units of one SKU are not on the shelf:
    ``unsorted_by_slot`` is (slot, units of that SKU the slot still waits for); highest slots
    give up their units first until the shortfall is covered."""
    back: list[int] = []
    for slot, waiting in sorted(unsorted_by_slot, reverse=True):
        if missing <= 0:
            break
        if waiting > 0:
            back.append(slot)
            missing -= waiting
    return sorted(back)
