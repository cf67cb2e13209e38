"""Opening a return that a client may safely retry (the API's ``Idempotency-Key``): the same
contract as order creation (:mod:`core.services.api_orders`), the RMA opened by
:func:`core.services.aftersales.open_rma` in the transaction that stores the answer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.permissions import Actor, require
from core.services.aftersales import RMARequest, RMAResult, open_rma
from core.services.api_orders import Created, answer_once


def rma_result_record(result: RMAResult) -> dict[str, Any]:
    """An ``RMAResult`` as plain JSON values (the refund as a decimal string)."""
    return {**asdict(result), "computed_refund": str(result.computed_refund)}


@unit_of_work
def open_rma_once(session: Session, req: RMARequest, actor: Actor, *, token_id: int, key: str,
                  request_hash: str) -> Created:
    require(actor, "rma.create")
    return answer_once(session, token_id=token_id, key=key, request_hash=request_hash,
                       make=lambda: rma_result_record(open_rma(req, actor, session=session)))
