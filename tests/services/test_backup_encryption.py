"""Backups are encrypted with the backup key and carry a manifest; a restore refuses — writing
nothing — a file it cannot authenticate (changed byte, wrong key, cut off), and an unencrypted
backup of an earlier version unless asked to take it (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from core import backup_crypto, db
from core.cli import main
from core.errors import Refused, ValidationError
from core.permissions import SYSTEM
from core.services import backup
from core.services.orders import create_order
from core.timeutil import utcnow
from tests.conftest import BACKEND
from tests.factories import CLERK, make_product, order_input

PHONE = "13912345678"  # the customer's phone: must not be readable in a backup file


@pytest.fixture
def shop(db_url: str) -> str:
    make_product("TEA-1", "25.00", {"SH": 50})
    create_order(order_input(("TEA-1", 2), phone=PHONE), CLERK)
    return db_url


def _live() -> dict[str, backup.TableDigest]:
    return backup.table_checksums(db.get_engine())


def _refused(path: Path, code: str, **kwargs: bool) -> dict[str, object]:
    before = _live()
    with pytest.raises(ValidationError) as refused:
        backup.restore(path, SYSTEM, **kwargs)
    issue = refused.value.issues[0]
    assert (issue.field, issue.message) == ("file", code), str(refused.value)
    assert _live() == before  # nothing replaced, nothing written (not even an audit row)
    return dict(issue.params or {})


def test_a_backup_is_encrypted_and_describes_itself(shop: str, tmp_path: Path) -> None:
    made = backup.backup(tmp_path / "b.omsbak", SYSTEM)
    data = made.path.read_bytes()
    assert data.startswith(backup_crypto.MAGIC)
    for plain in (PHONE.encode(), PHONE.encode("utf-16-le"), b"SQLite format 3", b"PGDMP", b"TEA-1", b"stock_levels"):
        assert plain not in data
    opened = backup_crypto.read_manifest(made.path, backup_crypto.load_key())
    manifest = opened.manifest
    live = _live()
    with db.transaction(readonly=True) as s:
        revisions = sorted(s.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert manifest["backend"] == BACKEND.replace("postgres", "postgresql") and manifest["revisions"] == revisions
    assert manifest["key_id"] == made.key_id == backup_crypto.load_key().key_id
    assert {t: (d["rows"], d["sha256"]) for t, d in manifest["tables"].items()} == {
        t: (d.rows, d.sha256) for t, d in live.items() if t != "audit_log"} | {
        "audit_log": (live["audit_log"].rows - 1, manifest["tables"]["audit_log"]["sha256"])}  # + the backup's row
    assert abs(dt.datetime.fromisoformat(manifest["created_at"]) - utcnow()) < dt.timedelta(minutes=5)  # pinned clock
    assert made.rows == sum(d["rows"] for d in manifest["tables"].values())
    assert not list(tmp_path.glob("*.partial"))


def test_every_kind_of_damage_is_refused_and_nothing_changes(shop: str, tmp_path: Path) -> None:
    good = backup.backup(tmp_path / "good.omsbak", SYSTEM).path
    data = good.read_bytes()
    bad = tmp_path / "bad.omsbak"
    rng = random.Random(5)
    for offset in (len(backup_crypto.MAGIC) + 9, 200, *(rng.randrange(300, len(data)) for _ in range(4)),
                   len(data) - 1):
        changed = bytearray(data)
        changed[offset] ^= 0x20
        bad.write_bytes(bytes(changed))
        _refused(bad, "backups.tampered")
    for cut in (len(data) // 2, len(data) - 16):
        bad.write_bytes(data[:cut])
        assert _refused(bad, "backups.truncated")["file"] == "bad.omsbak"
    bad.write_bytes(data[:len(backup_crypto.MAGIC) - 3])
    _refused(bad, "backups.not_a_backup")
    bad.write_bytes(data + b"more")
    _refused(bad, "backups.tampered")
    assert backup.restore(good, SYSTEM).rows > 0  # the untouched file still restores


def test_a_wrong_key_is_refused_and_named(shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = backup.backup(tmp_path / "b.omsbak", SYSTEM).path
    made_with = backup_crypto.load_key().key_id
    monkeypatch.setenv(backup_crypto.KEY_ENV, base64.urlsafe_b64encode(os.urandom(32)).decode())
    params = _refused(path, "backups.wrong_key")
    assert params["made_with"] == made_with and params["configured"] == backup_crypto.load_key().key_id


def test_no_key_no_backup(shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backup_crypto.KEY_ENV)
    with pytest.raises(Refused) as refused:
        backup.backup(tmp_path / "out" / "b.omsbak", SYSTEM)
    assert refused.value.key == "backups.key_missing"
    assert not (tmp_path / "out").exists()


def _plain_backup(path: Path) -> Path:
    """A backup as earlier versions wrote it: the SQLite file or pg_dump archive, unencrypted."""
    url = db.get_engine().url
    if BACKEND == "sqlite":
        src, dst = sqlite3.connect(url.database or ""), sqlite3.connect(path)
        src.backup(dst)
        dst.close()
        src.close()
    else:
        backup._run([backup._tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"],
                    env=backup._pg_env(url))
    return path


def test_a_plain_backup_of_an_earlier_version_needs_allow_plain(shop: str, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    plain = _plain_backup(tmp_path / ("old.db" if BACKEND == "sqlite" else "old.dump"))
    _refused(plain, "backups.plain_refused")
    assert main(["restore", str(plain)]) == 2
    assert "--allow-plain" in capsys.readouterr().err
    assert main(["restore", "--allow-plain", str(plain)]) == 0
    assert "identical to the backup" in capsys.readouterr().out


def test_cli_key_and_backup(shop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "keys" / "backup.key"
    key_file.parent.mkdir()
    assert main(["backup-key", "create", str(key_file)]) == 0
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert main(["backup-key", "create", str(key_file)]) == 2  # never overwritten
    monkeypatch.setenv(backup_crypto.KEY_FILE_ENV, str(key_file))
    key_id = backup_crypto.load_key().key_id
    capsys.readouterr()
    assert main(["backup-key", "id"]) == 0
    assert key_id in capsys.readouterr().out
    assert main(["backup", str(tmp_path / "cli.omsbak")]) == 0
    assert f"backup key {key_id}" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "cli.omsbak")]) == 0


def test_the_restored_data_must_match_the_manifest(shop: str, tmp_path: Path) -> None:
    """An authentic file whose manifest describes other data (a bug, or someone holding the
    key pairing one backup's manifest with another's data) is refused, naming the tables."""
    key = backup_crypto.load_key()
    first = backup.backup(tmp_path / "a.omsbak", SYSTEM).path
    create_order(order_input(("TEA-1", 1)), CLERK)
    later = backup.backup(tmp_path / "b.omsbak", SYSTEM).path
    plain = tmp_path / "b.plain"
    backup_crypto.decrypt_file(later, plain, key)
    manifest = backup_crypto.read_manifest(first, key).manifest
    digest, size = backup_crypto.sha256_of(plain)
    forged = tmp_path / "forged.omsbak"
    backup_crypto.encrypt_file(plain, forged, key, {**manifest, "payload_sha256": digest, "payload_bytes": size},
                               {"backend": manifest["backend"], "created_at": manifest["created_at"]})
    assert "orders" in str(_refused(forged, "backups.manifest_mismatch")["tables"])
