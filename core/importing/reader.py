"""Bytes of an uploaded export → a table of strings with the spreadsheet's row numbers.

Channel exports come in every shape: UTF-8 with or without a BOM, GBK/GB18030 (Taobao and many
Windows tools), UTF-16 ("Unicode text" from Excel), comma/semicolon/tab/pipe delimiters, XLSX.
Everything is read as text — types are the profile's business (``core.importing.parse``) — and
row numbers are those a user sees in a spreadsheet (header = row 1), counting blank rows, so
"row 57" in a report is row 57 in Excel. Fully blank rows (``,,,,``) are dropped and counted.

Encodings are never guessed by statistics: a BOM decides, else strict UTF-8, else strict
GB18030 if the text looks like Chinese (most characters in the common GB2312 set). Anything
else is refused with a clear message; a profile may name the encoding outright.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass

import pandas as pd

from core.importing.issues import ImportFileError

DELIMITERS = (",", "\t", ";", "|")
DEFAULT_MAX_MB = 40
SNIFF_LINES = 50
PLAUSIBLE_SAMPLE = 200_000  # characters checked for the GB18030 plausibility test
MIN_COMMON_SHARE = 0.8  # share of non-ASCII characters that must be common (GB2312) Chinese

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class SourceFile:
    """An uploaded or named file: its name (for messages) and its bytes."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class RawTable:
    """A file read as text: ``frame`` has one string column per header cell ('' when empty)
    and the spreadsheet row number as index; blank rows are already dropped."""

    name: str
    frame: pd.DataFrame
    encoding: str
    delimiter: str | None  # None for XLSX
    blank_rows: int

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


def max_bytes() -> int:
    """Upload limit (``OMS_IMPORT_MAX_MB``, default 40 MB): pandas needs ~10× a file's size in
    memory, so a bigger file is refused up front rather than stalling the server."""
    return int(float(os.environ.get("OMS_IMPORT_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024)


def read_table(source: SourceFile, *, encoding: str | None = None, delimiter: str | None = None,
               sheet: str | None = None) -> RawTable:
    """Read ``source`` (CSV in any common encoding/delimiter, or XLSX) into a :class:`RawTable`.

    ``encoding``/``delimiter``/``sheet`` come from the profile; ``None`` or ``"auto"`` sniffs.
    Raises :class:`ImportFileError` for an empty, oversized, binary or undecodable file, a
    malformed row, duplicate header names, or a file with a header but no data.
    """
    data = source.data
    if len(data) > max_bytes():
        raise ImportFileError("too_large", source.name, size_mb=f"{len(data) / 1048576:.1f}",
                              limit_mb=f"{max_bytes() / 1048576:.0f}")
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise ImportFileError("empty", source.name)
    if data.startswith(_ZIP):
        return _read_xlsx(source, sheet)
    if data.startswith(_OLE):
        raise ImportFileError("old_excel", source.name)
    text, used = _decode(source, None if encoding in (None, "", "auto") else encoding)
    sep = delimiter if delimiter not in (None, "", "auto") else sniff_delimiter(text)
    return _frame_from_rows(source.name, _parse_csv(source.name, text, sep), used, sep)


# --- text --------------------------------------------------------------------------------------


def _decode(source: SourceFile, encoding: str | None) -> tuple[str, str]:
    data = source.data
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError("unknown_encoding_name", source.name, encoding=encoding) from None
        try:
            return data.decode(encoding).lstrip("\ufeff"), encoding
        except UnicodeDecodeError as exc:
            raise ImportFileError("encoding_mismatch", source.name, encoding=encoding, position=exc.start) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name).lstrip("\ufeff"), name
            except UnicodeDecodeError as exc:
                raise ImportFileError("encoding_mismatch", source.name, encoding=name, position=exc.start) from None
    if b"\x00" in data[:8192]:
        raise ImportFileError("binary", source.name)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError("unknown_encoding", source.name) from None
    if not _looks_chinese(text):
        raise ImportFileError("unknown_encoding", source.name)
    return text, "gb18030"


def _looks_chinese(text: str) -> bool:
    """True when the non-ASCII characters are mostly common Chinese (GB2312).

    Latin-1/Windows-1252 text (an accented letter then an ASCII letter) also decodes as
    GB18030, but into rare characters outside GB2312; real Chinese text is overwhelmingly
    inside it.
    """
    wide = [ch for ch in text[:PLAUSIBLE_SAMPLE] if ord(ch) > 127]
    if not wide:
        return True
    common = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(wide) >= MIN_COMMON_SHARE


def sniff_delimiter(text: str) -> str:
    """The candidate delimiter that splits the first lines into the same number (>1) of fields.

    ``csv.Sniffer`` guesses from character frequencies and is easily fooled by commas inside
    addresses; counting fields per line with a real CSV parser is not.
    """
    sample = [line for line in _head_lines(text, SNIFF_LINES) if line.strip()]
    best, best_score = ",", (0.0, 0)
    for sep in DELIMITERS:
        counts = [len(row) for row in csv.reader(sample, delimiter=sep)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = sep, score
    return best


def _head_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]`` without splitting a 20 MB file to look at its top: split
    a growing prefix until it holds two lines more than wanted (a prefix cut inside a
    ``\r\n`` only affects its last line)."""
    size = 8192
    while True:
        lines = text[:size].splitlines()
        if len(lines) >= count + 2 or size >= len(text):
            return lines[:count]
        size *= 4


_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _parse_csv(name: str, text: str, sep: str) -> pd.DataFrame:
    """All cells as text. Rows longer than the header (Excel writes ``,,`` tails) are read
    into extra columns, which are dropped later if they hold nothing."""
    width: int | None = None
    for _ in range(5):
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
                                na_filter=False, skip_blank_lines=False, engine="c",
                                names=None if width is None else list(range(width)))
            return frame.fillna("")
        except pd.errors.ParserError as exc:
            match = _FIELDS_ERROR.search(str(exc))
            if match is None:
                raise ImportFileError("malformed", name, detail=str(exc).strip()) from None
            width = max(width or 0, int(match.group(3)))
        except pd.errors.EmptyDataError:
            raise ImportFileError("empty", name) from None
    raise ImportFileError("malformed", name, detail="rows with too many fields")


# --- xlsx --------------------------------------------------------------------------------------


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(source: SourceFile, sheet: str | None) -> RawTable:
    import openpyxl  # only XLSX imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError("bad_xlsx", source.name, detail=str(exc)) from None
    try:
        if sheet:
            if sheet not in book.sheetnames:
                raise ImportFileError("no_sheet", source.name, sheet=sheet, sheets=", ".join(book.sheetnames))
            ws = book[sheet]
        else:
            ws = book.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    return _frame_from_rows(source.name, frame, "xlsx", None)


# --- common ------------------------------------------------------------------------------------


def _frame_from_rows(name: str, rows: pd.DataFrame, encoding: str, sep: str | None) -> RawTable:
    """First record = header; index = spreadsheet row (header is row 1); blank rows dropped."""
    if rows.empty:
        raise ImportFileError("empty", name)
    header = [str(h).strip().lstrip("\ufeff").strip() for h in rows.iloc[0].tolist()]
    while header and header[-1] == "" and (rows.iloc[1:, len(header) - 1].str.strip() == "").all():
        header.pop()  # trailing empty columns (a trailing delimiter, Excel's formatted blank cells)
    rows = rows.iloc[:, :len(header)]
    if not any(header):
        raise ImportFileError("empty", name)
    header = [h or f"({i + 1})" for i, h in enumerate(header)]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise ImportFileError("duplicate_column", name, column=h)
        seen.add(h)
    body = rows.iloc[1:].copy()
    body.columns = header
    body.index = pd.RangeIndex(2, len(body) + 2, name="row")
    body = body.apply(lambda col: col.str.strip())
    blank = (body == "").all(axis=1)
    body = body[~blank]
    if body.empty:
        raise ImportFileError("no_rows", name)
    return RawTable(name, body, encoding, sep, int(blank.sum()))
