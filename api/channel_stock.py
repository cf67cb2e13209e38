"""``/channels/{code}/stock``: what a sales channel may sell of each SKU (its available-to-sell
under the channel's stock policy, ``core.services.channel_stock``; docs/channel-stock.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import values
from api.auth import caller
from core.services import channel_stock
from core.services.api_tokens import Caller

router = APIRouter(tags=["stock"])
Who = Annotated[Caller, Depends(caller)]
ITEM_FIELDS = ["sku", "available", "ats", "listed"]


@router.get("/channels/{code}/stock")
def channel_stock_figures(code: str, who: Who,
                          sku: Annotated[list[str] | None, Query(max_length=200)] = None,
                          after: Annotated[str | None, Query(max_length=64)] = None,
                          limit: Annotated[int, Query(ge=1, le=channel_stock.MAX_PAGE)] = 200) -> dict[str, Any]:
    """Available-to-sell per active SKU for the channel, by SKU; ``after`` = the previous page's
    ``next_after`` (null on the last page). 404 when the channel has no stock policy."""
    frame = channel_stock.channel_ats(who.actor, skus=sku, channel=code, after=after, limit=limit)
    items = values.records(frame[ITEM_FIELDS])
    full = len(items) == limit
    return {"channel": code.strip().upper(), "items": items, "next_after": items[-1]["sku"] if full else None}
