"""The gift lines (赠品) an order earns, reserved inside ``create_order``'s transaction.

The rules are ``core.domain.gifts``; this module takes the stock. Each gift is reserved with
the same conditional UPDATE as every order line (``core.stock.reserve``), so two orders racing
for the last gift cannot both get it: the gift, else its fallback, else the gift is skipped and
the order's first event says which rule's gift was out of stock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import stock
from core.domain import gifts
from core.errors import Message
from core.models import Product
from core.refdata import RefData, WarehouseRef


@dataclass(frozen=True)
class GiftLine:
    product_id: int
    sku: str
    qty: int
    rule: str


def earned(ref: RefData, facts: dict[str, Any]) -> list[gifts.GiftOffer]:
    """The gifts an order with ``facts`` earns under the active gift rules and the shop's limit."""
    limit = int(ref.setting("gifts", "max_per_order", gifts.DEFAULT_GIFTS_PER_ORDER))
    return gifts.offers(ref.rules.get("gift", []), facts, limit)


def reserve_gifts(session: Session, ref: RefData, facts: dict[str, Any],
                  wh: WarehouseRef) -> tuple[list[GiftLine], list[Message]]:
    """The gift lines reserved in ``wh`` for an order with ``facts``, and a timeline note for each
    gift skipped (``note.gift_out_of_stock``: the rule and its SKUs, fallback included)."""
    offers = earned(ref, facts)
    if not offers:
        return [], []
    wanted = sorted({sku for offer in offers for sku in offer.skus})
    ids = dict(session.execute(select(Product.sku, Product.id).where(
        Product.sku.in_(wanted), Product.active.is_(True))).all())
    return take_gifts(offers, ids, lambda pid, qty: stock.reserve(session, pid, wh.id, qty))


def take_gifts(offers: list[gifts.GiftOffer], ids: dict[str, int],
               take: Callable[[int, int], bool]) -> tuple[list[GiftLine], list[Message]]:
    """Each offer's first SKU (of the active products ``ids``) that ``take(product id, qty)``
    reserves, else a note that the gift was skipped; the batch path
    (:mod:`core.services.orders.batch`) takes from its own ledger of what is free."""
    lines: list[GiftLine] = []
    skipped: list[Message] = []
    for offer in offers:
        sku = next((s for s in offer.skus if s in ids and take(ids[s], offer.qty)), None)
        if sku is None:
            skipped.append(Message("note.gift_out_of_stock", {"rule": offer.rule, "skus": ", ".join(offer.skus)}))
        else:
            lines.append(GiftLine(ids[sku], sku, offer.qty, offer.rule))
    return lines, skipped
