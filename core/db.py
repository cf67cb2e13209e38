"""Engine and session handling for SQLite (default) and PostgreSQL with the same code.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for every transaction:
taking the write lock up front means two writers never deadlock on a read→write lock upgrade
(the failure mode of SQLite's default deferred transactions), and the conditional
reservation UPDATE stays the only thing that decides whether stock is available.

PostgreSQL: writers lock rows in one order (``core.stock``'s rule), so deadlocks should not
happen; one that does anyway (SQLSTATE 40P01), or a serialization failure (40001), means the
server rolled the transaction back whole, so :func:`unit_of_work` simply runs it again — a few
times, after a short random pause — and only then refuses with :class:`Busy`. Failures are
recognised by SQLSTATE / SQLite result code, never by the text of the message.
"""

from __future__ import annotations

import functools
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core import datakeys, environment
from core.errors import Busy, FieldIssue, OMSError, Refused, Unavailable, ValidationError

_factories: dict[str, sessionmaker[Session]] = {}
log = logging.getLogger("oms.db")

# Contention the server resolves by rolling one transaction back: running it again is safe.
RETRYABLE_SQLSTATES = {"40P01": "deadlock", "40001": "serialization failure"}
# Unique keys two racers may both try to claim (two imports creating one new customer, a client
# retrying an API call with its Idempotency-Key before the first answer came, two feeds creating
# one new SKU): the re-run finds the winner's row. Any other unique key is a real conflict.
UNIQUE_VIOLATION = "23505"
RACE_CONSTRAINTS = frozenset({"uq_customers_phone", "uq_api_idempotency_keys_token_id_key", "uq_products_sku"})
LOCK_NOT_AVAILABLE = "55P03"  # a lock_timeout set by an administrator ran out
SQLITE_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # primary codes (low byte)
MAX_RETRIES = 3


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
    url = url or environment.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        _install_sqlite_hooks(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # Every Streamlit session (and every API request, every worker thread) holds a connection
    # for its transaction; when they outnumber the pool, the overflow waits in the pool's queue
    # unfairly — with 24 clerks and 8 packers on 30 connections a manager's dashboard waited
    # 20 s (bench/load.py). 10 kept + 40 on demand stays under PostgreSQL's default 100
    # connections for the app and its worker together.
    return create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """One session factory (and engine) per database URL per process. The first use checks the
    data keys (:func:`check_keys`): a process without the right key never shows anything."""
    key = url or environment.database_url()
    factory = _factories.get(key)
    if factory is None:
        engine = make_engine(key)
        try:
            check_keys(engine)
        except OMSError:
            engine.dispose()
            raise
        factory = sessionmaker(engine, expire_on_commit=False)
        _factories[key] = factory
    return factory


_key_check = threading.local()


@contextmanager
def before_keys() -> Iterator[None]:
    """Let this thread open a database whose data is not encrypted yet (``oms init`` and
    ``oms keys init``, which encrypt it); a missing or wrong key is still refused."""
    _key_check.lenient = True
    try:
        yield
    finally:
        _key_check.lenient = False


def check_keys(engine: Engine) -> None:
    """Refuse a database the process cannot read: its data keys (``data_keys``: key ids with
    check values) must all be in the process's key ring (``keys.missing`` / ``keys.wrong``), and
    a database holding customers or orders must have been encrypted (``keys.not_initialised``).
    A database before migration 0021 passes: ``oms init`` brings it there."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("data_keys"):
            return
        rows = conn.execute(text("SELECT kid, check_value, index_check FROM data_keys WHERE state <> 'retired'")).all()
        if not rows:
            if getattr(_key_check, "lenient", False):
                return
            if conn.execute(text("SELECT 1 FROM customers UNION ALL SELECT 1 FROM orders LIMIT 1")).first():
                raise Refused("keys.not_initialised")
            return
    datakeys.verify([(r.kid, r.check_value, r.index_check) for r in rows])


def get_engine(url: str | None = None) -> Engine:
    engine = session_factory(url).kw["bind"]
    assert isinstance(engine, Engine)
    return engine


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a restore replaces the file)."""
    for factory in _factories.values():
        factory.kw["bind"].dispose()
    _factories.clear()


def dispose(url: str) -> None:
    """Close the pooled connections of the engines for ``url`` only (a scratch database a
    restore replaced), leaving every other database's pool alone."""
    wanted = make_url(url)
    for key in [k for k in _factories if make_url(k) == wanted]:
        _factories.pop(key).kw["bind"].dispose()


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
            with Session(engine, expire_on_commit=False) as session, session.begin(), _open(session):
                yield session
            return
        with _writer_turn(factory), factory.begin() as session, _open(session):
            yield session
    except DBAPIError as exc:
        refusal = _as_refusal(exc)
        if refusal is None:
            raise
        raise refusal from exc


_open_sessions = threading.local()


@contextmanager
def _open(session: Session) -> Iterator[None]:
    stack = _open_sessions.__dict__.setdefault("stack", [])
    stack.append(session)
    try:
        yield
    finally:
        stack.pop()


def open_session(url: str) -> Session | None:
    """The innermost transaction this thread has open on database ``url``, if any.

    For reads that would otherwise take a second pooled connection while the caller holds
    row locks (the shop's profile behind every local date): with every pooled connection
    in use such a read waits for the pool — up to its timeout — and everyone queued on the
    caller's locks waits with it (measured: 20–30 s stalls with 36 threads on PostgreSQL).
    """
    wanted = make_url(url)
    for session in reversed(getattr(_open_sessions, "stack", [])):
        bind = session.get_bind()
        if bind.url == wanted or bind.url.render_as_string(hide_password=False) == url:
            return session
    return None


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
        _writing.depth = getattr(_writing, "depth", 0) + 1
        try:
            yield
        finally:
            _writing.depth -= 1


_writing = threading.local()


def writing_here() -> bool:
    """True while this thread is inside an SQLite write transaction: another write from it (a
    background job's progress report) would wait for its own lock until the busy timeout."""
    return getattr(_writing, "depth", 0) > 0


def sqlstate(exc: BaseException | None) -> str | None:
    """PostgreSQL's SQLSTATE of a driver error (wrapped by SQLAlchemy or not), else None."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(orig, "sqlstate", None)


def is_contention(exc: BaseException | None) -> bool:
    """A deadlock or serialization failure: the server rolled the whole transaction back."""
    return sqlstate(exc) in RETRYABLE_SQLSTATES


def is_retryable(exc: BaseException | None) -> bool:
    """Contention, or a lost race for a unique key of :data:`RACE_CONSTRAINTS`: the whole
    transaction was rolled back and may simply run again."""
    if sqlstate(exc) == UNIQUE_VIOLATION:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        return getattr(getattr(orig, "diag", None), "constraint_name", None) in RACE_CONSTRAINTS
    return is_contention(exc)


def _is_busy(exc: DBAPIError) -> bool:
    """SQLite's lock outlasted the busy timeout, or PostgreSQL's lock_timeout ran out."""
    if isinstance(exc.orig, sqlite3.Error):
        return (getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF) in SQLITE_BUSY_CODES
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


def _as_refusal(exc: DBAPIError) -> OMSError | None:
    """Database failures a user can act on, as refusals pages show instead of a traceback:
    a lock that outlasted the busy timeout or contention the server resolved by rolling back
    (:class:`Busy`), a connection that dropped mid-transaction (:class:`Unavailable`;
    pool_pre_ping replaces it next time) and text PostgreSQL cannot store
    (:class:`ValidationError`)."""
    if exc.connection_invalidated:
        return Unavailable("the database connection was lost; nothing was saved, please try again")
    if is_contention(exc):
        return Busy.coded("cc.contention", attempts=1)
    if _is_busy(exc):
        return Busy("the database is busy, please try again")
    text = str(exc.orig).lower()
    if isinstance(exc, DataError):
        # Last line of defence for input a service did not range-check (PostgreSQL refuses
        # what SQLite stores; services should name the field themselves, as create_order does).
        if "nul (0x00)" in text:
            return ValidationError([FieldIssue("input", "issue.bad_text")])
        if "too long" in text:
            return ValidationError([FieldIssue("input", "issue.bad_text")])
        if "out of range" in text or "overflow" in text:
            return ValidationError([FieldIssue("input", "issue.number_too_large")])
    return None


def is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched. ``Session.execute`` returns a :class:`CursorResult`
    for those, but SQLAlchemy types it as a plain :class:`Result` (sqlalchemy#12913)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"rowcount() needs the result of an UPDATE or DELETE, not {type(result).__name__}")
    return result.rowcount


P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Service(Protocol[P, R_co]):
    """A service as its callers see it: the function's parameters without the leading session,
    plus the keyword ``session: Session | None = None`` that joins an outer transaction.

    Python's typing cannot spell that keyword: PEP 612 forbids parameters between
    ``*args: P.args`` and ``**kwargs: P.kwargs``. The mypy plugin in
    ``mypy_plugins/service_session.py`` adds it to this ``__call__`` once ``P`` is known, so mypy
    checks ``session=`` (type and spelling) like any other argument; without the plugin a
    type checker would report ``session=`` as unexpected (docs/development.md).
    """

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


def unit_of_work(fn: Callable[Concatenate[Session, P], R]) -> Service[P, R]:
    """Make ``fn(session, ...)`` a service: one call = one write transaction.

    Callers pass ``session=`` to compose a service into a larger transaction (an import that
    creates many orders); otherwise a transaction is opened, committed on success and rolled
    back on any error. A deadlock or serialization failure re-runs the whole call (up to
    :data:`MAX_RETRIES` times; everything it wrote was rolled back, and services do nothing
    outside the database inside a transaction — e-mails and webhooks go through the outbox
    table). A SQLite lock that outlasts the busy timeout, or contention that outlasts the
    retries, becomes :class:`Busy` ("try again") instead of a traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return _call(fn, False, args, kwargs)

    return wrapper


def read_only(fn: Callable[Concatenate[Session, P], R]) -> Service[P, R]:
    """Like :func:`unit_of_work` for queries: a deferred transaction that takes no write lock."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return _call(fn, True, args, kwargs)

    return wrapper


def _call(fn: Callable[..., R], readonly: bool, args: tuple[object, ...], kwargs: dict[str, object]) -> R:
    """``fn`` in the caller's ``session=`` (joining its transaction), else in one of its own."""
    session = kwargs.pop("session", None)
    if session is None:
        return _run(fn, readonly, args, kwargs)
    if not isinstance(session, Session):
        raise TypeError(f"session= takes a Session, not {type(session).__name__}")
    return fn(session, *args, **kwargs)


def _run(fn: Callable[..., R], readonly: bool, args: tuple[object, ...], kwargs: dict[str, object]) -> R:
    for attempt in range(1, MAX_RETRIES + 2):
        try:
            with transaction(readonly=readonly) as s:
                return fn(s, *args, **kwargs)
        except (Busy, DBAPIError) as exc:
            cause = exc.__cause__ if isinstance(exc, Busy) else exc
            if not is_retryable(cause):
                raise
            state = sqlstate(cause)
            kind = RETRYABLE_SQLSTATES.get(state or "", "unique-key race")
            if attempt > MAX_RETRIES:
                log.warning("%s: %s persisted after %d retries; refused", fn.__name__, kind, MAX_RETRIES)
                raise Busy.coded("cc.contention", attempts=attempt) from cause
            log.info("%s: %s (SQLSTATE %s), retry %d of %d", fn.__name__, kind, state, attempt, MAX_RETRIES)
            time.sleep(random.uniform(0.005, 0.03) * 2 ** (attempt - 1))  # noqa: S311 - jitter, not secrets
    raise AssertionError("unreachable")
