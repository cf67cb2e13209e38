"""The audit trail and the stock ledger cannot be rewritten: the database itself refuses
UPDATE and DELETE on audit_log and stock_movements (triggers of migration 0007)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update
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


# Statements that would replace an existing row in place. On SQLite REPLACE deletes the old row
# without firing DELETE triggers (unless recursive_triggers is on) and inserts the new one, so
# the UPDATE/DELETE triggers alone let it through; migration 0009 adds BEFORE INSERT triggers.
_SQLITE_REPLACES = {
    "insert-or-replace-audit": "INSERT OR REPLACE INTO audit_log (id, at, actor, action, entity) "
                               "SELECT id, at, 'nobody', action, entity FROM audit_log",
    "replace-into-audit": "REPLACE INTO audit_log (id, at, actor, action, entity) "
                          "SELECT id, at, 'nobody', action, entity FROM audit_log",
    "insert-or-replace-ledger": "INSERT OR REPLACE INTO stock_movements "
                                "(id, at, product_id, warehouse_id, qty_delta, kind, actor) "
                                "SELECT id, at, product_id, warehouse_id, 999, kind, actor FROM stock_movements",
    "replace-into-ledger": "REPLACE INTO stock_movements (id, at, product_id, warehouse_id, qty_delta, kind, actor) "
                           "SELECT id, at, product_id, warehouse_id, 999, kind, actor FROM stock_movements",
}
# PostgreSQL has no REPLACE; its upsert is the way to rewrite a row through an INSERT.
_PG_UPSERTS = {
    "upsert-audit": "INSERT INTO audit_log (id, at, actor, action, entity) "
                    "SELECT id, at, 'nobody', action, entity FROM audit_log "
                    "ON CONFLICT (id) DO UPDATE SET actor = excluded.actor",
    "upsert-ledger": "INSERT INTO stock_movements (id, at, product_id, warehouse_id, qty_delta, kind, actor) "
                     "SELECT id, at, product_id, warehouse_id, 999, kind, actor FROM stock_movements "
                     "ON CONFLICT (id) DO UPDATE SET qty_delta = excluded.qty_delta",
}


def _rewrites(db_url: str) -> dict[str, str]:
    return _SQLITE_REPLACES if db_url.startswith("sqlite") else _PG_UPSERTS


@pytest.mark.parametrize("name", sorted(_SQLITE_REPLACES) + sorted(_PG_UPSERTS))
def test_history_cannot_be_replaced_through_an_insert(db_url: str, name: str) -> None:
    statement = _rewrites(db_url).get(name)
    if statement is None:
        pytest.skip("statement of the other backend")
    make_product("TEA-1", "25.00", {"SH": 5})
    create_order(order_input(("TEA-1", 1)), CLERK)
    before = (_count(AuditLog), _count(StockMovement))
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:
        s.execute(text(statement))
    assert (_count(AuditLog), _count(StockMovement)) == before
    with db.transaction() as s:
        assert s.execute(select(AuditLog.actor)).scalars().all() == ["clerk1"]
        assert s.execute(select(StockMovement.qty_delta)).scalars().all() == [5]


def test_new_history_rows_still_insert(db_url: str) -> None:
    """The guard refuses only inserts that collide with an existing row."""
    make_product("TEA-1", "25.00", {"SH": 5})
    create_order(order_input(("TEA-1", 1)), CLERK)
    create_order(order_input(("TEA-1", 2)), CLERK)
    assert (_count(AuditLog), _count(StockMovement)) == (2, 1)
