"""The audit trail and the stock ledger cannot be rewritten: the database itself refuses
UPDATE and DELETE on audit_log and stock_movements (triggers of migration 0007)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from core import db
from core.models import AuditLog, StockMovement
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input


def _count(model: type) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("statement", [
    update(AuditLog).values(actor="nobody"),
    delete(AuditLog),
    update(StockMovement).values(qty_delta=999),
    delete(StockMovement),
], ids=["update-audit", "delete-audit", "update-ledger", "delete-ledger"])
def test_history_cannot_be_rewritten(db_url: str, statement: object) -> None:
    make_product("TEA-1", "25.00", {"SH": 5})
    create_order(order_input(("TEA-1", 1)), CLERK)
    before = (_count(AuditLog), _count(StockMovement))
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(statement)  # type: ignore[arg-type]
    assert (_count(AuditLog), _count(StockMovement)) == before
    with db.transaction() as s:
        assert s.execute(select(AuditLog.actor)).scalars().all() == ["clerk1"]
        assert s.execute(select(StockMovement.qty_delta)).scalars().all() == [5]
