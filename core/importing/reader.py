"""Bytes of an uploaded export → a table of strings with the spreadsheet's row numbers.

Channel exports come in every shape: UTF-8 with or without a BOM, GBK/GB18030 (Taobao and many
Windows tools), UTF-16 ("Unicode text" from Excel), comma/semicolon/tab/pipe delimiters, XLSX.
Text whose columns are aligned with runs of spaces (a POS "print to file" report) is read by
position; text with neither a delimiter nor aligned columns is refused. Every read stays within
:mod:`core.importing.limits` (size, rows, columns, cells, characters, seconds), and XLSX is
checked for zip bombs and XML entities before it is parsed (:mod:`core.importing.xlsx`).
Everything is read as text — types are the profile's business (``core.importing.parse``) — and
row numbers are those a user sees in a spreadsheet (header = row 1), counting blank rows, so
"row 57" in a report is row 57 in Excel. Fully blank rows (``,,,,``) are dropped and counted.

Encodings are never guessed by statistics: a BOM decides, else strict UTF-8, else strict
GB18030 if the text looks like Chinese (most characters in the common GB2312 set). Anything
else is refused with a clear message; a profile may name the encoding outright.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass

import pandas as pd

from core.importing import textfile, xlsx
from core.importing.issues import ImportFileError
from core.importing.limits import DEFAULT_MAX_MB, Budget, ReadLimits

__all__ = ["DEFAULT_MAX_MB", "RawTable", "SourceFile", "max_bytes", "read_table", "sniff_delimiter"]

ALIGNED = "spaces"  # RawTable.delimiter of a whitespace-aligned text file
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
    delimiter: str | None  # None for XLSX, ``ALIGNED`` for columns aligned with spaces
    blank_rows: int

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


def max_bytes() -> int:
    """Upload limit (``OMS_IMPORT_MAX_MB``, default 40 MB): pandas needs ~10× a file's size in
    memory, so a bigger file is refused up front rather than stalling the server."""
    return ReadLimits.from_env().max_bytes


def read_table(source: SourceFile, *, encoding: str | None = None, delimiter: str | None = None,
               sheet: str | None = None, limits: ReadLimits | None = None) -> RawTable:
    """Read ``source`` (CSV in any common encoding/delimiter, whitespace-aligned text, or
    XLSX) into a :class:`RawTable`, within ``limits`` (default: :meth:`ReadLimits.from_env`).

    ``encoding``/``delimiter``/``sheet`` come from the profile; ``None`` or ``"auto"`` sniffs.
    Raises :class:`ImportFileError` for an empty, oversized, binary or undecodable file, a
    file beyond a read limit, a malformed row, duplicate header names, text in which no
    delimiter or column alignment is found, or a file with a header but no data.
    """
    limits = limits or ReadLimits.from_env()
    data = source.data
    if len(data) > limits.max_bytes:
        raise ImportFileError("too_large", source.name, size_mb=f"{len(data) / 1048576:.1f}",
                              limit_mb=f"{limits.max_bytes / 1048576:.0f}")
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise ImportFileError("empty", source.name)
    if data.startswith(_ZIP):
        rows = textfile.grid(xlsx.read_rows(source.name, data, sheet, limits))
        return _frame_from_rows(source.name, rows, "xlsx", None)
    if data.startswith(_OLE):
        raise ImportFileError("old_excel", source.name)
    text, used = _decode(source, None if encoding in (None, "", "auto") else encoding)
    budget = Budget(source.name, limits)
    if delimiter == ALIGNED:
        return _aligned(source.name, text, used, budget)
    if delimiter not in (None, "", "auto"):
        return _frame_from_rows(source.name, textfile.parse_delimited(source.name, text, delimiter, budget), used,
                                delimiter)
    sep = textfile.sniff_delimiter(textfile.check_head(source.name, text, budget))
    if sep is not None:
        return _frame_from_rows(source.name, textfile.parse_delimited(source.name, text, sep, budget), used, sep)
    return _aligned(source.name, text, used, budget)


def _aligned(name: str, text: str, encoding: str, budget: Budget) -> RawTable:
    rows = textfile.parse_aligned(name, text, budget)
    if rows is None:
        raise ImportFileError("hf.no_delimiter", name)
    return _frame_from_rows(name, rows, encoding, ALIGNED)


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


def sniff_delimiter(text: str) -> str | None:
    """The delimiter of ``text`` judged from its first lines (None: no delimiter fits)."""
    return textfile.sniff_delimiter([line for line in textfile.head_lines(text, textfile.SNIFF_LINES) if line.strip()])


# --- common ------------------------------------------------------------------------------------


def _frame_from_rows(name: str, rows: pd.DataFrame, encoding: str, sep: str | None) -> RawTable:
    """First record = header; index = spreadsheet row (header is row 1); blank rows dropped.
    Rows longer than the header (Excel writes ``,,`` tails) keep their extra cells until the
    trailing columns are found to hold nothing."""
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
