"""Gift rules (赠品): which gifts an order earns, in which order, and how many at most.

A gift rule is an order rule of kind ``gift``: its condition tests the order's facts (the total,
the channel, ``skus`` — the SKUs on the order — and the rest of :func:`core.domain.rules.order_facts`)
and its action names the gift: ``{"gift": SKU, "qty": n, "fallback": SKU or absent}``. Every
matching rule, in priority order, offers one gift line, up to the shop's limit per order. The
gift line costs nothing (price 0, so no revenue) but is a line like any other: it is reserved,
picked, packed and counted as demand. Whether the stock is there is decided at reservation
(the same conditional UPDATE as every line): the gift, else its fallback, else the gift is
skipped and the order says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.domain.rules import RuleSpec, matches

MAX_GIFT_QTY = 10  # units of one gift line: more is a typo, not a promotion
MAX_GIFTS_PER_ORDER = 10  # the most the per-order setting may allow
DEFAULT_GIFTS_PER_ORDER = 2


@dataclass(frozen=True)
class GiftOffer:
    """One gift an order earned: the rule, the SKUs to try in order (gift, then fallback), units."""

    rule: str
    skus: tuple[str, ...]
    qty: int


def offers(rules: list[RuleSpec], facts: dict[str, Any], max_gifts: int) -> list[GiftOffer]:
    """The gifts ``facts`` earn from gift ``rules`` (already in priority order), at most ``max_gifts``."""
    found: list[GiftOffer] = []
    for rule in rules:
        if len(found) >= max(0, min(max_gifts, MAX_GIFTS_PER_ORDER)):
            break
        gift = str(rule.action.get("gift") or "").strip()
        if not gift or not matches(rule.condition, facts):
            continue
        fallback = str(rule.action.get("fallback") or "").strip()
        qty = int(rule.action.get("qty") or 1)
        found.append(GiftOffer(rule.name, (gift, fallback) if fallback and fallback != gift else (gift,),
                               max(1, min(qty, MAX_GIFT_QTY))))
    return found
