"""Bulk inserts and look-ups for imports: whole columns → one ``executemany`` (or ``COPY``),
ids handed out before the insert (:func:`reserve_ids`), and one-statement look-ups by any number of
values (:func:`one_of`).

Core's ``insert()`` with a list of dicts builds and processes parameters row by row; at 100k
rows that bookkeeping costs more than the database's own work. Here each column is converted
once, as a column, into exactly what Core would have sent: every value goes through its type's
bind processor — except two column kinds converted vectorised, each checked against the
processor so the stored text/number is identical:

- a pandas datetime column for a DATETIME that the dialect stores as text (SQLite) is
  formatted with ``strftime`` in one call;
- money given as :class:`Cents` is stored as it is: a :class:`core.models.Money` column holds
  whole cents on every backend, which is what its processor would make of the Decimal.

Rows then go to the driver's ``executemany`` as tuples; on PostgreSQL to ``COPY FROM STDIN``.
A value that is the same on every row can be given once as :class:`Same` (converted once).

Personal data (:class:`core.models.personal.Encrypted` columns) is sealed with the key ring
fetched once per column instead of once per value (looking the process's key ring up again for
each of 200,000 values cost almost as much as the encryption itself), and each blind index
(digest) and merge key is computed once per distinct value — within :func:`digests_shared`, once
per import across tables: the look-up of customers by phone, the new customers' phone index and the
orders' ship-to phone index are the same digests.

On SQLite a bulk write also wants a bigger page cache than the default 2 MiB
(:func:`roomy_cache`).

Ids: a writer that needs the new rows' ids (to write their lines) takes them first with
:func:`reserve_ids` and inserts them with the rows — no ``RETURNING`` (which ``COPY`` lacks) and
no reading the rows back by a unique key afterwards (a 40,000-value look-up).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ARRAY, Connection, DateTime, Table, any_, bindparam, func, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from core import datakeys
from core.models import Money
from core.models.personal import (
    ADDRESS_PARTS,
    INDEXES,
    Encrypted,
    EncryptedBySetting,
    address_key,
    digest,
    names_sealed,
)

_PROBE = dt.datetime(2001, 2, 3, 4, 5, 6, 7)
_SQLITE_TEXT = "%Y-%m-%d %H:%M:%S.%f"
IMPORT_CACHE_KIB = 65536  # SQLite page cache while an import writes (the default is 2,000 KiB)


@dataclass(frozen=True)
class Cents:
    """A money column given in whole cents (a float column without NaN)."""

    values: pd.Series


@dataclass(frozen=True)
class Same:
    """One value for every row: converted by the bind processor once instead of per row
    (a timestamp or JSON default on 40,000 rows costs ~0.1 s when done row by row)."""

    value: Any


def _processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return table.c[name].type.dialect_impl(dialect).bind_processor(dialect)


def _blind_indexes(table: Table, columns: dict[str, Any]) -> dict[str, Any]:
    """The blind-index columns of the encrypted columns given (this insert runs no column
    defaults, so it fills them itself; core.models.personal)."""
    out: dict[str, Any] = {}
    for source, pairs in INDEXES.get(table.name, {}).items():
        if source not in columns:
            continue
        values = columns[source]
        for index, kind in pairs:
            out[index] = Same(digest(kind, values.value)) if isinstance(values, Same) else digests(kind, _plain(values))
    if table.name == "orders" and all(part in columns for part in ADDRESS_PARTS):  # the merge key
        parts = [_plain(columns[part]) for part in ADDRESS_PARTS]
        rows = max((len(p) for p in parts if isinstance(p, list)), default=1)
        out["merge_key"] = digests(MERGE_KEY, list(zip(*(p if isinstance(p, list) else [p] * rows for p in parts),
                                                       strict=True)))
    return out


MERGE_KEY = "merge_key"  # digests() kind of a ship-to address (province, city, district, address)
_shared: ContextVar[dict[tuple[str, Any], str | None] | None] = ContextVar("oms_import_digests", default=None)


@contextmanager
def digests_shared() -> Iterator[None]:
    """Within this block (one import's writing) :func:`digests` computes each (kind, value) once,
    whichever table it is for. Digests are deterministic HMACs (core.datakeys), so sharing them
    changes nothing that is stored; ciphertext is never shared this way. The memo — plain values —
    is dropped when the block ends."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def digests(kind: str, values: Sequence[Any]) -> list[str | None]:
    """The blind index of each value (:func:`core.models.personal.digest`; ``MERGE_KEY``: the
    merge key of an address tuple), computed once per distinct value."""
    memo = _shared.get()
    done: dict[tuple[str, Any], str | None] = {} if memo is None else memo
    out: list[str | None] = []
    for v in values:
        key = (kind, v)
        if key not in done:
            done[key] = address_key(*v) if kind == MERGE_KEY else digest(kind, v)
        out.append(done[key])
    return out


def _plain(values: Any) -> Any:
    """A column's values as a list (None for missing), or its one value when it is ``Same``."""
    if isinstance(values, Same):
        return values.value
    if isinstance(values, pd.Series):
        return values.astype(object).where(values.notna(), None).tolist()
    return list(values)


def _sealer(kind: Any) -> Callable[[Any], Any] | None:
    """For an encrypted column, what its bind processor does to one value, with the key ring and
    the shop's name setting looked up once (``Encrypted.process_bind_param``); else None."""
    if not isinstance(kind, Encrypted):
        return None
    if isinstance(kind, EncryptedBySetting) and not names_sealed():
        return str
    encrypt = datakeys.current().encrypt
    return lambda v: encrypt(str(v))


def _column(table: Table, name: str, values: Any, dialect: Dialect, rows: int) -> Sequence[Any]:
    kind = table.c[name].type
    proc = _sealer(kind) or _processor(table, name, dialect)
    if isinstance(values, Same):
        value = values.value
        return [value if value is None or proc is None else proc(value)] * rows
    if isinstance(values, Cents):
        if not isinstance(kind, Money):
            raise TypeError(f"{table.name}.{name} is not a money column")
        return np.rint(values.values).astype("int64").tolist()
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values):
        if isinstance(kind, DateTime) and proc is not None and proc(_PROBE) == _PROBE.strftime(_SQLITE_TEXT):
            text = values.dt.strftime(_SQLITE_TEXT)
            return text.astype(object).where(values.notna(), None).tolist()
        values = values.astype(object).where(values.notna(), None).tolist()
    elif isinstance(values, pd.Series):
        values = values.astype(object).where(values.notna(), None).tolist()
    if proc is None:
        return values
    return [None if v is None else proc(v) for v in values]


@contextmanager
def roomy_cache(conn: Connection, kib: int = IMPORT_CACHE_KIB) -> Iterator[None]:
    """SQLite: a page cache of ``kib`` KiB on this connection while the block runs, then the
    previous size again (other transactions on the pooled connection keep theirs).

    A 100k-line import dirties ~30 MB of table and index pages (orders carry nine indexes
    whose keys arrive in random order). With the default 2 MiB cache SQLite keeps spilling
    dirty pages to the WAL mid-transaction and reading them back; ~15 % of its insert time
    went to that. The cache only grows as pages are touched. Other databases: nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


def insert_columns(conn: Connection, table: Table, columns: dict[str, Any], chunk: int = 20_000) -> None:
    """Insert ``len(any column)`` rows into ``table``; ``columns`` maps column name → a list,
    a pandas Series (missing → NULL), :class:`Cents` or :class:`Same` (at least one column
    must not be :class:`Same`). Column names come from the table, never from input, so the
    SQL is safe."""
    if not columns:
        return
    columns = {**columns, **_blind_indexes(table, columns)}
    dialect = conn.dialect
    names = list(columns)
    rows = next(len(v.values if isinstance(v, Cents) else v) for v in columns.values() if not isinstance(v, Same))
    processed = [_column(table, name, columns[name], dialect, rows) for name in names]
    if dialect.name == "postgresql":
        _copy(conn, table, names, processed)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    records = list(zip(*processed, strict=True))
    for start in range(0, len(records), chunk):
        conn.exec_driver_sql(sql, records[start:start + chunk])


def _copy(conn: Connection, table: Table, names: list[str], columns: list[Sequence[Any]]) -> None:
    """PostgreSQL: ``COPY … FROM STDIN`` on the session's own connection (same transaction).
    An ``executemany`` there is one INSERT per row through the pipeline — ten times slower."""
    raw = conn.connection.driver_connection
    assert raw is not None, "an open Connection has its driver connection"
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in zip(*columns, strict=True):
            copy.write_row(row)


def reserve_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` new ids for ``table`` (integer ``id`` primary key), ascending, for rows this
    transaction inserts next with these ids.

    PostgreSQL: values of the column's own sequence (other writers keep taking theirs; the ids are
    unique, not necessarily contiguous). SQLite: the ids after the largest one in use — what the
    database would have given the rows itself. That is safe because every write transaction here
    holds SQLite's write lock from its first statement (``BEGIN IMMEDIATE``, core.db), so nobody
    else can insert before this transaction does."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        ids = conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                           {"t": table.name, "n": n}).scalars().all()
        return sorted(int(i) for i in ids)
    last = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(int(last) + 1, int(last) + 1 + n))


def one_of(conn: Connection, column: ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values`` for ``conn``'s database, as one bound parameter whatever the number of
    values: PostgreSQL ``= ANY(array)``, SQLite ``IN (SELECT value FROM json_each(?))``. An
    expanded ``IN`` list sends (and SQLAlchemy renders) one parameter per value, which had to be
    cut into statements of 5,000 for a 40,000-value look-up. Values are strings or ints."""
    listed = list(values)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    if conn.dialect.name == "sqlite":
        rows = func.json_each(bindparam(None, json.dumps(listed, ensure_ascii=False))).table_valued("value")
        return column.in_(select(rows.c.value).scalar_subquery())
    return column.in_(listed)
