"""Backup and restore of the whole database, with an integrity check before anything is replaced.

* **SQLite**: SQLite's online backup API copies a consistent snapshot while the shop keeps
  working (``sqlite3.Connection.backup``); the copy is switched to rollback-journal mode so
  the backup is one self-contained file anyone can open with ``sqlite3``.
* **PostgreSQL**: ``pg_dump -Fc`` (custom format); restore pipes ``pg_restore`` into one
  ``psql --single-transaction`` that first empties the ``public`` schema, so a failing
  restore changes nothing and a restored database never keeps tables of a newer schema.

A restore is verified twice. Before the live database is touched, the backup itself is
checked on a private copy (SQLite: a temp copy of the file; PostgreSQL: a scratch database):
``PRAGMA integrity_check``/foreign keys, a schema revision this code knows, a schema equal to
what the migrations build at that revision (tables, columns, indexes, constraints, triggers —
a backup whose append-only triggers were dropped is refused; :mod:`core.schema_check`), and
the stock and order invariants (:mod:`core.invariants`; a backup of an older revision is first
upgraded on the private copy, so they read its data as this version will). After the restore, per-table row counts and
checksums of the live database must equal those of the verified copy. Then any newer
migrations are applied, the reference-data cache and every pooled connection are dropped
(:func:`core.refdata.clear_cache`, :func:`core.db.dispose_all`), and an audit row records
who restored what.

Backups are files under ``OMS_BACKUP_DIR`` (default ``data/backups``) when made from the admin
page, or any path given to ``oms backup FILE``. A file is written as ``FILE.partial`` and renamed
when complete, so a crash never leaves a half backup under the real name.

**Encrypted.** Every backup is encrypted and authenticated with the backup key
(:mod:`core.backup_crypto`, AES-256-GCM in 1 MiB records) and carries a manifest: schema
revisions, row count and SHA-256 per table, the payload's SHA-256, the key id, when it was made.
The snapshot and its manifest come from one consistent view (SQLite: the copy itself;
PostgreSQL: ``pg_dump --snapshot`` of a transaction that also computes the checksums). The
plain snapshot exists only in a private temporary directory while the file is sealed. A restore
first decrypts into a private directory, refusing a wrong key, a changed byte or a cut-off
file, then runs the checks above and compares the verified copy with the manifest. Unencrypted
backups of earlier versions restore only when asked explicitly (``allow_plain``,
``oms restore --allow-plain``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session

from core import audit, backup_crypto, config, db, invariants, refdata, schema_check
from core.errors import FieldIssue, OMSError, ValidationError
from core.permissions import Actor, require
from core.schema import alembic_config, upgrade
from core.timeutil import utcnow

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
SUFFIX = ".omsbak"  # an encrypted backup of either backend
LEGACY_SUFFIXES = (".db", ".dump")  # unencrypted backups of earlier versions
# DATABASE_URL query parameters that pg_dump, pg_restore and psql get as libpq variables, so
# they connect as securely as the app does (sslmode=verify-full, its root certificate …)
PG_SSL_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
              "sslcrl": "PGSSLCRL", "sslpassword": "PGSSLPASSWORD"}
REQUIRED_TABLES = ("alembic_version", "orders", "order_lines", "stock_levels", "stock_movements", "audit_log",
                   "users")
LOCK_TIMEOUT_MS = 15_000  # a restore waits this long for other sessions' locks, then gives up cleanly


class BackupError(OMSError):
    """A backup or restore could not run (missing tool, unreadable file); nothing was replaced."""

    key = "backups.failed"


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    size_bytes: int
    tables: int
    seconds: float
    key_id: str = ""
    rows: int = 0


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    backend: str
    tables: int
    rows: int
    revisions: tuple[str, ...]
    upgraded: bool
    seconds: float


# --- helpers ---------------------------------------------------------------------------------


def backup_dir() -> Path:
    """Where the admin page keeps backups (``OMS_BACKUP_DIR``, default ``data/backups``)."""
    return Path(os.environ.get("OMS_BACKUP_DIR") or config.PROJECT_ROOT / "data" / "backups")


def _url(url: str | None) -> URL:
    return make_url(url or config.database_url())


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(url.database)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)", tool=name)
    return path


def _pg_env(url: URL) -> dict[str, str]:
    """libpq connection settings as environment variables (the password never shows in ``ps``)."""
    env = dict(os.environ)
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[var] = str(value)
    for param, var in PG_SSL_ENV.items():
        setting = url.query.get(param)
        if isinstance(setting, str):
            env[var] = setting
    env["PGOPTIONS"] = f"-c lock_timeout={LOCK_TIMEOUT_MS}"
    return env


def _run(args: list[str], env: dict[str, str] | None = None, stdin: int | None = None) -> None:
    result = subprocess.run(args, env=env, stdin=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(args[0]).name} failed: {reason[-1] if reason else result.returncode}",
                          tool=Path(args[0]).name)


def _known_revisions() -> tuple[set[str], set[str]]:
    """(every revision of this code's migrations, the current heads)."""
    script = ScriptDirectory.from_config(alembic_config(db.get_engine()))
    return {rev.revision for rev in script.walk_revisions()}, set(script.get_heads())


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    """A short-lived engine without the app's pool or SQLite pragmas (for files being checked)."""
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


# --- checksums -------------------------------------------------------------------------------


def table_checksums(engine: Engine) -> dict[str, TableDigest]:
    """Row count and SHA-256 of every table's rows in primary-key order.

    Two databases of the same backend with equal digests hold the same data; the restore
    compares the live database with the verified copy this way.
    """
    with engine.connect() as conn:
        return _checksums(conn)


def _checksums(conn: Connection) -> dict[str, TableDigest]:
    digests: dict[str, TableDigest] = {}
    inspector = inspect(conn)
    for table in sorted(inspector.get_table_names()):
        order = inspector.get_pk_constraint(table).get("constrained_columns") or [
            c["name"] for c in inspector.get_columns(table)]
        order_by = ", ".join(f'"{c}"' for c in order)
        digest, rows = hashlib.sha256(), 0
        result = conn.execution_options(yield_per=5000).execute(text(f'SELECT * FROM "{table}" ORDER BY {order_by}'))
        for row in result:
            digest.update(json.dumps(list(row), default=str, sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
            rows += 1
        digests[table] = TableDigest(rows, digest.hexdigest())
    return digests


def _revisions(conn: Connection) -> tuple[str, ...]:
    return tuple(sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()))


def _verify(engine: Engine, source: str) -> tuple[dict[str, TableDigest], tuple[str, ...]]:
    """Check a restored copy: required tables, a known schema revision, sound invariants.
    Returns its checksums and schema revisions; raises ValidationError naming each problem."""
    tables = set(inspect(engine).get_table_names())
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise ValidationError([FieldIssue("file", "backups.missing_tables", params={"file": source, "tables": ", ".join(missing)})])
    with engine.connect() as conn:
        revisions = _revisions(conn)
    known, _ = _known_revisions()
    unknown = [r for r in revisions if r not in known]
    if unknown:
        raise ValidationError([FieldIssue("file", "backups.newer_schema",
                                          params={"file": source, "revisions": ", ".join(unknown)})])
    tampered = schema_check.differences(_reference_schema(engine.url, revisions), _fingerprint(engine))
    if tampered:
        raise ValidationError(tampered)
    checksums = table_checksums(engine)  # of the data as it will be restored
    if set(revisions) != _known_revisions()[1]:
        # An older backup: the invariants are checked as this version reads the data, i.e.
        # after the migrations the restored database will get (0015 turns float money into
        # cents, say). The copy is private and thrown away; the restore loads the original.
        upgrade(engine)
    with Session(engine) as session, session.begin():
        breaches = invariants.check(session=session)
    if breaches:
        raise ValidationError([FieldIssue("file", "backups.invariant",
                                          params={"check": b.check, "record": b.key, "detail": b.detail})
                               for b in breaches])
    return checksums, revisions


_REFERENCES: dict[tuple[str, tuple[str, ...]], schema_check.Fingerprint] = {}


def _reference_schema(url: URL, revisions: tuple[str, ...]) -> schema_check.Fingerprint:
    """The schema the migrations build at ``revisions``, on scratch databases of the backend
    behind ``url`` (SQLite: a temp file; PostgreSQL: databases beside ``url``'s, dropped after).
    On PostgreSQL the migrated database goes through pg_dump and pg_restore like every backup
    does, because a restore prints some definitions differently (``IN (…)`` checks come back
    as ``= ANY (ARRAY[…])``); one round trip is a fixed point. Kept per process: the migrations
    do not change while it runs."""
    backend = url.get_backend_name()
    key = (backend if backend == "sqlite" else url.set(database="").render_as_string(), revisions)
    if key not in _REFERENCES:
        with tempfile.TemporaryDirectory(prefix="oms-schema-") as tmp:
            if backend == "sqlite":
                with _engine(f"sqlite:///{Path(tmp) / 'reference.db'}") as engine:
                    upgrade(engine, revisions)
                    _REFERENCES[key] = _fingerprint(engine)
            else:
                with scratch_database(url) as migrated, scratch_database(url) as restored:
                    with _engine(migrated.render_as_string(hide_password=False)) as engine:
                        upgrade(engine, revisions)
                    archive = Path(tmp) / "reference.dump"
                    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={archive}"],
                         env=_pg_env(migrated))
                    _pg_load(archive, restored)
                    with _engine(restored.render_as_string(hide_password=False)) as engine:
                        _REFERENCES[key] = _fingerprint(engine)
    return _REFERENCES[key]


def _fingerprint(engine: Engine) -> schema_check.Fingerprint:
    with engine.connect() as conn:
        return schema_check.fingerprint(conn)


@contextmanager
def scratch_database(url: URL, prefix: str = "oms_schema_ref") -> Iterator[URL]:
    """A new empty PostgreSQL database on ``url``'s server, dropped on leaving (needs CREATEDB)."""
    scratch = url.set(database=f"{prefix}_{uuid.uuid4().hex[:10]}")
    with _engine(url.render_as_string(hide_password=False)) as admin_engine:
        admin = admin_engine.execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch.database}"'))
        try:
            yield scratch
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))


def _record(url: str, actor: Actor, action: str, details: dict[str, object]) -> None:
    with db.transaction(url) as session:
        audit.record(session, actor, action, "database", None, after=details)


# --- backup ----------------------------------------------------------------------------------


def backup(path: str | Path, actor: Actor, url: str | None = None) -> BackupResult:
    """Write a consistent, encrypted backup of the database at ``url`` (default: the app's) to
    ``path``, with its manifest. Refuses before writing anything when no backup key is set."""
    require(actor, "backup.run")
    started = time.perf_counter()
    key = backup_crypto.load_key()
    target = Path(path).resolve()
    partial = target.with_name(target.name + ".partial")
    parsed = _url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and target in _live_files(_sqlite_file(parsed)):
        raise ValidationError([FieldIssue("file", "backups.live_file", params={"file": str(target)})])
    created = utcnow()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="oms-backup-") as tmp:  # private (0700): the plain snapshot
            plain = Path(tmp) / "snapshot"
            if backend == "sqlite":
                tables = _sqlite_backup(_sqlite_file(parsed), plain)
                with _engine(f"sqlite:///{plain}") as engine, engine.connect() as conn:
                    digests, revisions = _checksums(conn), _revisions(conn)
            else:
                digests, revisions = _pg_snapshot_dump(parsed, plain)
                tables = _pg_archive_tables(plain)  # also proves the archive reads end to end
            payload_sha256, payload_bytes = backup_crypto.sha256_of(plain)
            manifest = {"backend": backend, "created_at": created.isoformat(), "key_id": key.key_id,
                        "revisions": list(revisions), "payload_sha256": payload_sha256, "payload_bytes": payload_bytes,
                        "tables": {name: {"rows": d.rows, "sha256": d.sha256} for name, d in digests.items()}}
            backup_crypto.encrypt_file(plain, partial, key, manifest,
                                       {"backend": backend, "created_at": created.isoformat()})
        os.replace(partial, target)
    except OSError as exc:  # disk full, no permission, a file where the folder should be
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}", file=str(target)) from exc
    finally:
        with contextlib.suppress(OSError):  # nothing to clean where nothing could be written
            partial.unlink(missing_ok=True)
    rows = sum(d.rows for d in digests.values())
    result = BackupResult(target, backend, target.stat().st_size, tables, round(time.perf_counter() - started, 2),
                          key.key_id, rows)
    _record(parsed.render_as_string(hide_password=False), actor, "backup.create",
            {"file": target.name, "bytes": result.size_bytes, "tables": tables, "rows": rows, "key_id": key.key_id})
    return result


def _pg_snapshot_dump(url: URL, target: Path) -> tuple[dict[str, TableDigest], tuple[str, ...]]:
    """``pg_dump`` of one exported snapshot, and the checksums and revisions of that same
    snapshot (read in the transaction that exported it), so the manifest describes the dump."""
    with _engine(url.render_as_string(hide_password=False)) as engine, engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target}"], env=_pg_env(url))
            return _checksums(conn), _revisions(conn)


def _pg_archive_tables(archive: Path) -> int:
    """Tables with data in a pg_dump archive, read from its table of contents."""
    listing = subprocess.run([_tool("pg_restore"), "--list", str(archive)], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read the backup: {listing.stderr.strip()}")
    return sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)


def _live_files(database: Path) -> set[Path]:
    """The database file and its companions, which a backup must never overwrite."""
    live = database.resolve()
    return {live} | {live.with_name(live.name + suffix) for suffix in ("-wal", "-shm", "-journal")}


def _sqlite_backup(source: Path, target: Path) -> int:
    """Copy ``source`` to ``target`` with the online backup API; returns the number of tables."""
    if not source.exists():
        raise BackupError(f"no database file {source}")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # one step: a consistent snapshot even while others write
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("the backup copy failed its integrity check")
        return int(dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])
    finally:
        dst.close()
        src.close()


def backup_now(actor: Actor) -> BackupResult:
    """A timestamped backup into :func:`backup_dir` (the admin page's button)."""
    return backup(new_backup_path(backup_dir(), utcnow()), actor)


def new_backup_path(folder: Path, at: dt.datetime) -> Path:
    """A free file name for a backup made at ``at``: ``oms-YYYYmmdd-HHMMSS.omsbak``, and
    ``…-2``, ``…-3`` for further backups in the same second, so a second backup (the button
    right after the schedule) never replaces the first."""
    stamp = f"oms-{at.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stamp}{SUFFIX}", 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{n}{SUFFIX}"
    return path


_NAME = re.compile(r"oms-(\d{8}-\d{6})(?:-(\d+))?")


def _age_key(path: Path) -> tuple[str, int, str]:
    """Sorts backups by the time in their name, then by their number within that second."""
    match = _NAME.match(path.stem)
    if match is None:
        return ("", 0, path.name)
    return (match[1], int(match[2] or 1), path.name)


def backup_files(folder: Path) -> list[Path]:
    """The backups in ``folder`` (encrypted, and plain ones of earlier versions), newest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.glob("oms-*") if p.suffix in (SUFFIX, *LEGACY_SUFFIXES) and p.is_file()),
                  key=_age_key, reverse=True)


def list_backups(actor: Actor) -> pd.DataFrame:
    """Backups in :func:`backup_dir`, newest first: ``[file, created_at, size_mb]``."""
    require(actor, "backup.run")
    rows = [(p.name, dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC).replace(tzinfo=None),
             round(p.stat().st_size / 1e6, 2)) for p in backup_files(backup_dir())]
    return pd.DataFrame(rows, columns=["file", "created_at", "size_mb"])


def backup_file(name: str, actor: Actor) -> Path:
    """Path of one backup in :func:`backup_dir` by file name (no directories, no '..')."""
    require(actor, "backup.run")
    path = backup_dir() / Path(name).name
    if Path(name).name != name or not path.is_file():
        raise BackupError(f"no backup named {name!r}", name=name)
    return path


def database_summary(actor: Actor) -> pd.DataFrame:
    """Row count per table of the live database (what a backup will hold)."""
    require(actor, "backup.run")
    with db.transaction(readonly=True) as session:
        conn = session.connection()
        names = sorted(inspect(conn).get_table_names())
        rows = [(name, conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()) for name in names]
    return pd.DataFrame(rows, columns=["db_table", "row_count"])


# --- restore ---------------------------------------------------------------------------------


def restore(path: str | Path, actor: Actor, url: str | None = None, *, allow_plain: bool = False) -> RestoreResult:
    """Replace the database at ``url`` (default: the app's) with the backup in ``path``.

    Refuses (ValidationError / BackupError, nothing replaced) a file that cannot be
    authenticated with the backup key (wrong key, changed, cut off), that is not a backup of
    this backend, is damaged, comes from a newer app version or breaks an invariant. An
    unencrypted backup of an earlier version is refused unless ``allow_plain``.
    """
    require(actor, "backup.run")
    started = time.perf_counter()
    source = Path(path)
    if not source.is_file():
        raise ValidationError([FieldIssue("file", "issue.no_such_file", params={"value": str(source)})])
    parsed = _url(url)
    live_url = parsed.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="oms-restore-") as tmp:
        payload, manifest = _payload(source, Path(tmp), allow_plain)
        if manifest is not None and manifest.get("backend") != parsed.get_backend_name():
            raise ValidationError([FieldIssue("file", "backups.other_backend", params={
                "file": source.name, "backend": manifest.get("backend"), "target": parsed.get_backend_name()})])
        if parsed.get_backend_name() == "sqlite":
            expected, revisions = _restore_sqlite(payload, parsed, source.name, manifest)
        else:
            expected, revisions = _restore_postgres(payload, parsed, source.name, manifest)
    refdata.clear_cache()
    _release(parsed)
    with _engine(live_url) as engine:
        restored = table_checksums(engine)
    if restored != expected:
        differing = sorted(t for t in expected.keys() | restored.keys() if expected.get(t) != restored.get(t))
        raise BackupError(f"restored data differs from the verified backup in {', '.join(differing)}")
    _, heads = _known_revisions()
    upgraded = set(revisions) != heads
    if upgraded:
        upgrade(db.get_engine(live_url))
        refdata.clear_cache()
    _record(live_url, actor, "backup.restore", {"file": source.name, "revisions": list(revisions), "upgraded": upgraded,
                                                "encrypted": manifest is not None})
    return RestoreResult(source, parsed.get_backend_name(), len(expected), sum(d.rows for d in expected.values()),
                         revisions, upgraded, round(time.perf_counter() - started, 2))


def _payload(source: Path, tmp: Path, allow_plain: bool) -> tuple[Path, dict[str, object] | None]:
    """The plain backup to check and restore, and its manifest (None for a plain backup):
    an encrypted file is decrypted and authenticated into ``tmp``."""
    if backup_crypto.is_encrypted(source):
        plain = tmp / "payload"
        return plain, backup_crypto.decrypt_file(source, plain, backup_crypto.load_key()).manifest
    with source.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if not head.startswith((SQLITE_MAGIC, PG_MAGIC)):
        raise ValidationError([FieldIssue("file", "backups.not_a_backup", params={"file": source.name})])
    if not allow_plain:
        raise ValidationError([FieldIssue("file", "backups.plain_refused", params={"file": source.name})])
    return source, None


def _against_manifest(digests: dict[str, TableDigest], manifest: dict[str, object] | None, name: str) -> None:
    """The verified copy must hold what the (authenticated) manifest says was backed up."""
    if manifest is None:
        return
    listed = manifest.get("tables")
    expected = {t: TableDigest(int(d["rows"]), str(d["sha256"])) for t, d in listed.items()} \
        if isinstance(listed, dict) else {}
    differing = sorted(t for t in expected.keys() | digests.keys() if expected.get(t) != digests.get(t))
    if differing:
        raise ValidationError([FieldIssue("file", "backups.manifest_mismatch",
                                          params={"file": name, "tables": ", ".join(differing)})])


def _release(target: URL) -> None:
    """Drop the pooled connections to the database about to be replaced: every engine's when it
    is the app's own database, else only that database's (a trial restore into a scratch
    database must not pull connections from under the worker's other jobs)."""
    if target == _url(None):
        db.dispose_all()
    else:
        db.dispose(target.render_as_string(hide_password=False))


def _restore_sqlite(source: Path, target: URL, name: str, manifest: dict[str, object] | None,
                    ) -> tuple[dict[str, TableDigest], tuple[str, ...]]:
    live = _sqlite_file(target)
    with source.open("rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise ValidationError([FieldIssue("file", "backups.not_sqlite", params={"file": name})])
    with tempfile.TemporaryDirectory(prefix="oms-restore-") as tmp:
        copy = Path(tmp) / "check.db"  # checked and restored from a private copy, never the user's file
        shutil.copyfile(source, copy)
        conn = sqlite3.connect(copy)
        try:
            intact = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            dangling = intact and conn.execute("PRAGMA foreign_key_check").fetchone() is not None
        except sqlite3.DatabaseError:  # so damaged that SQLite cannot even read its header
            intact, dangling = False, False
        finally:
            conn.close()
        if not intact:
            raise ValidationError([FieldIssue("file", "backups.damaged", params={"file": name})])
        if dangling:
            raise ValidationError([FieldIssue("file", "backups.dangling", params={"file": name})])
        pristine = Path(tmp) / "restore.db"  # what is restored: _verify may upgrade its own copy
        shutil.copyfile(copy, pristine)
        with _engine(f"sqlite:///{copy}") as engine:
            expected, revisions = _verify(engine, name)
        _against_manifest(expected, manifest, name)
        _release(target)
        src, dst = sqlite3.connect(pristine), sqlite3.connect(live, timeout=LOCK_TIMEOUT_MS / 1000)
        try:
            src.backup(dst)  # page by page under the write lock; other readers see old or new, never a mix
        except sqlite3.OperationalError as exc:
            raise BackupError(f"the database stayed busy, nothing was restored: {exc}") from exc
        finally:
            dst.close()
            src.close()
    return expected, revisions


def _restore_postgres(source: Path, live: URL, name: str, manifest: dict[str, object] | None,
                      ) -> tuple[dict[str, TableDigest], tuple[str, ...]]:
    with source.open("rb") as fh:
        if fh.read(len(PG_MAGIC)) != PG_MAGIC:
            raise ValidationError([FieldIssue("file", "backups.not_pg_dump", params={"file": name})])
    _run([_tool("pg_restore"), "--list", str(source)])
    with scratch_database(live, "oms_restore_check") as scratch:
        _pg_load(source, scratch)
        with _engine(scratch.render_as_string(hide_password=False)) as engine:
            expected, revisions = _verify(engine, name)
    _against_manifest(expected, manifest, name)
    _release(live)
    _pg_load(source, live)
    return expected, revisions


def _pg_load(source: Path, target: URL) -> None:
    """Empty ``public`` and load the archive into it, all in one transaction (all or nothing)."""
    script = subprocess.Popen([_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(source)],
                              stdout=subprocess.PIPE)
    try:
        _run([_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1",
              "--command=DROP SCHEMA public CASCADE; CREATE SCHEMA public;", "--file=-"],
             env=_pg_env(target), stdin=script.stdout.fileno() if script.stdout else None)
    finally:
        if script.stdout:
            script.stdout.close()
        if script.wait() != 0:
            raise BackupError("pg_restore could not read the backup")
