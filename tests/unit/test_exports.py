"""The one export function: formulas neutralised after any leading whitespace or control
character, numbers left alone, CR/LF inside a cell quoted so a row can never split, UTF-8 with
a BOM, and XLSX cells stored as text. A Hypothesis property checks the CSV side on any input."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from core import exports

FORMULA = tuple(exports.FORMULA_CHARACTERS)
# what a spreadsheet skips before deciding what a cell is: whitespace and control characters
SKIPPED = " \t\r\n\x00\x01\x0b\x0c\x1f\x7f\u00a0\u3000\u200b\u202e\ufeff"


def read_back(data: bytes) -> list[list[str]]:
    """Parse exported CSV bytes as a spreadsheet import would (csv module, BOM dropped)."""
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens Chinese text correctly
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_formulas_are_neutralised_after_leading_whitespace_and_control_characters() -> None:
    frame = pd.DataFrame({
        "name": ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r1",
                 " =1+1", "\n\n=cmd", "\x00=1", "\u3000＝1+1", "\u200b@x", "张三", "-5", "a=b"],
        "qty": [1, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    })
    out = exports.neutralise(frame)
    assert out["name"].tolist() == [
        "'=HYPERLINK(\"http://evil\",\"x\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "'\t=1", "'\r1",
        "' =1+1", "'\n\n=cmd", "'\x00=1", "'\u3000＝1+1", "'\u200b@x", "张三", "-5", "a=b"]
    assert out["qty"].tolist() == list(frame["qty"])  # numbers, even negative ones, are data
    assert frame["name"][0].startswith("=")  # the input frame is never modified


def test_a_bare_carriage_return_cannot_start_a_row() -> None:
    """The issue's case: ``张三\\r=cmd|…`` made pandas write a row starting with ``=cmd``."""
    data = exports.to_csv_bytes(pd.DataFrame({"customer": ["张三\r=cmd|' /C calc'!A0", "李四\n=2"],
                                              "total": [Decimal("-5.00"), 7]}))
    assert data.decode("utf-8-sig").split("\r\n")[1].startswith('"张三\r=cmd')  # quoted: one cell
    assert read_back(data) == [["customer", "total"], ["张三\r=cmd|' /C calc'!A0", "-5.00"], ["李四\n=2", "7"]]


def test_missing_values_stay_empty() -> None:
    frame = pd.DataFrame({"a": ["x", None, pd.NA], "b": [1.5, float("nan"), None]}, dtype=object)
    assert read_back(exports.to_csv_bytes(frame))[1:] == [["x", "1.5"], ["", ""], ["", ""]]


def test_xlsx_export_stores_formulas_as_text() -> None:
    data = exports.to_xlsx_bytes(pd.DataFrame({"customer": ['=HYPERLINK("http://evil","x")', " @A1", "王五"],
                                               "total": [1, -2, 3]}), "orders")
    sheet = openpyxl.load_workbook(io.BytesIO(data))["orders"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://evil","x")', " @A1", "王五"]
    assert [c.data_type for c in cells] == ["s", "s", "s"]  # text, never a formula
    assert [c.quotePrefix for c in cells] == [True, True, False]
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [1, -2, 3]


def test_write_csv_writes_the_same_bytes(tmp_path) -> None:  # noqa: ANN001 - pytest's tmp_path
    frame = pd.DataFrame({"value": ["=1+1"], "n": [2]})
    exports.write_csv(frame, tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes() == exports.to_csv_bytes(frame)


_cells = st.one_of(
    st.text(alphabet=st.sampled_from(list(SKIPPED) + list(FORMULA) + list("a1.e-张|'\"")), max_size=12),
    st.text(max_size=12),
    st.integers(min_value=-10**12, max_value=10**12),
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False),
    st.floats(allow_nan=True, allow_infinity=False),
    st.none(),
)


def _is_number(value: object) -> bool:
    if isinstance(value, int | float | Decimal):
        return True
    return isinstance(value, str) and exports._NUMBER.fullmatch(value) is not None


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_cells, min_size=2, max_size=2), min_size=1, max_size=6))
def test_no_exported_cell_can_start_a_formula(rows: list[list[object]]) -> None:
    """Whatever the cells hold, every cell read back from the CSV either was a number or does
    not begin with a formula character once whitespace and control characters are stripped —
    and the file has exactly the rows and columns that went in."""
    frame = pd.DataFrame(rows, columns=["a", "b"], dtype=object)
    back = read_back(exports.to_csv_bytes(frame))
    assert len(back) == len(rows) + 1 and all(len(r) == 2 for r in back)
    for original_row, row in zip(rows, back[1:], strict=True):
        for original, cell in zip(original_row, row, strict=True):
            if _is_number(original):
                continue
            stripped = cell.lstrip(SKIPPED)
            assert not stripped.startswith(FORMULA), (original, cell)
            assert not cell.startswith(("\t", "\r")), (original, cell)


def test_a_csv_written_in_parts_equals_the_whole() -> None:
    """"Download all N rows" writes chunk by chunk: BOM and header once, formulas neutralised."""
    whole = pd.DataFrame({"name": ["=1+1", "张三", "@x", "ok"], "n": [1, -2, 3, 4]})
    parts = [exports.csv_part(whole.iloc[:2], first=True), exports.csv_part(whole.iloc[2:], first=False)]
    assert b"".join(parts) == exports.to_csv_bytes(whole)
    assert b"".join(parts).count(b"\xef\xbb\xbf") == 1
