"""Service results as JSON values: amounts as decimal strings (never floats), times in ISO 8601
UTC, pandas/numpy scalars as plain Python; and the paging cursor."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd

from api.errors import ApiError


def plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat() + "Z" if value.tzinfo is None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return None if value != value else value  # NaN (a missing number in a frame) → null
    if value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalar
        return plain(value.item())
    if isinstance(value, pd.Timestamp):
        return plain(value.to_pydatetime())
    return value


def record(row: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in row.items()}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [record(r) for r in frame.astype(object).where(frame.notna(), None).to_dict("records")]


def utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    """A client's time as the naive UTC the database stores (a time without zone is UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def encode_cursor(at: dt.datetime, row_id: int) -> str:
    """(time, id) of the last row of a newest-first page as an opaque cursor."""
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_key(key: str) -> str:
    """A text paging key (a SKU) as an opaque cursor."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_key(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise ApiError(422, "api.bad_cursor") from exc


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        placed, _, oid = raw.partition("|")
        return dt.datetime.fromisoformat(placed), int(oid)
    except ValueError as exc:
        raise ApiError(422, "api.bad_cursor") from exc
