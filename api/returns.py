"""``/returns``: open an after-sales return (idempotent like order creation) and read one —
:func:`core.services.aftersales.open_rma` and :func:`core.services.rma_views.rma_detail`."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response

from api import values
from api.auth import caller
from api.schemas import ReturnIn
from core.services import aftersales, api_returns, orders, rma_views
from core.services.api_tokens import Caller

router = APIRouter(prefix="/returns", tags=["returns"])
Who = Annotated[Caller, Depends(caller)]


def rma_request(body: ReturnIn, who: Caller) -> aftersales.RMARequest:
    lines = tuple(aftersales.RMALine(ln.line_no, ln.qty, ln.replacement_sku) for ln in body.lines)
    return aftersales.RMARequest(orders.order_id_for(body.order_number, who.actor), body.kind, body.reason_code,
                                 lines, note=body.note, override=body.override)


def request_hash(body: ReturnIn) -> str:
    """The parsed body with the resource: one key reused for an order and a return never matches."""
    canonical = json.dumps({"returns": body.model_dump(mode="json")}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.post("", status_code=201)
def create(body: ReturnIn, who: Who, response: Response,
           idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> dict[str, Any]:
    """Open a return. With ``Idempotency-Key``, a retry with the same body returns the first
    answer (``Idempotent-Replayed: true``) and opens nothing; another body is a 409."""
    req = rma_request(body, who)
    if idempotency_key is None:
        return api_returns.rma_result_record(aftersales.open_rma(req, who.actor))
    opened = api_returns.open_rma_once(req, who.actor, token_id=who.token_id, key=idempotency_key,
                                       request_hash=request_hash(body))
    if opened.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return opened.answer


@router.get("/{number}")
def get(number: str, who: Who) -> dict[str, Any]:
    """The return: header (with its order and refund), lines, timeline, the caller's next steps."""
    found = rma_views.rma_detail(rma_views.rma_id_for(number, who.actor), who.actor)
    return {**values.record(found.header), "lines": values.records(found.lines),
            "events": values.records(found.events), "actions": list(found.actions),
            "max_refund": values.plain(found.max_refund)}
