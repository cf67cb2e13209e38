"""The encrypted backup format on its own (no database): a payload of several chunks round-trips
and streams; every changed byte, a swapped or foreign record, a file cut anywhere (at a record
boundary too) or extended, and a wrong key are refused with their own message codes."""

from __future__ import annotations

import base64
import os
import random
import struct
from pathlib import Path

import pytest

from core import backup_crypto as bc
from core.errors import Refused, ValidationError


def _key(seed: int) -> bc.BackupKey:
    return bc.BackupKey(random.Random(seed).randbytes(32), f"test key {seed}")


KEY, OTHER = _key(1), _key(2)
MANIFEST = {"backend": "sqlite", "revisions": ["0016_api_tokens"], "tables": {"orders": {"rows": 3, "sha256": "x"}}}


def _seal(tmp_path: Path, payload: bytes, key: bc.BackupKey = KEY, name: str = "b.omsbak") -> Path:
    plain, sealed = tmp_path / f"{name}.plain", tmp_path / name
    plain.write_bytes(payload)
    digest, size = bc.sha256_of(plain)
    bc.encrypt_file(plain, sealed, key, {**MANIFEST, "payload_sha256": digest, "payload_bytes": size},
                    {"backend": "sqlite", "created_at": "2026-11-25T04:00:00"})
    return sealed


def _records(path: Path) -> list[tuple[int, int]]:
    """(start, end) of every record, parsed from the layout."""
    data = path.read_bytes()
    at = len(bc.MAGIC)
    (head,) = struct.unpack(">I", data[at:at + 4])
    at += 4 + head
    spans = []
    while at < len(data):
        (size,) = struct.unpack(">I", data[at:at + 4])
        spans.append((at, at + 4 + size))
        at += 4 + size
    return spans


def _refusal(path: Path, tmp_path: Path, key: bc.BackupKey = KEY) -> tuple[str, dict[str, object]]:
    with pytest.raises(ValidationError) as refused:
        bc.decrypt_file(path, tmp_path / "out", key)
    issue = refused.value.issues[0]
    return issue.message, dict(issue.params or {})


def _code(path: Path, tmp_path: Path, key: bc.BackupKey = KEY) -> str:
    return _refusal(path, tmp_path, key)[0]


PAYLOAD = random.Random(7).randbytes(2 * bc.CHUNK + 12345)  # three payload records


def test_a_payload_of_several_chunks_round_trips(tmp_path: Path) -> None:
    sealed = _seal(tmp_path, PAYLOAD)
    assert len(_records(sealed)) == 1 + 3
    assert PAYLOAD[:4096] not in sealed.read_bytes()
    opened = bc.decrypt_file(sealed, tmp_path / "out", KEY)
    assert (tmp_path / "out").read_bytes() == PAYLOAD
    assert opened.manifest["tables"] == MANIFEST["tables"] and opened.header["key_id"] == KEY.key_id
    assert bc.read_manifest(sealed, KEY).manifest["payload_bytes"] == len(PAYLOAD)
    empty = _seal(tmp_path, b"", name="empty.omsbak")
    bc.decrypt_file(empty, tmp_path / "out2", KEY)
    assert (tmp_path / "out2").read_bytes() == b""


def test_a_changed_byte_anywhere_is_refused(tmp_path: Path) -> None:
    sealed = _seal(tmp_path, PAYLOAD[: bc.CHUNK + 100])
    original = sealed.read_bytes()
    rng = random.Random(3)
    offsets = sorted({*range(0, 160), *(rng.randrange(len(original)) for _ in range(40)),
                      *range(len(original) - 20, len(original))})
    codes = {}
    for offset in offsets:
        changed = bytearray(original)
        changed[offset] ^= 0x01
        sealed.write_bytes(bytes(changed))
        codes[offset] = _code(sealed, tmp_path)
    assert {codes[o] for o in range(len(bc.MAGIC))} == {"backups.not_encrypted"}
    rest = {c for o, c in codes.items() if o >= len(bc.MAGIC)}
    # a changed length field may make the file look cut short; everything else fails authentication
    assert rest <= {"backups.tampered", "backups.truncated", "backups.wrong_key"} and "backups.tampered" in rest
    assert all(codes[o] == "backups.tampered" for o in offsets if o >= _records(sealed)[0][0] + 4)


def test_records_cannot_be_swapped_or_taken_from_another_file(tmp_path: Path) -> None:
    sealed = _seal(tmp_path, PAYLOAD)
    data = sealed.read_bytes()
    spans = _records(sealed)
    (a0, a1), (b0, b1) = spans[1], spans[2]
    sealed.write_bytes(data[:a0] + data[b0:b1] + data[a0:a1] + data[b1:])
    # refused at the moved record itself (its index is sealed in), not only by the payload digest
    assert _refusal(sealed, tmp_path) == ("backups.tampered", {"file": sealed.name, "offset": a0})
    other = _seal(tmp_path, PAYLOAD, name="other.omsbak")  # same key, same payload, another file
    o_spans = _records(other)
    sealed.write_bytes(data[:a0] + other.read_bytes()[o_spans[1][0]:o_spans[1][1]] + data[a1:])
    assert _code(sealed, tmp_path) == "backups.tampered"


def test_a_cut_or_extended_file_is_refused(tmp_path: Path) -> None:
    sealed = _seal(tmp_path, PAYLOAD)
    data = sealed.read_bytes()
    spans = _records(sealed)
    sealed.write_bytes(data[:10])  # not even the magic is left
    assert _code(sealed, tmp_path) == "backups.not_encrypted"
    for cut in (len(bc.MAGIC) + 2, spans[0][0] + 2, spans[0][1], spans[1][1], spans[2][1], spans[2][1] + 100,
                len(data) - 1):
        sealed.write_bytes(data[:cut])
        assert _code(sealed, tmp_path) == "backups.truncated", cut
    sealed.write_bytes(data + b"\x00" * 20)
    assert _code(sealed, tmp_path) == "backups.tampered"
    sealed.write_bytes(data + data[spans[-1][0]:])  # the last record twice
    assert _code(sealed, tmp_path) == "backups.tampered"


def test_a_wrong_key_is_named_as_such(tmp_path: Path) -> None:
    sealed = _seal(tmp_path, b"payload")
    with pytest.raises(ValidationError) as refused:
        bc.decrypt_file(sealed, tmp_path / "out", OTHER)
    issue = refused.value.issues[0]
    assert issue.message == "backups.wrong_key" and issue.params
    assert (issue.params["made_with"], issue.params["configured"]) == (KEY.key_id, OTHER.key_id)
    assert KEY.key_id in str(refused.value) and OTHER.key_id in str(refused.value)


def test_the_key_comes_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bc.KEY_ENV, raising=False)
    monkeypatch.delenv(bc.KEY_FILE_ENV, raising=False)
    with pytest.raises(Refused) as missing:
        bc.load_key()
    assert missing.value.key == "backups.key_missing"
    path = tmp_path / "backup.key"
    made = bc.write_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(Refused) as exists:
        bc.write_key_file(path)
    assert exists.value.key == "backups.key_exists"
    monkeypatch.setenv(bc.KEY_FILE_ENV, str(path))
    monkeypatch.setenv(bc.KEY_ENV, base64.urlsafe_b64encode(os.urandom(32)).decode())  # the file wins
    assert bc.load_key().key_id == made
    path.write_text("not a key")
    with pytest.raises(Refused) as invalid:
        bc.load_key()
    assert invalid.value.key == "backups.key_invalid"
    monkeypatch.setenv(bc.KEY_FILE_ENV, str(tmp_path / "nowhere.key"))
    with pytest.raises(Refused) as unreadable:
        bc.load_key()
    assert unreadable.value.key == "backups.key_unreadable"
