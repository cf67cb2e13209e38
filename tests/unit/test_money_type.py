"""The Money column type: Decimal in Python, whole cents in the database, and SQL expressions
that keep meaning yuan (docs/money.md has the table these cases come from)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, Table, case, create_engine, func, insert, select

from core.models import Money, as_money, cents

LINES = Table("lines", MetaData(), Column("id", Integer, primary_key=True), Column("qty", Integer),
              Column("price", Money))


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    LINES.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(insert(LINES), [{"id": 1, "qty": 3, "price": D("19.99")}, {"id": 2, "qty": 2, "price": D("0.10")}])
        yield c
    engine.dispose()


def _values(conn: Connection, expr: Any) -> list[Any]:
    return list(conn.execute(select(expr).order_by(LINES.c.id)).scalars())


def test_money_is_stored_as_whole_cents_and_read_as_decimal(conn: Connection) -> None:
    assert conn.exec_driver_sql("SELECT price, typeof(price) FROM lines ORDER BY id").all() == [
        (1999, "integer"), (10, "integer")]
    assert _values(conn, LINES.c.price) == [D("19.99"), D("0.10")]
    assert _values(conn, cents(LINES.c.price)) == [1999, 10]


@pytest.mark.parametrize(("name", "build", "expected"), [
    ("money × qty", lambda t: t.c.price * t.c.qty, [D("59.97"), D("0.20")]),
    ("qty × money", lambda t: t.c.qty * t.c.price, [D("59.97"), D("0.20")]),
    ("money × 2", lambda t: t.c.price * 2, [D("39.98"), D("0.20")]),
    ("2 × money", lambda t: 2 * t.c.price, [D("39.98"), D("0.20")]),
    ("½ × money", lambda t: D("0.5") * t.c.price, [D("9.995"), D("0.05")]),
    ("money ÷ qty", lambda t: t.c.price / t.c.qty, [D("6.663333333333334"), D("0.05")]),
    ("money + ¥1", lambda t: t.c.price + D("1"), [D("20.99"), D("1.10")]),
    ("−money", lambda t: -t.c.price, [D("-19.99"), D("-0.10")]),
    ("CASE, money first", lambda t: case((t.c.qty > 2, t.c.price), else_=0), [D("19.99"), D("0.00")]),
    ("money ÷ money", lambda t: t.c.price / t.c.price, [1, 1]),
    ("ROUND wrapped", lambda t: as_money(func.round(t.c.price * D("0.5"))), [D("10.00"), D("0.05")]),
])
def test_expressions_keep_meaning_yuan(conn: Connection, name: str, build: Any, expected: list[Any]) -> None:
    assert [D(str(v)) for v in _values(conn, build(LINES))] == expected, name


def test_aggregates_of_money_are_money(conn: Connection) -> None:
    assert conn.execute(select(func.sum(LINES.c.price), func.max(LINES.c.price),
                               func.coalesce(func.sum(LINES.c.price * LINES.c.qty), 0))).one() == (
        D("20.09"), D("19.99"), D("60.17"))


def test_a_literal_compared_with_money_is_an_amount(conn: Connection) -> None:
    assert list(conn.execute(select(LINES.c.id).where(LINES.c.price > D("1"))).scalars()) == [1]
    assert list(conn.execute(select(LINES.c.id).where(LINES.c.price.between(0, 1))).scalars()) == [2]
    assert list(conn.execute(select(LINES.c.id).where(LINES.c.price == D("0.1"))).scalars()) == [2]


def test_money_times_money_has_no_meaning() -> None:
    with pytest.raises(TypeError):
        LINES.c.price * LINES.c.price  # noqa: B018 - building the expression is what raises


def test_a_fraction_of_a_cent_rounds_half_away_from_zero_and_floats_by_their_decimal_form() -> None:
    bind = Money().process_bind_param
    assert [bind(v, None) for v in (D("0.005"), D("-0.005"), D("0.0049"), 19.99, 0.1 + 0.2, 7, "2.50")] == [
        1, -1, 0, 1999, 30, 700, 250]
