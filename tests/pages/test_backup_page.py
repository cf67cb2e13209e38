"""Backup page: the admin makes a backup and gets a download for it; a failure is a message;
the scheduled backups show their last run, next run, generations kept and problems."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.jobs import runtime
from core.permissions import SYSTEM
from core.services import backup_schedule
from core.worker import handlers


def test_back_up_now_then_download(logged_in: Callable[..., AppTest], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_BACKUP_DIR", str(tmp_path / "backups"))
    at = logged_in("admin", page="pages/backup.py")
    assert [i.value for i in at.info] == [translate("backups.none", "en")]
    at.button(key="bk_now").click().run()
    assert not at.exception
    files = list((tmp_path / "backups").glob("oms-*.omsbak"))  # encrypted (docs/security.md)
    assert len(files) == 1 and files[0].stat().st_size > 0
    assert at.success[0].value.startswith(f"Backup done: {files[0].name}")
    assert [b.label for b in at.get("download_button")] == [translate("backups.download", "en")]
    contents = at.dataframe[0].value
    assert "orders" in contents[translate("field.db_table", "en")].tolist()


def test_failure_is_shown_not_raised(logged_in: Callable[..., AppTest], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("OMS_BACKUP_DIR", str(blocker))
    at = logged_in("admin", page="pages/backup.py")
    at.button(key="bk_now").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [translate("backups.failed", "en")]


def test_managers_cannot_back_up(logged_in: Callable[..., AppTest]) -> None:
    with pytest.raises(ValueError):
        logged_in("manager").switch_page("pages/backup.py")


def test_scheduled_backups_show_last_and_next_run_and_generations(logged_in: Callable[..., AppTest], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(backup_schedule.TARGET_ENV, str(tmp_path / "second"))
    at = logged_in("admin", page="pages/backup.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[translate("backups.last_run", "en")] == translate("backups.never", "en")
    assert metrics[translate("backups.generations", "en")] == "0 / 7"
    handlers.register_all()
    assert runtime.execute(backup_schedule.record_run(SYSTEM)) == "succeeded"
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[translate("backups.last_run", "en")].startswith(translate("backup_run.succeeded", "en"))
    assert metrics[translate("backups.next_run", "en")].endswith("02:30")
    assert metrics[translate("backups.generations", "en")] == "1 / 7"
    assert len(at.dataframe[0].value) == 1  # the generation listed
    # the test's "second location" sits in the same temp folder as its database: the page says so
    assert translate("backups.same_disk", "en") in [w.value for w in at.warning]
    at.button(key="bk_sched_now").click().run()
    assert [s.value for s in at.success][-1].startswith("Scheduled backup queued")


def test_a_missing_key_is_shown_on_the_page(logged_in: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMS_BACKUP_KEY")
    at = logged_in("admin", page="pages/backup.py")
    assert translate("backups.key_missing", "en") in [e.value for e in at.error]
