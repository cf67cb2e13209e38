"""Engine and session handling for SQLite (default) and PostgreSQL with the same code.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every transaction:
taking the write lock up front means two writers never deadlock on a read→write lock upgrade
(the failure mode of SQLite's default deferred transactions), and the conditional
reservation UPDATE stays the only thing that decides whether stock is available.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core import config
from core.errors import Busy, FieldIssue, OMSError, Unavailable, ValidationError

_factories: dict[str, sessionmaker[Session]] = {}


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI object
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is disabled).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        # Reads (read_only services) take no write lock, so dashboards never block writers.
        readonly = conn.get_execution_options().get("oms_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for ``url`` (default: ``DATABASE_URL`` or the SQLite file)."""
    url = url or config.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        _install_sqlite_hooks(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """One session factory (and engine) per database URL per process."""
    key = url or config.database_url()
    factory = _factories.get(key)
    if factory is None:
        factory = sessionmaker(make_engine(key), expire_on_commit=False)
        _factories[key] = factory
    return factory


def get_engine(url: str | None = None) -> Engine:
    engine = session_factory(url).kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a restore replaces the file)."""
    for factory in _factories.values():
        factory.kw["bind"].dispose()
    _factories.clear()


@contextmanager
def transaction(url: str | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any exception.

    ``readonly`` starts a plain (deferred) transaction on SQLite instead of BEGIN IMMEDIATE,
    so a long read does not hold the write lock; it must not write.
    """
    factory = session_factory(url)
    try:
        if readonly:
            engine = factory.kw["bind"].execution_options(oms_readonly=True)
            with Session(engine, expire_on_commit=False) as session, session.begin():
                yield session
            return
        with _writer_turn(factory), factory.begin() as session:
            yield session
    except DBAPIError as exc:
        refusal = _as_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc


_writer_locks: dict[int, threading.RLock] = {}
_writer_locks_guard = threading.Lock()


@contextmanager
def _writer_turn(factory: sessionmaker[Session]) -> Iterator[None]:
    """SQLite: let this process's writers take turns on a lock before BEGIN IMMEDIATE.

    SQLite admits one writer at a time; the others wait in its busy handler, which polls with
    sleeps of up to 100 ms and no queue, so under a promotion's load some writers wait seconds
    while others keep winning. Every Streamlit session runs in one process, so queueing those
    writers on a lock here hands the database over the moment it is free. Other processes (the
    CLI, a second server) still meet the busy timeout. Re-entrant, so a thread that nests a
    transaction is not blocked by itself. PostgreSQL needs nothing of the kind.
    """
    engine = factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        yield
        return
    with _writer_locks_guard:
        lock = _writer_locks.setdefault(id(engine), threading.RLock())
    with lock:
        yield


def _as_refusal(exc: DBAPIError) -> OMSError | None:
    """Database failures a user can act on, as refusals pages show instead of a traceback:
    a SQLite lock that outlasted the busy timeout (:class:`Busy`), a connection that
    dropped mid-transaction (:class:`Unavailable`; pool_pre_ping replaces it next time) and
    text PostgreSQL cannot store (:class:`ValidationError`)."""
    if exc.connection_invalidated:
        return Unavailable("the database connection was lost; nothing was saved, please try again")
    text = str(exc.orig).lower()
    if isinstance(exc, OperationalError) and ("locked" in text or "busy" in text):
        return Busy("the database is busy, please try again")
    if isinstance(exc, DataError):
        # Last line of defence for input a service did not range-check (PostgreSQL refuses
        # what SQLite stores; services should name the field themselves, as create_order does).
        if "nul (0x00)" in text:
            return ValidationError([FieldIssue("input", "the text contains a NUL character")])
        if "too long" in text:
            return ValidationError([FieldIssue("input", "the text is longer than its field allows")])
        if "out of range" in text or "overflow" in text:
            return ValidationError([FieldIssue("input", "a number is too large")])
    return None


def is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


P = ParamSpec("P")
R = TypeVar("R")


def unit_of_work(fn: Callable[Concatenate[Session, P], R]) -> Callable[P, R]:
    """Make ``fn(session, ...)`` a service: one call = one write transaction.

    Callers pass ``session=`` to compose a service into a larger transaction (an import that
    creates many orders); otherwise a transaction is opened, committed on success and rolled
    back on any error. A SQLite lock that outlasts the busy timeout becomes :class:`Busy`
    ("try again") instead of a traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = kwargs.pop("session", None)
        if session is not None:
            return fn(session, *args, **kwargs)  # type: ignore[arg-type]
        return _run(fn, False, args, kwargs)

    return wrapper  # type: ignore[return-value]


def read_only(fn: Callable[Concatenate[Session, P], R]) -> Callable[P, R]:
    """Like :func:`unit_of_work` for queries: a deferred transaction that takes no write lock."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = kwargs.pop("session", None)
        if session is not None:
            return fn(session, *args, **kwargs)  # type: ignore[arg-type]
        return _run(fn, True, args, kwargs)

    return wrapper  # type: ignore[return-value]


def _run(fn: Callable[..., R], readonly: bool, args: tuple, kwargs: dict) -> R:
    with transaction(readonly=readonly) as s:
        return fn(s, *args, **kwargs)
