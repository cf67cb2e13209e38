"""Scheduled backups on a pinned clock: the scheduler queues a run when one is due, the run
writes an encrypted backup into the second location, restores it into a scratch database and
keeps N generations; a failing run deletes its file, keeps the older generations and raises an
alert; backups older than their schedule raise an overdue alert; a good run clears both
(SQLite and PostgreSQL; the trial restore is a real restore into a scratch database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core import backup_crypto, db
from core.cli import main
from core.errors import PermissionDenied
from core.jobs import runtime
from core.models import Alert, StockLevel
from core.permissions import SYSTEM
from core.services import backup, backup_schedule
from core.services.orders import create_order
from core.services.shop_settings import update_settings
from core.timeutil import pin
from core.worker import handlers
from tests.conftest import TEST_NOW
from tests.factories import CLERK, MANAGER, make_product, order_input
from tests.jobs_support import job, wait_for

T0 = TEST_NOW.replace(hour=4, minute=0, second=0, microsecond=0)  # the suite's pinned day
SLOT = T0.replace(hour=18, minute=30)  # 02:30 in Shanghai, the default backup time


@pytest.fixture
def second(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A shop with an order, scheduled backups into ``tmp/second`` keeping 2, handlers loaded."""
    folder = tmp_path / "second"
    monkeypatch.setenv(backup_schedule.TARGET_ENV, str(folder))
    monkeypatch.setenv("OMS_TZ", "Asia/Shanghai")
    make_product("TEA-1", "25.00", {"SH": 50})
    create_order(order_input(("TEA-1", 2)), CLERK)
    update_settings({"backup_schedule.keep": 2}, SYSTEM)
    handlers.register_all()
    yield folder


def _tick(at: dt.datetime) -> int | None:
    with pin(at):
        return backup_schedule.tick()


def _run_at(at: dt.datetime) -> tuple[int, str | None]:
    """What the worker does when the scheduler queued a run at ``at``."""
    job_id = _tick(at)
    assert job_id is not None, f"no backup due at {at}"
    with pin(at):
        return job_id, runtime.execute(job_id)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _open_alerts() -> dict[str, str]:
    with db.transaction(readonly=True) as s:
        return dict(s.execute(select(Alert.kind, Alert.message).where(
            Alert.kind.in_((backup_schedule.FAILED, backup_schedule.OVERDUE)), Alert.resolved_at.is_(None))).all())


def test_runs_when_due_verifies_and_keeps_n_generations(second: Path) -> None:
    first, status = _run_at(T0)  # no backup yet: due at once
    assert status == "succeeded"
    result = job(first).result
    assert result is not None and result["verified_rows"] == result["rows"] > 0 and result["removed"] == []
    assert _files(second) == [result["file"]] and result["file"].endswith(".omsbak")
    assert backup_crypto.read_manifest(second / result["file"], backup_crypto.load_key()).manifest["tables"]
    assert _tick(T0 + dt.timedelta(minutes=1)) is None  # next at 02:30 shop time
    _, status = _run_at(SLOT + dt.timedelta(minutes=1))
    assert status == "succeeded" and len(_files(second)) == 2
    third, status = _run_at(SLOT + dt.timedelta(days=1, minutes=1))
    assert status == "succeeded"
    kept = _files(second)
    assert len(kept) == 2 and result["file"] not in kept  # the oldest went, after the new one verified
    assert job(third).result["removed"] == [result["file"]]  # type: ignore[index]
    state = backup_schedule.schedule_status(SYSTEM, now=SLOT + dt.timedelta(days=1, minutes=2))
    assert state.last_run is not None and state.last_run.id == third and state.last_run.status == "succeeded"
    assert state.next_run_at == SLOT + dt.timedelta(days=2) and not state.overdue
    assert state.generations["file"].tolist() == sorted(kept, reverse=True)
    assert _open_alerts() == {}
    # every kept generation restores on its own
    assert backup.restore(second / kept[0], SYSTEM).rows > 0


def test_a_failed_run_alerts_keeps_the_old_generations_and_retries_later(second: Path) -> None:
    _, status = _run_at(T0)
    assert status == "succeeded"
    good = _files(second)
    with db.transaction() as s:  # the live data breaks the ledger: its backup cannot pass a trial restore
        s.execute(update(StockLevel).values(on_hand=StockLevel.on_hand + 7))
    failed, status = _run_at(SLOT + dt.timedelta(minutes=1))
    assert status == "failed" and "ledger" in str(job(failed).error())
    assert _files(second) == good  # the unverified file is gone, the good generation stays
    assert "ledger" in _open_alerts()[backup_schedule.FAILED]
    assert _tick(SLOT + dt.timedelta(minutes=30)) is None  # the next attempt an hour after the failure
    with db.transaction() as s:
        s.execute(update(StockLevel).values(on_hand=StockLevel.on_hand - 7))
    _, status = _run_at(SLOT + dt.timedelta(hours=1, minutes=2))
    assert status == "succeeded" and len(_files(second)) == 2
    assert _open_alerts() == {}  # resolved by the good run


def test_a_missing_key_fails_the_run_with_an_alert(second: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backup_crypto.KEY_ENV)
    failed, status = _run_at(T0)
    assert status == "failed" and job(failed).error_code == "backups.key_missing"
    assert "backup key" in _open_alerts()[backup_schedule.FAILED]
    assert not second.exists() or _files(second) == []
    state = backup_schedule.schedule_status(SYSTEM, now=T0)
    assert state.key_id is None and state.key_problem is not None


def test_an_overdue_backup_raises_one_alert_until_a_good_run(second: Path) -> None:
    _, status = _run_at(T0)
    assert status == "succeeded"
    assert backup_schedule.schedule_status(SYSTEM, now=SLOT + dt.timedelta(hours=1, minutes=59)).overdue is False
    queued = _tick(SLOT + dt.timedelta(hours=1))  # due; no worker takes it
    assert queued is not None and _open_alerts() == {}
    assert _tick(SLOT + dt.timedelta(hours=2, minutes=1)) is None  # one run at a time
    alerts = _open_alerts()
    assert list(alerts) == [backup_schedule.OVERDUE] and f"{T0:%Y-%m-%d %H:%M}" in alerts[backup_schedule.OVERDUE]
    assert backup_schedule.schedule_status(SYSTEM, now=SLOT + dt.timedelta(hours=3)).overdue
    _tick(SLOT + dt.timedelta(hours=5))
    with db.transaction(readonly=True) as s:
        assert len(s.execute(select(Alert.id).where(Alert.kind == backup_schedule.OVERDUE)).all()) == 1
    with pin(SLOT + dt.timedelta(hours=5, minutes=1)):
        assert runtime.execute(queued) == "succeeded"
    assert _tick(SLOT + dt.timedelta(hours=5, minutes=2)) is None
    assert _open_alerts() == {}


def test_never_succeeded_is_overdue_and_off_means_off(second: Path) -> None:
    queued = _tick(T0)
    assert queued is not None
    _tick(T0 + dt.timedelta(hours=2, minutes=1))
    assert "none has succeeded" in _open_alerts()[backup_schedule.OVERDUE]
    update_settings({"backup_schedule.enabled": False}, SYSTEM)
    assert _tick(T0 + dt.timedelta(hours=3)) is None
    assert _open_alerts() == {}
    state = backup_schedule.schedule_status(SYSTEM, now=T0 + dt.timedelta(days=3))
    assert state.next_run_at is None and not state.overdue


def test_run_now_goes_through_the_worker_and_the_cli_runs_in_the_foreground(
        second: Path, job_worker: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PermissionDenied):
        backup_schedule.run_now(MANAGER)
    done = wait_for(backup_schedule.run_now(SYSTEM))
    assert done.status == "succeeded" and done.result and (second / done.result["file"]).exists()
    capsys.readouterr()
    assert main(["backup-schedule", "run"]) == 0
    assert "verified by a trial restore" in capsys.readouterr().out
    assert len(_files(second)) == 2
    assert main(["backup-schedule", "status"]) == 0
    out = capsys.readouterr().out
    assert "last run: succeeded" in out and f"location: {second}" in out


def test_backups_in_the_same_second_keep_both_and_sort_newest_first(second: Path) -> None:
    """A run right after another (the button after the schedule) used to replace the first file."""
    _, status = _run_at(T0)
    assert status == "succeeded"
    with pin(T0):
        made = backup.backup(backup.new_backup_path(second, T0), SYSTEM).path
    first = f"oms-{T0:%Y%m%d-%H%M%S}.omsbak"
    assert made.name == f"oms-{T0:%Y%m%d-%H%M%S}-2.omsbak" and _files(second) == sorted([first, made.name])
    assert [p.name for p in backup.backup_files(second)] == [made.name, first]
    assert backup.new_backup_path(second, T0).name.endswith("-3.omsbak")
