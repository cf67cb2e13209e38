"""``oms keys init`` and ``oms keys rotate``: bring every encrypted column under one data key.

Both are the same resumable pass (:func:`_encrypt_all`): walk each table of
``core.models.personal.ENCRYPTED`` by id in batches, and rewrite each row whose values are
plain text (init) or name another key id (rotation) — encrypted with the target key, blind
indexes recomputed. Customers' names (``BY_SETTING``) are re-encrypted when they are ciphertext
and left as they are when plain: whether they are encrypted is the shop's setting, whose job
(:mod:`core.services.customer_names`) uses the same batch rewrite (:func:`rewrite_batch`). One batch is one transaction and records its position in the target key's
``data_keys.progress``, so a killed run resumes where it stopped. The app keeps running: old key
ids decrypt until the pass is done; a row the app changes meanwhile is left to the app (the
UPDATE names the old value) and caught by the verification that ends every pass, which reads
every row, decrypts it and checks its key id — and runs the pass again when a row is left.

Key material never reaches the database, an audit row, a log line or an error message: only
key ids and counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, Text, and_, bindparam, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import audit, datakeys, db, environment
from core.errors import Refused
from core.models import Base, DataKey
from core.models.personal import BY_SETTING, ENCRYPTED, plain, with_indexes
from core.permissions import Actor, require
from core.timeutil import utcnow

BATCH = 500
MAX_PASSES = 3  # a row the app rewrote under the old key during a pass: caught by the next one

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class KeysResult:
    kid: str
    key_file: str  # where the keys are ("env" when given in OMS_DATA_KEY)
    created_file: bool
    rewritten: int  # rows re-encrypted by this run
    verified: int  # values read back and decrypted


def _key_file_beside_data(path: Path, database_url: str | None) -> bool:
    url = make_url(database_url or environment.database_url())
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    return path.resolve().parent == Path(url.database).resolve().parent


def _ring_for_init(url: str | None) -> tuple[datakeys.KeyRing, bool]:
    """The configured key ring, or a new key file when there is none."""
    try:
        return datakeys.current(), False
    except Refused as exc:
        if exc.key != "keys.missing":
            raise
    path = datakeys.key_file_path()
    if _key_file_beside_data(path, url):
        raise Refused("keys.beside_data", path=str(path))
    datakeys.write_key_file(path, datakeys.new_ring(str(path)))
    datakeys.forget()
    return datakeys.current(), True


def _register(session: Session, ring: datakeys.KeyRing, kid: str) -> None:
    """Record ``kid`` (check values only) as the key new values go to; others still read."""
    if session.get(DataKey, kid) is None:
        session.add(DataKey(kid=kid, check_value=ring.check_value(kid), index_check=ring.index_check(),
                            state="active", created_at=utcnow(), progress=json.dumps({})))
    for other in session.scalars(select(DataKey).where(DataKey.kid != kid, DataKey.state == "active")):
        other.state = "retiring"


# What a column's value should become: sealed under this key id, or plain text (None).
Target = Callable[[str, str], str | None]


def columns_of(table: str) -> tuple[str, ...]:
    """The columns a key pass walks: always encrypted, then encrypted by the shop's setting."""
    return ENCRYPTED.get(table, ()) + BY_SETTING.get(table, ())


def key_target(table: str, kid: str) -> Target:
    """A key pass (init, rotation): every value under ``kid``; a name the setting left plain
    stays plain (the names' conversion job is the one that changes that)."""
    optional = BY_SETTING.get(table, ())
    return lambda column, stored: None if column in optional and not datakeys.is_ciphertext(stored) else kid


def _settled(stored: str | None, kid: str | None) -> bool:
    if stored is None:
        return True
    if kid is None:
        return not datakeys.is_ciphertext(stored)
    return datakeys.is_ciphertext(stored) and datakeys.key_id_of(stored) == kid


def rewrite_batch(session: Session, table: Table, columns: tuple[str, ...], target: Target, after: int,
                  batch: int, ring: datakeys.KeyRing) -> tuple[int, int]:
    """Bring one batch of ``table`` (ids after ``after``) to ``target``, blind indexes
    recomputed; (last id or -1 when none was left, rows written). ``target`` names the active
    key id or None (plain) per column."""
    rows = session.execute(select(table.c.id, *(plain(table.c[c]).label(c) for c in columns))
                           .where(table.c.id > after).order_by(table.c.id).limit(batch)).all()
    if not rows:
        return -1, 0
    changes: list[dict[str, Any]] = []
    for row in rows:
        stored = {c: getattr(row, c) for c in columns}
        wanted = {c: target(c, v) for c, v in stored.items() if v is not None}
        if all(_settled(v, wanted.get(c)) for c, v in stored.items()):
            continue
        clear = {c: (ring.decrypt(v) if datakeys.is_ciphertext(v) else v) for c, v in stored.items()}
        # sealed here, written as text: a JSON column's plain value is its JSON text already
        sealed = {c: v if v is None or wanted[c] is None else ring.encrypt(v) for c, v in clear.items()}
        indexes = {k: v for k, v in with_indexes(table.name, clear).items() if k not in clear}
        changes.append({"_id": row.id, **{f"new_{k}": v for k, v in (sealed | indexes).items()},
                        **{f"old_{c}": v for c, v in stored.items()}})
    if changes:
        names = [k[4:] for k in changes[0] if k.startswith("new_")]
        # the row still holds what was read: a value the app changed meanwhile is the app's
        unchanged = and_(*(plain(table.c[c]).is_not_distinct_from(bindparam(f"old_{c}", type_=Text())) for c in columns))
        stmt = (update(table).where(table.c.id == bindparam("_id"), unchanged)
                .values({n: bindparam(f"new_{n}", type_=Text() if n in columns else table.c[n].type)
                         for n in names}))
        session.connection().execute(stmt, changes)
    return rows[-1].id, len(changes)


def _pass(kid: str, batch: int, progress: Progress | None, url: str | None) -> int:
    """One resumable pass over every encrypted table; rows written."""
    written = 0
    for name in ENCRYPTED:
        table = Base.metadata.tables[name]
        while True:
            with db.transaction(url) as s:
                key = s.get(DataKey, kid, with_for_update=True)
                assert key is not None
                position = json.loads(key.progress or "{}")
                after = int(position.get(name, 0))
                last, n = rewrite_batch(s, table, columns_of(name), key_target(name, kid), after, batch,
                                        datakeys.current())
                if last < 0:
                    break
                written += n
                key.progress = json.dumps({**position, name: last})
            if progress:
                progress(name, last)
    return written


def _verify(kid: str, batch: int, url: str | None) -> tuple[int, int]:
    """Read every encrypted value back: (values decrypted, values not yet under ``kid``).
    A value that does not decrypt raises ``keys.undecryptable``."""
    ring, checked, stale = datakeys.current(), 0, 0
    for name in ENCRYPTED:
        table, columns, target = Base.metadata.tables[name], columns_of(name), key_target(name, kid)
        after = 0
        while True:
            with db.transaction(url, readonly=True) as s:
                rows = s.execute(select(table.c.id, *(plain(table.c[c]).label(c) for c in columns))
                                 .where(table.c.id > after).order_by(table.c.id).limit(batch * 4)).all()
            if not rows:
                break
            for row in rows:
                for c in columns:
                    value = getattr(row, c)
                    if value is None:
                        continue
                    if not _settled(value, target(c, value)):
                        stale += 1
                        continue
                    if datakeys.is_ciphertext(value):
                        ring.decrypt(value)
                        checked += 1
            after = rows[-1].id
    return checked, stale


def _encrypt_all(kid: str, actor: Actor, action: str, batch: int, progress: Progress | None,
                 url: str | None) -> tuple[int, int]:
    written = 0
    for _ in range(MAX_PASSES):
        written += _pass(kid, batch, progress, url)
        checked, stale = _verify(kid, batch, url)
        if not stale:
            break
        with db.transaction(url) as s:  # rows the app wrote under the old key meanwhile: once more
            key = s.get(DataKey, kid)
            assert key is not None
            key.progress = json.dumps({})
    else:
        raise Refused("keys.pass_incomplete", kid=kid, rows=stale)
    with db.transaction(url) as s:
        key = s.get(DataKey, kid)
        assert key is not None
        key.progress, key.completed_at = None, utcnow()
        retired = [k.kid for k in s.scalars(select(DataKey).where(DataKey.state == "retiring"))]
        for old in s.scalars(select(DataKey).where(DataKey.state == "retiring")):
            old.state = "retired"
        if written or retired:  # registering a key on an empty database changes no data
            audit.record(s, actor, action, "data_key", kid, None,
                         {"kid": kid, "rows_rewritten": written, "values_verified": checked, "retired": retired})
    return written, checked


def init_keys(actor: Actor, *, batch: int = BATCH, progress: Progress | None = None,
              url: str | None = None) -> KeysResult:
    """Encrypt a database's personal data: create a key file when no key is configured
    (never beside the SQLite file), register the key, encrypt every plain value in resumable
    batches and read every value back. Nothing to do on a database already encrypted."""
    require(actor, "keys.manage")
    with db.before_keys():
        ring, created = _ring_for_init(url)
        with db.transaction(url) as s:
            done = s.scalars(select(DataKey).where(DataKey.completed_at.is_not(None),
                                                   DataKey.state == "active")).first()
            if done is not None and done.kid == ring.active:
                return KeysResult(ring.active, ring.source, created, 0, 0)
            if done is None and s.scalars(select(DataKey)).first() is None:
                _register(s, ring, ring.active)
            elif s.get(DataKey, ring.active) is None:
                raise Refused("keys.use_rotate", kid=ring.active)
        written, checked = _encrypt_all(ring.active, actor, "keys.init", batch, progress, url)
    return KeysResult(ring.active, ring.source, created, written, checked)


def rotate_keys(actor: Actor, *, batch: int = BATCH, progress: Progress | None = None,
                url: str | None = None) -> KeysResult:
    """Move every value to a new data key, resumably, while the app keeps running.

    Needs a key file (a key given in the environment cannot be changed under running
    processes). Adds a key to the file and makes it the one new values are written with (the
    running app notices the file within seconds), then re-encrypts; killed, it resumes with the
    same new key. Old ids stay in the file: backups taken before still decrypt."""
    require(actor, "keys.manage")
    ring = datakeys.current()
    if ring.source == "env":
        raise Refused("keys.rotate_needs_file", env=datakeys.ENV_KEY)
    with db.transaction(url) as s:
        target = s.get(DataKey, ring.active)
        unfinished = target is None or target.completed_at is None
    if not unfinished:  # nothing half-done: a new key
        ring = ring.with_new_key()
        datakeys.write_key_file(Path(ring.source), ring)
        datakeys.forget()
        ring = datakeys.current()
    with db.transaction(url) as s:
        _register(s, ring, ring.active)
    written, checked = _encrypt_all(ring.active, actor, "keys.rotate", batch, progress, url)
    return KeysResult(ring.active, ring.source, False, written, checked)


def ready(url: str | None = None) -> None:
    """Open the database as every entry point does: refuses (``keys.missing``, ``keys.wrong``,
    ``keys.not_initialised`` …) when this process cannot read its personal data, so the app
    can say so on its first screen instead of failing on the first customer it shows."""
    with db.transaction(url, readonly=True):
        pass
