"""The invariant checker finds each kind of damage (and nothing on a sound database)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from core import db, invariants
from core.models import Order, StockLevel
from core.services.orders import create_order
from core.timeutil import utcnow
from tests.factories import CLERK, make_product, order_input


@pytest.fixture
def one_order(db_url: str) -> str:
    make_product("TEA-1", "25.00", {"SH": 5})
    return create_order(order_input(("TEA-1", 2)), CLERK).number


def _damage(statement: object) -> list[str]:
    with db.transaction() as s:
        s.execute(statement)  # type: ignore[arg-type]
    return sorted({b.check for b in invariants.check()})


def test_sound_database_has_no_breaches(one_order: str) -> None:
    assert invariants.check() == []


def test_stock_changed_outside_the_ledger(one_order: str) -> None:
    assert _damage(update(StockLevel).values(on_hand=StockLevel.on_hand + 1)) == ["ledger"]


def test_reservation_lost(one_order: str) -> None:
    assert _damage(update(StockLevel).values(reserved=StockLevel.reserved - 1)) == ["reserved"]


def test_cancelled_order_still_holding_stock(one_order: str) -> None:
    assert _damage(update(Order).values(status="cancelled")) == ["closed_order"]


def test_total_that_does_not_add_up(one_order: str) -> None:
    assert _damage(update(Order).values(total=Order.total + 1)) == ["order_total"]


def test_order_without_lines(one_order: str) -> None:
    with db.transaction() as s:
        template = s.execute(select(Order)).scalar_one()
        values = {c.key: getattr(template, c.key) for c in Order.__table__.columns if c.key != "id"}
    values.update(number="SO-HALF", external_ref=None, updated_at=utcnow())
    assert _damage(insert(Order).values(**values)) == ["order_lines"]
    assert [b.key for b in invariants.check()] == ["SO-HALF"]
