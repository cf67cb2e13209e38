"""The streamlit adapter's pure helpers: downloads, time display, cached reads."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd

from core import webui
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input


def test_csv_has_bom_for_excel() -> None:
    data = webui.to_csv_bytes(pd.DataFrame({"客户": ["张三"], "total": [Decimal("1.50")]}))
    assert data.startswith("\ufeff".encode()) and "张三".encode() in data


def test_xlsx_round_trip_with_local_times() -> None:
    frame = pd.DataFrame({"at": pd.to_datetime(["2026-03-10 15:59"]).tz_localize("UTC"), "名称": ["绿茶"],
                          "amount": [Decimal("25.00")]})
    back = pd.read_excel(io.BytesIO(webui.to_xlsx_bytes(frame, "orders")), engine="openpyxl")
    assert back["名称"].tolist() == ["绿茶"] and back["amount"].tolist() == [25.0]
    assert back["at"].tolist() == [pd.Timestamp("2026-03-10 15:59")]


def test_localize_times() -> None:
    frame = pd.DataFrame({"placed_at": [dt.datetime(2026, 3, 10, 15, 59)]})
    assert webui.localize_times(frame, "placed_at")["placed_at"].tolist() == [pd.Timestamp("2026-03-10 23:59")]
    assert frame["placed_at"].tolist() == [pd.Timestamp("2026-03-10 15:59")]  # the input is left alone


def test_cached_read_refreshes_after_a_write(db_url: str) -> None:
    calls: list[int] = []

    def read(days: int) -> int:
        calls.append(days)
        return len(calls)

    make_product("TEA-1", "10.00", {"SH": 5})
    assert webui.cached_read(read, 7) == webui.cached_read(read, 7) == 1  # cached
    assert webui.cached_read(read, 30) == 2  # other arguments, other entry
    create_order(order_input(("TEA-1", 1)), CLERK)  # writes an audit row → new data version
    assert webui.cached_read(read, 7) == 3


def test_a_quantity_cell_is_passed_on_as_typed() -> None:
    """Grids never change a typed quantity: whole numbers become ints, the rest stays as it is
    for the service to refuse; an empty cell is 0 (the service names its row)."""
    assert [webui.cell_qty(v) for v in (5.0, -5.0, 2.5, 1e20, None, float("nan"), pd.NA, 7)] == \
        [5, -5, 2.5, 10 ** 20, 0, 0, 0, 7]
    assert webui.cell_qty(float("inf")) == float("inf")
