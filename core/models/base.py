"""Declarative base, naming convention and the money type every table shares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    MetaData,
    Numeric,
    Table,
)
from sqlalchemy.orm import DeclarativeBase

Money = Numeric(12, 2)
# summary tables keep 4 decimals (see core.models.summary)
AggMoney = Numeric(16, 4)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, Decimal: Money}
    # Every model here maps one Table (SQLAlchemy types __table__ as any FromClause), so
    # Model.__table__ can go wherever a Table is expected (insert(), .c, .name).
    __table__: ClassVar[Table]
