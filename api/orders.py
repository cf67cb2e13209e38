"""``/orders``: create (idempotent), read, list with cursor paging, and status transitions —
each one call of the services the pages use."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from api import values
from api.auth import caller
from api.schemas import OrderIn, ShipIn, TransitionIn
from core.services import api_orders, orders
from core.services.api_tokens import Caller

router = APIRouter(prefix="/orders", tags=["orders"])
Who = Annotated[Caller, Depends(caller)]
MAX_PAGE = 200


def order_input(body: OrderIn) -> orders.OrderInput:
    data = body.model_dump(exclude={"lines"})
    data["placed_at"] = values.utc_naive(body.placed_at)
    return orders.OrderInput(lines=[orders.LineInput(**ln.model_dump()) for ln in body.lines], **data)


def request_hash(body: OrderIn) -> str:
    """The body as parsed (field order and spacing do not matter; defaults do)."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.post("", status_code=201)
def create(body: OrderIn, who: Who, response: Response,
           idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> dict[str, Any]:
    """Create an order. With ``Idempotency-Key``, a retry with the same body returns the first
    answer (``Idempotent-Replayed: true``) and creates nothing; another body is a 409."""
    if idempotency_key is None:
        return api_orders.order_result_record(orders.create_order(order_input(body), who.actor))
    created = api_orders.create_order_once(order_input(body), who.actor, token_id=who.token_id,
                                           key=idempotency_key, request_hash=request_hash(body))
    if created.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return created.answer


def detail(number: str, who: Caller) -> dict[str, Any]:
    found = orders.order_detail(orders.order_id_for(number, who.actor), who.actor)
    return {**values.record(found.header), "lines": values.records(found.lines),
            "events": values.records(found.events), "allowed_transitions": list(found.allowed_transitions)}


@router.get("/{number}")
def get(number: str, who: Who) -> dict[str, Any]:
    return detail(number, who)


@router.get("")
def list_(who: Who, status: Annotated[list[str] | None, Query()] = None,
          channel: Annotated[list[str] | None, Query()] = None,
          placed_from: dt.datetime | None = None, placed_to: dt.datetime | None = None,
          q: str = "", limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
          cursor: str | None = None) -> dict[str, Any]:
    """Newest first. ``next_cursor`` continues after the last row (null on the last page)."""
    frame = orders.search_orders(who.actor, q, statuses=status, channels=channel,
                                 date_from=values.utc_naive(placed_from), date_to=values.utc_naive(placed_to),
                                 limit=limit + 1, before=values.decode_cursor(cursor) if cursor else None)
    more = len(frame) > limit
    frame = frame.head(limit)
    last = frame.iloc[-1] if more else None
    return {"items": values.records(frame),
            "next_cursor": values.encode_cursor(last["placed_at"].to_pydatetime(), int(last["id"]))
            if last is not None else None}


def _move(number: str, to_status: str, who: Caller, body: TransitionIn, *, carrier: str | None = None,
          tracking_no: str | None = None) -> dict[str, Any]:
    order_id = orders.order_id_for(number, who.actor)
    orders.transition(order_id, to_status, who.actor, expected_version=body.expected_version, note=body.note,
                      carrier=carrier, tracking_no=tracking_no)
    return detail(number, who)


@router.post("/{number}/confirm")
def confirm(number: str, who: Who, body: TransitionIn | None = None) -> dict[str, Any]:
    return _move(number, "confirmed", who, body or TransitionIn())


@router.post("/{number}/cancel")
def cancel(number: str, who: Who, body: TransitionIn | None = None) -> dict[str, Any]:
    return _move(number, "cancelled", who, body or TransitionIn())


@router.post("/{number}/pick")
def pick(number: str, who: Who, body: TransitionIn | None = None) -> dict[str, Any]:
    return _move(number, "picking", who, body or TransitionIn())


@router.post("/{number}/pack")
def pack(number: str, who: Who, body: TransitionIn | None = None) -> dict[str, Any]:
    return _move(number, "packed", who, body or TransitionIn())


@router.post("/{number}/ship")
def ship(number: str, who: Who, body: ShipIn) -> dict[str, Any]:
    return _move(number, "shipped", who, body, carrier=body.carrier, tracking_no=body.tracking_no)
