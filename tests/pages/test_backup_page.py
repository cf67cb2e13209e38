"""Backup page: the admin makes a backup and gets a download for it; a failure is a message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate


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
