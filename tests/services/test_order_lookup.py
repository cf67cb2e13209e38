"""Public order lookup: the right pair shows status, carrier, tracking and RMA progress only;
a wrong phone and an unknown number get the same nothing; limits hold across sessions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, insert, select

from core import db
from core.errors import ValidationError
from core.models import LookupAttempt
from core.services import aftersales as rma
from core.services.aftersales import RMALine, RMARequest
from core.services.order_lookup import DEFAULT_LIMITS, LookupResult, LookupThrottled, lookup_order
from core.timeutil import pin, utcnow
from tests.aftersales_data import delivered_order
from tests.factories import MANAGER, SERVICE, make_product


@pytest.fixture
def order(db_url: str):  # noqa: ANN201 - an OrderResult
    make_product("A", "30.00", {"SH": 10})
    return delivered_order(("A", 2), phone="13800138000")


def _attempts() -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count(LookupAttempt.id))).scalar_one())


def test_the_right_pair_shows_status_tracking_and_rma_progress_only(order) -> None:  # noqa: ANN001
    opened = rma.open_rma(RMARequest(order.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)  # not the opener
    result = lookup_order(f" {order.number.lower()} ", "8000", "browser-1")
    assert isinstance(result, LookupResult)
    assert {f.name for f in dataclasses.fields(result)} == {"number", "status", "carrier", "tracking_no", "rmas"}
    assert (result.number, result.status, result.carrier, result.tracking_no) == (
        order.number, "delivered", "顺丰", "SF1234567890")
    (progress,) = result.rmas
    assert (progress.number, progress.kind, progress.status) == (opened.number, "return", "approved")
    assert [s for s, _ in progress.steps] == ["requested", "approved"]


def test_wrong_phone_and_unknown_number_look_the_same(order) -> None:  # noqa: ANN001
    assert lookup_order(order.number, "1234", "browser-1") is None
    assert lookup_order("SO00000000-999999", "8000", "browser-1") is None
    with db.transaction() as s:
        rows = s.execute(select(LookupAttempt.order_number, LookupAttempt.success)).all()
    assert [tuple(r) for r in rows] == [(order.number, False), ("SO00000000-999999", False)]


@pytest.mark.parametrize(("number", "last4", "field"), [
    ("", "8000", "number"), ("X" * 40, "8000", "number"), ("SO1", "800", "lookup_last4"),
    ("SO1", "80a0", "lookup_last4"), ("SO1", "138000", "lookup_last4"), ("SO1' OR 1=1", "8000", "number"),
    ("SO\x001", "8000", "number"),
])
def test_malformed_input_is_refused_and_not_counted(order, number: str, last4: str, field: str) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError) as err:
        lookup_order(number, last4, "browser-1")
    assert [i.field for i in err.value.issues] == [field]
    assert _attempts() == 0


def test_failures_per_order_number_back_off_for_every_client(order) -> None:  # noqa: ANN001
    free = DEFAULT_LIMITS["order_failures"]
    for i in range(free):
        assert lookup_order(order.number, f"{i:04d}", f"guesser-{i}") is None
    with pytest.raises(LookupThrottled) as err:
        lookup_order(order.number, "8000", "the-real-customer")  # even the right phone waits …
    first = err.value.params["seconds"]
    assert 0 < first <= DEFAULT_LIMITS["first_wait_seconds"]  # … seconds, not an hour
    assert lookup_order("SO00000000-000001", "8000", "the-real-customer") is None  # other numbers still answer
    assert _attempts() == free + 1  # refused attempts are not counted
    with pin(utcnow() + dt.timedelta(seconds=first + 1)):
        assert lookup_order(order.number, "8000", "the-real-customer") is not None


def test_the_wait_grows_but_never_past_the_cap(order) -> None:  # noqa: ANN001
    """A guesser hammering one order (from ever new clients) slows to one try per cap; the
    customer waits at most the cap."""
    cap = DEFAULT_LIMITS["max_wait_minutes"] * 60
    waits = []
    at = utcnow()
    for i in range(DEFAULT_LIMITS["order_failures"] + 12):
        while True:
            try:
                with pin(at):
                    assert lookup_order(order.number, f"{i:04d}", f"guesser-{i}") is None
                break
            except LookupThrottled as exc:
                waits.append(exc.params["seconds"])
                at += dt.timedelta(seconds=exc.params["seconds"] + 1)
    assert waits == sorted(waits) and waits[1] >= 2 * waits[0] - 1
    assert cap - 2 <= max(waits) <= cap


def test_one_client_failing_on_many_orders_is_slowed_down(order) -> None:  # noqa: ANN001
    for i in range(DEFAULT_LIMITS["client_failures"]):
        assert lookup_order(f"SO00000000-{i:06d}", "8000", "scanner") is None
    with pytest.raises(LookupThrottled):
        lookup_order(order.number, "8000", "scanner")
    assert lookup_order(order.number, "8000", "another-browser") is not None


def test_a_success_ends_the_orders_backoff(order) -> None:  # noqa: ANN001
    for i in range(DEFAULT_LIMITS["order_failures"] - 1):
        assert lookup_order(order.number, f"{i:04d}", "customer") is None
    assert lookup_order(order.number, "8000", "customer") is not None
    assert lookup_order(order.number, "0000", "customer") is None  # counted afresh: no wait yet
    assert lookup_order(order.number, "8000", "customer") is not None


def test_old_attempts_are_purged(order) -> None:  # noqa: ANN001
    with db.transaction() as s:
        s.execute(insert(LookupAttempt).values(at=utcnow() - dt.timedelta(days=8), client="old",
                                               order_number="SO1", success=False))
    lookup_order(order.number, "8000", "browser-1")
    with db.transaction() as s:
        assert s.execute(select(LookupAttempt.client)).scalars().all() == ["browser-1"]
