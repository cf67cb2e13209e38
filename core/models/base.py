"""Declarative base, naming convention and the money type every table shares."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Index, MetaData, Numeric, Table, TypeDecorator, text, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import operators, sqltypes
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.types import TypeEngine

# Operators whose other operand is a plain number (a quantity, a ratio), not an amount.
_SCALING: frozenset[OperatorType] = frozenset({operators.mul, operators.truediv, operators.floordiv, operators.mod})


class Money(TypeDecorator[Decimal]):
    """Money: ``Decimal`` in Python, whole cents in a BIGINT column on every backend.

    Why cents: SQLite has no exact decimal type (``NUMERIC`` values become binary floats, so a
    raw ``SUM`` read 759708.870000003); integers are exact on both backends, and the same raw
    SQL means the same on both (docs/money.md).

    SQL expressions keep the type, so results come back as yuan again: ``money ± money`` and
    ``money × or ÷ a number`` are money (``qty × unit_price`` too), ``SUM``/``MIN``/``MAX``/
    ``COALESCE``/``CASE`` of money are money, ``money ÷ money`` is a plain ratio. A literal
    compared with or added to money is an amount (``total > 5000`` binds 500000 cents); a
    literal that multiplies or divides money is a plain number. Functions SQLAlchemy does not
    type (``ROUND``, ``ABS``) lose the type: wrap them with :func:`as_money` or read
    :func:`cents`.
    """

    impl = BigInteger
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[Decimal], BigInteger.Comparator[Decimal]):
        def _adapt_expression(self, op: OperatorType, other_comparator: TypeEngine.Comparator[Any]
                              ) -> tuple[OperatorType, TypeEngine[Any]]:
            other_is_money = isinstance(other_comparator.type, Money)
            if op in (operators.add, operators.sub):
                return op, self.type
            if op is operators.mul:
                if other_is_money:
                    raise TypeError("money × money has no meaning")
                return op, self.type
            if op in (operators.truediv, operators.floordiv):
                return op, (Numeric() if other_is_money else self.type)
            return super()._adapt_expression(op, other_comparator)

        def reverse_operate(self, op: OperatorType, other: Any, **kwargs: Any) -> ColumnElement[Any]:
            # ``2 * price`` / ``Decimal("0.5") * price``: the same as ``price * 2``, which keeps the
            # money type (a Numeric literal on the left would otherwise decide the result type)
            if op is operators.mul:
                return self.operate(op, other, **kwargs)
            return super().reverse_operate(op, other, **kwargs)

    comparator_factory = Comparator

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> TypeEngine[Any]:
        if op in _SCALING:
            return sqltypes._resolve_value_to_type(value)
        return self

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        # str(): a float or a numpy scalar by its shortest decimal form, not its binary expansion
        amount = value if isinstance(value, Decimal) else Decimal(value if isinstance(value, int) else str(value))
        cents = amount.scaleb(2)
        if cents != cents.to_integral_value():  # a fraction of a cent: rounded as NUMERIC(12, 2) did
            cents = cents.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(cents)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        cents = self.process_bind_param(value, dialect)
        return "NULL" if cents is None else str(cents)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):  # true division or an average of cents (SQLite answers a REAL)
            return Decimal(int(value) if value.is_integer() else repr(value)).scaleb(-2)
        return Decimal(value).scaleb(-2)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def as_money(expr: Any) -> ColumnElement[Decimal]:
    """An expression of whole (or fractional) cents read as money (``ROUND``/``ABS`` of money,
    integer arithmetic on cents)."""
    return type_coerce(expr, Money())


def cents(expr: Any) -> ColumnElement[int]:
    """The stored cents of a money expression, as a plain integer (no conversion to yuan)."""
    return type_coerce(expr, BigInteger())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, Decimal: Money}
    # Every model here maps one Table (SQLAlchemy types __table__ as any FromClause), so
    # Model.__table__ can go wherever a Table is expected (insert(), .c, .name).
    __table__: ClassVar[Table]


def sparse_index(name: str, column: str) -> Index:
    """An index of a column empty on most rows (a merged shipment's group, a kit's component
    lines): it holds only the rows with a value, so the hot inserts of rows without one write
    no entry (migration 0030_hot_indexes), and ``column = ?`` lookups still use it."""
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, sqlite_where=where, postgresql_where=where)
