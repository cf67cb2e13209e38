"""``/purchase-orders``: list (filters, cursor paging), read one, and receive goods against it —
:mod:`core.services.purchasing`, the same ``receive_po`` the Receiving page calls."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api import values
from api.auth import caller
from api.schemas import ReceiveIn
from core.services import purchasing
from core.services.api_tokens import Caller

router = APIRouter(prefix="/purchase-orders", tags=["purchasing"])
Who = Annotated[Caller, Depends(caller)]
MAX_PAGE = 200


@router.get("")
def list_(who: Who, status: Annotated[list[Annotated[str, Query(max_length=20)]] | None, Query(max_length=10)] = None,
          supplier: Annotated[str | None, Query(max_length=100)] = None,
          warehouse: Annotated[str | None, Query(max_length=32)] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
          cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    """Newest first. ``next_cursor`` continues after the last row (null on the last page)."""
    frame = purchasing.list_purchase_orders(who.actor, status, limit + 1, supplier=supplier, warehouse=warehouse,
                                            before=values.decode_cursor(cursor) if cursor else None)
    more = len(frame) > limit
    frame = frame.head(limit)
    last = frame.iloc[-1] if more else None
    return {"items": values.records(frame),
            "next_cursor": values.encode_cursor(last["created_at"].to_pydatetime(), int(last["id"]))
            if last is not None else None}


def detail(number: str, who: Caller) -> dict[str, Any]:
    found = purchasing.po_detail(purchasing.po_id_for(number, who.actor), who.actor)
    return {**values.record(found.header), "lines": values.records(found.lines)}


@router.get("/{number}")
def get(number: str, who: Who) -> dict[str, Any]:
    """Header and lines (``line_id``, ordered, received, still open)."""
    return detail(number, who)


@router.post("/{number}/receive")
def receive(number: str, body: ReceiveIn, who: Who) -> dict[str, Any]:
    """Receive units per line (partial receipts allowed, never beyond what was ordered); the
    arrived stock goes to waiting backorders in the same transaction."""
    result = purchasing.receive_po(purchasing.po_id_for(number, who.actor), body.lines, who.actor, note=body.note)
    return {**values.record(dataclasses.asdict(result)), "released_orders": list(result.released_orders)}
