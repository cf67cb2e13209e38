"""Encrypted, self-authenticating backup files (AES-256-GCM in chunks) and the backup key.

Why its own key: a backup travels (a second disk, a download, another machine), so whoever
holds a copy must learn nothing from it and must not be able to change it unnoticed. The
*backup key* is separate from any key that protects fields inside the database: it lives in
``OMS_BACKUP_KEY_FILE`` (a file holding 32 random bytes in base64, made by
``oms backup-key create FILE``) or ``OMS_BACKUP_KEY`` (the same text), never in the database
or beside the backups.

File layout (all integers big-endian)::

    MAGIC                       b"OMS-BACKUP\\x00v1\\n"
    u32 header length, header   JSON: format, key_id, salt, chunk, backend, created_at
    records                     u32 length, AES-256-GCM ciphertext + 16-byte tag
                                record 0: the manifest (JSON); records 1…: the payload in chunks

Each file has its own key, HKDF-SHA256(backup key, salt from the header); record *i* is
sealed with the nonce ``i`` (11 bytes) + a *last* flag byte and the SHA-256 of magic and
header as associated data. So a changed byte anywhere (header included) fails a tag, records
cannot be reordered, dropped, or taken from another file, and a file cut at a record boundary
is recognised because its final record was not sealed as the last one. The key id in the
header (an HMAC of the key, revealing nothing about it) tells a *wrong key* apart from a
*tampered* file.

Decryption streams into a private file and authenticates every record before the caller may
use a byte of it: a refusal leaves nothing behind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import FieldIssue, Refused, ValidationError

MAGIC = b"OMS-BACKUP\x00v1\n"
FORMAT = 1
CHUNK = 1 << 20  # plaintext bytes per record: memory stays at about two chunks for any database size
TAG = 16
MAX_HEADER = 16 * 1024
MAX_MANIFEST = 8 * CHUNK  # a manifest lists tables and digests: far below this
MAX_RECORDS = (1 << 32) - 1  # with CHUNK: 4 PiB per file
KEY_ENV, KEY_FILE_ENV = "OMS_BACKUP_KEY", "OMS_BACKUP_KEY_FILE"
_LEN = struct.Struct(">I")


@dataclass(frozen=True)
class BackupKey:
    secret: bytes
    source: str  # where it came from (an environment variable or a file name), for messages

    @property
    def key_id(self) -> str:
        return key_id(self.secret)


def key_id(secret: bytes) -> str:
    """A short name for a key that reveals nothing about it (shown in manifests and messages)."""
    return hmac.new(secret, b"oms backup key id", hashlib.sha256).hexdigest()[:12]


def new_key_text() -> str:
    """32 random bytes in URL-safe base64: the content of a backup key file."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _parse_key(text: str, source: str) -> BackupKey:
    try:
        secret = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != 32:
        raise Refused("backups.key_invalid", source=source)
    return BackupKey(secret, source)


def load_key() -> BackupKey:
    """The configured backup key (``OMS_BACKUP_KEY_FILE`` first, else ``OMS_BACKUP_KEY``);
    refuses with ``backups.key_missing`` / ``backups.key_invalid`` / ``backups.key_unreadable``."""
    path = os.environ.get(KEY_FILE_ENV)
    if path:
        try:
            text = Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise Refused("backups.key_unreadable", source=path, reason=type(exc).__name__) from exc
        return _parse_key(text, path)
    inline = os.environ.get(KEY_ENV)
    if inline:
        return _parse_key(inline, KEY_ENV)
    raise Refused("backups.key_missing")


def write_key_file(path: Path) -> str:
    """Create a new key file readable by its owner only; refuses to overwrite one. Returns its id."""
    text = new_key_text()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise Refused("backups.key_exists", file=str(path)) from exc
    except OSError as exc:
        raise Refused("backups.key_unreadable", source=str(path), reason=type(exc).__name__) from exc
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
    return _parse_key(text, str(path)).key_id


# --- writing ---------------------------------------------------------------------------------


def _file_key(secret: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"oms backup v1").derive(secret))


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _chunks(fh: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """The file's chunks, each with whether it is the last (an empty file is one empty chunk)."""
    current = fh.read(CHUNK)
    while True:
        following = fh.read(CHUNK)
        yield current, not following
        if not following:
            return
        current = following


def encrypt_file(plain: Path, target: Path, key: BackupKey, manifest: dict[str, Any], header: dict[str, Any]) -> None:
    """Write ``plain`` to ``target`` encrypted, with ``manifest`` as its first record."""
    salt = os.urandom(16)
    head = json.dumps({**header, "format": FORMAT, "key_id": key.key_id, "chunk": CHUNK,
                       "salt": base64.b64encode(salt).decode()}, sort_keys=True).encode()
    aad = hashlib.sha256(MAGIC + head).digest()
    aead = _file_key(key.secret, salt)
    with plain.open("rb") as src, target.open("wb") as out:
        out.write(MAGIC + _LEN.pack(len(head)) + head)
        sealed = aead.encrypt(_nonce(0, False), json.dumps(manifest, sort_keys=True).encode(), aad)
        out.write(_LEN.pack(len(sealed)) + sealed)
        for index, (chunk, last) in enumerate(_chunks(src), start=1):
            if index > MAX_RECORDS:
                raise Refused("backups.too_large", chunks=MAX_RECORDS)
            sealed = aead.encrypt(_nonce(index, last), chunk, aad)
            out.write(_LEN.pack(len(sealed)) + sealed)
        out.flush()
        os.fsync(out.fileno())


# --- reading ---------------------------------------------------------------------------------


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError([FieldIssue("file", code, params=params)])


@dataclass(frozen=True)
class Opened:
    header: dict[str, Any]
    manifest: dict[str, Any]


class _Reader:
    """Reads records of one file, refusing with the file's name and the offending byte offset."""

    def __init__(self, fh: IO[bytes], name: str) -> None:
        self.fh, self.name = fh, name

    def exact(self, size: int) -> bytes:
        offset = self.fh.tell()
        data = self.fh.read(size)
        if len(data) != size:
            raise _refuse("backups.truncated", file=self.name, offset=offset)
        return data

    def length(self, limit: int) -> int:
        offset = self.fh.tell()
        (size,) = _LEN.unpack(self.exact(_LEN.size))
        if size < TAG or size > limit + TAG:
            raise _refuse("backups.tampered", file=self.name, offset=offset)
        return size

    def at_end(self) -> bool:
        here = self.fh.tell()
        more = self.fh.read(1)
        self.fh.seek(here)
        return not more


def _header(reader: _Reader, key: BackupKey) -> tuple[dict[str, Any], bytes, AESGCM]:
    if reader.fh.read(len(MAGIC)) != MAGIC:
        raise _refuse("backups.not_encrypted", file=reader.name)
    size = _LEN.unpack(reader.exact(_LEN.size))[0]
    if size > MAX_HEADER:
        raise _refuse("backups.tampered", file=reader.name, offset=len(MAGIC))
    head = reader.exact(size)
    try:
        header = json.loads(head)
        salt = base64.b64decode(header["salt"], validate=True)
        file_key_id, chunk = str(header["key_id"]), int(header["chunk"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _refuse("backups.tampered", file=reader.name, offset=len(MAGIC) + _LEN.size) from None
    if header.get("format") != FORMAT or chunk != CHUNK or len(salt) != 16:
        raise _refuse("backups.tampered", file=reader.name, offset=len(MAGIC) + _LEN.size)
    if not hmac.compare_digest(file_key_id, key.key_id):
        raise _refuse("backups.wrong_key", file=reader.name, made_with=file_key_id, configured=key.key_id,
                      source=key.source)
    return header, hashlib.sha256(MAGIC + head).digest(), _file_key(key.secret, salt)


def _open_record(reader: _Reader, aead: AESGCM, aad: bytes, index: int, limit: int) -> tuple[bytes, bool]:
    """Record ``index`` authenticated; with whether it was sealed as the last one."""
    offset = reader.fh.tell()
    sealed = reader.exact(reader.length(limit))
    last = reader.at_end()
    try:
        return aead.decrypt(_nonce(index, last), sealed, aad), last
    except InvalidTag:
        pass
    try:  # sealed with the other flag: a middle record where the file ends = cut short
        aead.decrypt(_nonce(index, not last), sealed, aad)
    except InvalidTag:
        raise _refuse("backups.tampered", file=reader.name, offset=offset) from None
    raise _refuse("backups.truncated" if last else "backups.tampered", file=reader.name, offset=reader.fh.tell())


def read_manifest(source: Path, key: BackupKey) -> Opened:
    """Header and manifest of an encrypted backup (authenticated; the payload is not read)."""
    with source.open("rb") as fh:
        reader = _Reader(fh, source.name)
        header, aad, aead = _header(reader, key)
        manifest, _ = _open_record(reader, aead, aad, 0, MAX_MANIFEST)
    return Opened(header, json.loads(manifest))


def decrypt_file(source: Path, target: Path, key: BackupKey) -> Opened:
    """Decrypt ``source`` into ``target`` (a private path the caller deletes), authenticating
    every record and the end of the file; refuses (ValidationError on ``file``) a wrong key, a
    changed byte, a cut-off or extended file. Also checks the payload's SHA-256 and size
    against the manifest."""
    with source.open("rb") as fh, target.open("wb") as out:
        reader = _Reader(fh, source.name)
        header, aad, aead = _header(reader, key)
        raw, last = _open_record(reader, aead, aad, 0, MAX_MANIFEST)
        if last:
            raise _refuse("backups.truncated", file=source.name, offset=fh.tell())
        manifest = json.loads(raw)
        digest, size, index = hashlib.sha256(), 0, 1
        while True:
            chunk, last = _open_record(reader, aead, aad, index, CHUNK)
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            if last:
                break
            index += 1
    if digest.hexdigest() != manifest.get("payload_sha256") or size != manifest.get("payload_bytes"):
        raise _refuse("backups.tampered", file=source.name, offset=0)
    return Opened(header, manifest)


def sha256_of(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
