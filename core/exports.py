"""The one way a table leaves the system as a file: every CSV/XLSX download on the pages and
every CSV a command writes (``oms import … --report``) goes through here.

Two things make an export dangerous, both handled for every caller:

* **Formula injection** (OWASP "CSV Injection"). A customer named ``=HYPERLINK("http://evil",
  "点我")`` typed into a marketplace order becomes a live formula when a manager opens the
  export in Excel. A text cell is neutralised — prefixed with an apostrophe, which Excel and
  LibreOffice show as text — when it starts with tab or carriage return, or when its first
  character after any leading whitespace or control characters is ``=``, ``+``, ``-`` or
  ``@`` (or their full-width forms ``＝ ＋ － ＠``, which some spreadsheet imports fold to
  ASCII). Looking past leading whitespace matters: spreadsheets trim `` =1+1`` and
  ``\\x00=1+1`` before deciding what a cell is. Numbers are never touched, so ``-5`` stays a
  number — also when it arrives as text that is exactly a number.
* **Row splitting.** pandas writes ``\\n`` line ends and leaves a bare ``\\r`` inside a cell
  unquoted; spreadsheets treat that ``\\r`` as a new row, so ``张三\\r=cmd|…`` produced a row
  starting with ``=cmd``. Here rows end with ``\\r\\n`` (RFC 4180) and the writer quotes every
  field holding ``\\r`` or ``\\n``.

CSV is UTF-8 with a BOM (``utf-8-sig``) so Excel opens Chinese text correctly. XLSX stores a
formula-looking text as a quote-prefixed *string* cell instead: the cell shows exactly what the
customer typed and Excel never evaluates it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_CHARACTERS = frozenset("=+-@＝＋－＠")
ALWAYS_NEUTRALISED = ("\t", "\r")  # OWASP: a cell starting with tab or CR is prefixed too
_LEADING = re.compile(r"^[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PLAIN = (bool, int, float, Decimal, np.number, np.bool_, dt.date, dt.time, pd.Timestamp, pd.Timedelta)


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (see the module docstring)."""
    if text.startswith(ALWAYS_NEUTRALISED):
        return True
    rest = text[_LEADING.match(text).end():]  # type: ignore[union-attr]  # the pattern always matches
    return rest[:1] in FORMULA_CHARACTERS and _NUMBER.fullmatch(text) is None


def safe_cell(value: object) -> object:
    """``value`` as it may be exported: numbers, dates and missing values unchanged, any other
    value as text with an apostrophe in front when it could run as a formula."""
    if value is None or isinstance(value, _PLAIN):
        return value
    if not isinstance(value, str):
        if pd.api.types.is_scalar(value) and pd.isna(value):
            return value
        value = str(value)
    return "'" + value if is_formula_like(value) else value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with every cell passed through :func:`safe_cell` (numeric, boolean and
    datetime columns are skipped whole: none of their cells can be text)."""
    out = df.copy()
    for position, dtype in enumerate(out.dtypes):
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype) \
                or isinstance(dtype, pd.DatetimeTZDtype):
            continue
        out.isetitem(position, out.iloc[:, position].astype(object).map(safe_cell))
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as CSV bytes (UTF-8 with BOM, ``\\r\\n`` rows, CR/LF in a cell quoted), formulas
    neutralised, no index."""
    return csv_part(df, first=True)


def csv_part(df: pd.DataFrame, *, first: bool) -> bytes:
    """One chunk of a CSV written in parts (a full "download all N rows"): the first part
    carries the BOM and the header, later parts only rows; the parts joined equal
    :func:`to_csv_bytes` of the whole table."""
    buffer = io.StringIO()
    neutralise(df).to_csv(buffer, index=False, header=first, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return buffer.getvalue().encode("utf-8-sig" if first else "utf-8")


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """:func:`to_csv_bytes` written to ``path`` (the CLI's reports)."""
    Path(path).write_bytes(to_csv_bytes(df))


def _excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Excel has no timezone-aware datetimes: write them as local wall time."""
    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    return out


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "data") -> bytes:
    """``df`` as an XLSX workbook of one sheet; formula-looking text is a quote-prefixed
    string cell, never a formula."""
    buffer = io.BytesIO()
    title = sheet[:31]
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _excel_safe(df).to_excel(writer, index=False, sheet_name=title)
        for row in writer.sheets[title].iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and is_formula_like(cell.value):
                    cell.data_type = "s"  # openpyxl had turned "=…" into a formula cell
                    cell.quotePrefix = True
    return buffer.getvalue()
