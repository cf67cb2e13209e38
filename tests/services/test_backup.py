"""Backup and restore round-trip a demo database exactly (row counts and per-table checksums),
and a restore refuses — changing nothing — a file that is not a sound backup of this app."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from core import db
from core.cli import main
from core.errors import PermissionDenied, ValidationError
from core.models import AuditLog, StockLevel
from core.permissions import SYSTEM
from core.services import backup
from core.services.orders import create_order
from core.services.users import create_user
from data.demo import load_demo
from tests.conftest import BACKEND
from tests.factories import CLERK, MANAGER, order_input

SUFFIX = ".dump" if BACKEND == "postgres" else ".db"


@pytest.fixture
def demo(db_url: str) -> str:
    load_demo(db_url, orders=300, seed=11)
    return db_url


def _digests() -> dict[str, backup.TableDigest]:
    return backup.table_checksums(db.get_engine())


def _change_something() -> None:
    with db.transaction() as s:
        sku = s.execute(text("SELECT p.sku FROM products p JOIN stock_levels l ON l.product_id = p.id "
                             "WHERE l.on_hand - l.reserved > 0 AND p.active ORDER BY p.id LIMIT 1")).scalar_one()
    create_order(order_input((sku, 1), allow_backorder=True), CLERK)
    create_user("intruder", "longenough9", "admin", SYSTEM)


def test_round_trip_is_exact(demo: str, tmp_path: Path) -> None:
    before = _digests()
    assert before["orders"].rows >= 300 and before["stock_movements"].rows > 0
    result = backup.backup(tmp_path / "backups" / f"oms{SUFFIX}", SYSTEM)
    assert result.path.exists() and result.tables == len(before)
    assert not list(tmp_path.glob("*.partial"))
    _change_something()
    assert _digests()["orders"] != before["orders"]
    restored = backup.restore(result.path, SYSTEM)
    assert not restored.upgraded and restored.rows == sum(d.rows for d in before.values())
    after = _digests()
    assert {t: d for t, d in after.items() if t != "audit_log"} == {t: d for t, d in before.items() if t != "audit_log"}
    assert after["audit_log"].rows == before["audit_log"].rows + 1  # + the restore's own audit row
    with db.transaction() as s:
        last = s.execute(select(AuditLog.action, AuditLog.actor).order_by(AuditLog.id.desc()).limit(1)).one()
    assert tuple(last) == ("backup.restore", "system")
    # the restored database works: the next order goes through
    _change_something()


def _refused(path: Path, match: str) -> None:
    before = _digests()
    with pytest.raises(ValidationError, match=match):
        backup.restore(path, SYSTEM)
    assert _digests() == before  # nothing replaced, nothing written


def test_refuses_a_file_that_is_not_a_backup(demo: str, tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("shopping list: tea, rice")
    _refused(junk, "not a")
    _refused(tmp_path / "missing.db", "no such file: ")


def test_refuses_a_backup_that_breaks_the_ledger(demo: str, tmp_path: Path) -> None:
    with db.transaction() as s:  # damage the live data, back it up, then repair the live data
        s.execute(update(StockLevel).where(StockLevel.id == 1).values(on_hand=StockLevel.on_hand + 7))
    path = backup.backup(tmp_path / f"bad{SUFFIX}", SYSTEM).path
    with db.transaction() as s:
        s.execute(update(StockLevel).where(StockLevel.id == 1).values(on_hand=StockLevel.on_hand - 7))
    _refused(path, "ledger")


def test_refuses_a_backup_from_a_newer_version(demo: str, tmp_path: Path) -> None:
    with db.transaction() as s:
        current = s.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        s.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999')"))
    path = backup.backup(tmp_path / f"newer{SUFFIX}", SYSTEM).path
    with db.transaction() as s:
        s.execute(text("DELETE FROM alembic_version WHERE version_num = '9999'"))
    assert current
    _refused(path, "newer version")


def test_only_admin_may_back_up(demo: str, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        backup.backup(tmp_path / "x.db", MANAGER)
    with pytest.raises(PermissionDenied):
        backup.restore(tmp_path / "x.db", MANAGER)
    assert not (tmp_path / "x.db").exists()


def test_cli_backup_and_restore(demo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"cli{SUFFIX}"
    assert main(["backup", str(path)]) == 0
    assert "backup written" in capsys.readouterr().out
    assert main(["restore", str(path)]) == 0
    assert "identical to the backup" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "nope.db")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(BACKEND != "sqlite", reason="a SQLite file can be named as a backup target")
def test_never_backs_up_over_the_live_file(demo: str) -> None:
    live = Path(db.get_engine().url.database or "")
    for target in (live, live.with_name(live.name + "-wal")):
        with pytest.raises(ValidationError, match="live database"):
            backup.backup(target, SYSTEM)
    assert _change_something() is None  # the live database is untouched and working
