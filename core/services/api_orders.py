"""Creation that a client may safely retry (the API's ``Idempotency-Key``).

The first request with a key creates the order and stores its answer in the same transaction;
a retry with the same key and the same body gets that answer again (no second order), the same
key with another body is refused with a conflict. A failed creation stores nothing, so its
retry is judged afresh. Two racing requests with one key collide on the unique (token, key)
index; the loser's transaction is re-run by ``unit_of_work`` and then finds the stored answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.errors import Conflict
from core.models import ApiIdempotencyKey
from core.permissions import Actor, require
from core.services.orders import OrderInput, OrderResult, create_order
from core.timeutil import utcnow


@dataclass(frozen=True)
class Created:
    answer: dict[str, Any]  # the order (or return) as first answered
    replayed: bool  # True: the answer stored for this key, no new order


def order_result_record(result: OrderResult) -> dict[str, Any]:
    """An ``OrderResult`` as plain JSON values (amounts as decimal strings, never floats)."""
    record = asdict(result)
    record["total"] = str(result.total)
    record["shortages"] = [asdict(s) for s in result.shortages]
    record["split_to"] = list(result.split_to)
    record["gifts"], record["gifts_skipped"] = list(result.gifts), list(result.gifts_skipped)
    return record


def answer_once(session: Session, *, token_id: int, key: str, request_hash: str,
                make: Callable[[], dict[str, Any]]) -> Created:
    """The answer stored for (token, key), or ``make()``'s, stored with the key in the caller's
    transaction. Shared by every creation the API makes retryable (orders, returns)."""
    stored = session.execute(select(ApiIdempotencyKey).where(
        ApiIdempotencyKey.token_id == token_id, ApiIdempotencyKey.key == key)).scalar_one_or_none()
    if stored is not None:
        if stored.request_hash != request_hash:
            raise Conflict.coded("api.idempotency_mismatch", idem_key=key)
        return Created(stored.response, replayed=True)
    record = make()
    session.add(ApiIdempotencyKey(token_id=token_id, key=key, request_hash=request_hash, response=record,
                                  created_at=utcnow()))
    session.flush()
    return Created(record, replayed=False)


@unit_of_work
def create_order_once(session: Session, data: OrderInput, actor: Actor, *, token_id: int, key: str,
                      request_hash: str) -> Created:
    require(actor, "order.create")
    return answer_once(session, token_id=token_id, key=key, request_hash=request_hash,
                       make=lambda: order_result_record(create_order(data, actor, session=session)))
