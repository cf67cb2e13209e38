"""A restore compares the backup's schema with what the migrations build at the backup's revision:
a backup whose append-only triggers were dropped, whose table was altered, whose index is gone
or that carries an extra trigger is refused with the difference named — and the live database
stays untouched (its data and its triggers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from core import db
from core.errors import ValidationError
from core.models import AuditLog
from core.permissions import SYSTEM
from core.services import backup
from core.services.orders import create_order
from tests.conftest import BACKEND
from tests.factories import CLERK, make_product, order_input

SUFFIX = ".dump" if BACKEND == "postgres" else ".db"
PG = BACKEND == "postgres"
# (tamper the live database, undo it, what the refusal must name)
CASES = {
    "dropped-trigger": (
        "DROP TRIGGER audit_log_append_only ON audit_log" if PG else "DROP TRIGGER audit_log_no_update",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW "
        "EXECUTE FUNCTION oms_append_only()" if PG else
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
        "audit_log_append_only" if PG else "audit_log_no_update"),
    "dropped-replace-guard": (
        "DROP TRIGGER audit_log_append_only ON audit_log" if PG else "DROP TRIGGER stock_movements_no_replace",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW "
        "EXECUTE FUNCTION oms_append_only()" if PG else
        "CREATE TRIGGER stock_movements_no_replace BEFORE INSERT ON stock_movements "
        "WHEN EXISTS (SELECT 1 FROM stock_movements WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only: REPLACE refused'); END",
        "audit_log_append_only" if PG else "stock_movements_no_replace"),
    "altered-table": ("ALTER TABLE users ADD COLUMN backdoor TEXT", "ALTER TABLE users DROP COLUMN backdoor", "users"),
    "dropped-index": ("DROP INDEX ix_audit_entity",
                      "CREATE INDEX ix_audit_entity ON audit_log (entity, entity_id)", "ix_audit_entity"),
    "extra-trigger": (
        "CREATE TRIGGER users_spy AFTER UPDATE ON users FOR EACH ROW EXECUTE FUNCTION oms_append_only()" if PG else
        "CREATE TRIGGER users_spy AFTER UPDATE ON users BEGIN SELECT 1; END",
        "DROP TRIGGER users_spy ON users" if PG else "DROP TRIGGER users_spy", "users_spy"),
}


@pytest.fixture
def shop(db_url: str) -> str:
    make_product("TEA-1", "25.00", {"SH": 5})
    create_order(order_input(("TEA-1", 1)), CLERK)
    return db_url


def _live_state() -> tuple[dict[str, backup.TableDigest], int]:
    with db.transaction() as s:
        audit_rows = s.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    return backup.table_checksums(db.get_engine()), audit_rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_tampered_schema_is_refused_and_the_live_database_untouched(shop: str, tmp_path: Path, case: str) -> None:
    tamper, undo, named = CASES[case]
    with db.transaction() as s:
        s.execute(text(tamper))
    path = backup.backup(tmp_path / f"tampered{SUFFIX}", SYSTEM).path
    with db.transaction() as s:
        s.execute(text(undo))
    before = _live_state()
    with pytest.raises(ValidationError, match=named) as refused:
        backup.restore(path, SYSTEM)
    assert all(issue.field == "file" for issue in refused.value.issues)
    assert _live_state() == before
    with pytest.raises(DBAPIError, match="append-only"), db.transaction() as s:  # still append-only
        s.execute(update(AuditLog).values(actor="nobody"))


def test_an_untampered_backup_restores(shop: str, tmp_path: Path) -> None:
    path = backup.backup(tmp_path / f"clean{SUFFIX}", SYSTEM).path
    assert backup.restore(path, SYSTEM).tables > 0
