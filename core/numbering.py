"""Document numbers (SO…, RMA…, PO…, TR…, PL…, customer codes).

**SQLite** (one writer at a time anyway): the counter lives in the ``sequences`` table and is
bumped with one ``UPDATE … RETURNING`` inside the caller's transaction, so a rolled-back order
takes its number back with it.

**PostgreSQL**: that UPDATE locks the counter's row until the caller commits, so every order
of every clerk queued behind the one before it — worst for new customers, whose code was taken
early in the order's transaction (docs/benchmarks.md: 24 clerks, 13–27 orders/s). Document
counters are therefore database ``SEQUENCE``\\ s there (``oms_seq_<name>``, migration
``0028_pg_counters``): ``nextval`` takes no row lock and is never handed out twice. The price is
that a rolled-back document leaves a gap in the numbering — numbers stay unique and increasing,
which is all an order, RMA or customer code promises (no tax document is numbered here). The
``REF`` counter stays in the table on both backends: it is the reference-data version, which
must change only when the change it announces commits (core.refdata).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Values
from typing import Any

from sqlalchemy import Column, Connection, Row, String, Text, bindparam, cast, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from core.models import Sequence
from core.timeutil import local_today

# REF: reference-data version (core.refdata); PL: pick lists; WV: waves; MG: merged shipments
SEQUENCES = ("SO", "RMA", "PO", "TR", "CUST", "REF", "PL", "WV", "MG")
PG_COUNTERS = tuple(name for name in SEQUENCES if name != "REF")  # SEQUENCEs on PostgreSQL


_T = Sequence.__table__
_NEXT = update(_T).where(_T.c.name == bindparam("n")).values(value=_T.c.value + 1).returning(_T.c.value)


def pg_sequence(name: str) -> str:
    """The PostgreSQL sequence behind counter ``name``."""
    return f"oms_seq_{name.lower()}"


def _on_sequence(conn: Connection, name: str) -> bool:
    return conn.dialect.name == "postgresql" and name in PG_COUNTERS


def next_value(session: Session, name: str) -> int:
    conn = session.connection()
    if _on_sequence(conn, name):
        return int(conn.execute(text("SELECT nextval(:s)"), {"s": pg_sequence(name)}).scalar_one())
    value = conn.execute(_NEXT, {"n": name}).scalar_one_or_none()
    if value is None:
        raise LookupError(f"sequence {name!r} is missing; run `oms init`")
    return int(value)


def reserve_values(session: Session, name: str, count: int) -> Values[int]:
    """``count`` values of sequence ``name`` in one statement (bulk imports number thousands of
    documents at once), ascending; empty for ``count`` 0. Consecutive on SQLite; on PostgreSQL
    another session's ``nextval`` may fall between them."""
    if count <= 0:
        return range(0)
    conn = session.connection()
    if _on_sequence(conn, name):
        return sorted(int(v) for v in conn.execute(
            text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": pg_sequence(name), "n": count}).scalars())
    last = conn.execute(
        update(_T).where(_T.c.name == name).values(value=_T.c.value + count).returning(_T.c.value)
    ).scalar_one_or_none()
    if last is None:
        raise LookupError(f"sequence {name!r} is missing; run `oms init`")
    return range(int(last) - count + 1, int(last) + 1)


def current_values(conn: Connection) -> dict[str, int]:
    """The last value handed out per counter (0 for an unused one) — the table's on SQLite,
    the sequence's on PostgreSQL (whose table row stays where it was before the switch)."""
    values = {name: int(v) for name, v in conn.execute(select(_T.c.name, _T.c.value)).all()}
    if conn.dialect.name == "postgresql":
        for name in PG_COUNTERS:
            last, called = conn.execute(text(f"SELECT last_value, is_called FROM {pg_sequence(name)}")).one()
            values[name] = max(values.get(name, 0), int(last) if called else int(last) - 1)
    return values


def align_pg_counters(conn: Connection) -> None:
    """Create any missing counter sequence and move each one up to its table value when that is
    ahead (a database numbered by the table before ``0028_pg_counters``, or a bulk writer such as
    the demo that sets the table directly). Never moves a sequence back. No-op on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    for name in PG_COUNTERS:
        seq = pg_sequence(name)
        conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {seq}"))
        conn.execute(text(
            f"SELECT setval('{seq}', s.value) FROM sequences s WHERE s.name = :n AND s.value > "
            f"(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {seq})"), {"n": name})


NUMBER_DIGITS = 6  # SO20261122-000123
CUSTOMER_PREFIX, CUSTOMER_DIGITS = "C", 7  # C0000123


def number_prefix(prefix: str) -> str:
    """What comes before a document number's counter: ``SO20261122-`` (the shop's local date)."""
    return f"{prefix}{local_today():%Y%m%d}-"


def next_number(session: Session, prefix: str) -> str:
    """E.g. ``SO20261122-000123``: date for humans, global counter for uniqueness."""
    return number_of(prefix, next_value(session, prefix))


def number_of(prefix: str, value: int) -> str:
    """The document number of counter ``value`` today (:func:`next_number`; a bulk writer
    numbers many documents from :func:`reserve_values`)."""
    return f"{number_prefix(prefix)}{value:0{NUMBER_DIGITS}d}"


class NumberedInsert:
    """An ``INSERT … RETURNING`` that takes its row's number from counter ``counter``: the
    number is ``prefix`` + the counter's next value zero-padded to ``digits`` (longer values
    keep every digit), as :func:`next_number` writes it.

    On PostgreSQL ``nextval`` runs inside the INSERT (a scalar subquery in its VALUES), so the
    number costs no round trip of its own — on the order hot path that is one of ~15 round
    trips per order, for the order number and again for a new customer's code. On SQLite the
    counter row is bumped first, as :func:`next_value` does (in-process, no round trip).
    ``statements`` is the INSERT (with its RETURNING) per dialect name, or one for both.
    """

    def __init__(self, statements: Insert | Mapping[str, Insert], column: Column[Any], counter: str,
                 digits: int) -> None:
        self._column, self._counter, self._digits = column, counter, digits
        self._plain = dict(statements) if isinstance(statements, Mapping) else {}
        self._default = None if isinstance(statements, Mapping) else statements
        pg = self._plain.get("postgresql", self._default)
        assert pg is not None, "a NumberedInsert needs a statement for PostgreSQL"
        value = select(func.nextval(pg_sequence(counter)).label("v")).subquery("counter")
        digits_text = cast(value.c.v, Text)
        formatted = select(bindparam("number_prefix", type_=String)
                           + func.lpad(digits_text, func.greatest(digits, func.length(digits_text)), "0"))
        self._pg = pg.values({column.key: formatted.scalar_subquery()})

    def execute(self, session: Session, params: dict[str, Any], prefix: str) -> Row[Any] | None:
        """Insert one row of ``params`` numbered ``prefix…``; the RETURNING row (None when an
        ON CONFLICT DO NOTHING skipped it — its number is then left unused)."""
        conn = session.connection()
        if _on_sequence(conn, self._counter):
            return conn.execute(self._pg, {**params, "number_prefix": prefix}).first()
        statement = self._plain.get(conn.dialect.name, self._default)
        assert statement is not None
        number = f"{prefix}{next_value(session, self._counter):0{self._digits}d}"
        return conn.execute(statement, {**params, self._column.key: number}).first()


def next_customer_code(session: Session) -> str:
    """The next customer code, taken on its own (the order path takes it inside the customer's
    INSERT: :class:`NumberedInsert`)."""
    return f"{CUSTOMER_PREFIX}{next_value(session, 'CUST'):0{CUSTOMER_DIGITS}d}"
