"""Lists that tell the truth: the exact count of a query's rows, one page of them, and every
row fed out in chunks for "download all N rows".

A list screen used to fetch the first 200 rows and say "found 200"; these helpers let a
service answer the three questions separately on the same statement, so the count, the pages
and the download cannot disagree about which rows match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PAGE_SIZE = 1000  # one screen never holds more; "download all" has no cap
EXPORT_CHUNK = 2000  # rows per chunk of a full download: bounded memory per step


def count_rows(session: Session, stmt: Select[*tuple[Any, ...]]) -> int:
    """How many rows ``stmt`` returns (its ordering and any limit removed)."""
    inner = stmt.order_by(None).limit(None).offset(None).subquery()
    return int(session.execute(select(func.count()).select_from(inner)).scalar_one())


def page_rows(session: Session, stmt: Select[*tuple[Any, ...]], columns: Sequence[str], offset: int,
              limit: int) -> pd.DataFrame:
    """Rows ``offset`` .. ``offset + limit`` of ``stmt``, which must have a total order (a
    unique last sort key) so that pages neither overlap nor skip a row."""
    offset, limit = max(0, int(offset)), min(max(1, int(limit)), MAX_PAGE_SIZE)
    return pd.DataFrame(session.execute(stmt.offset(offset).limit(limit)).all(), columns=list(columns))


def feed_chunks(session: Session, stmt: Select[*tuple[Any, ...]], columns: Sequence[str],
                sink: Callable[[pd.DataFrame], object], chunk_size: int = EXPORT_CHUNK) -> int:
    """Every row of ``stmt`` handed to ``sink`` as DataFrames of at most ``chunk_size`` rows,
    read from one cursor inside the caller's transaction (so the rows are one consistent
    snapshot); returns how many rows were fed. No chunk is empty."""
    fed = 0
    result = session.execute(stmt.execution_options(yield_per=chunk_size))
    for rows in result.partitions(chunk_size):
        sink(pd.DataFrame(rows, columns=list(columns)))
        fed += len(rows)
    return fed
