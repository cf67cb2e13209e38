"""Decoded text → rows of cells, under the read limits: delimited files (CSV and its
semicolon/tab/pipe cousins) and whitespace-aligned columns (a POS or ERP "print to file"
export, where columns are padded with spaces).

Delimited text is first measured cheaply (lines, characters per line, delimiters per line):
when those bounds prove the file is inside the limits, pandas' C parser reads it in one go
(fast, and the width is known so ragged rows need no second pass) and the longest cell of each
column is checked afterwards. Otherwise — a 1M-column line, a 5 MB field, a 40 MB line — the
:mod:`csv` module reads one record at a time and refuses at the record that breaks a limit,
naming its row, before anything large is built. The process-wide ``csv.field_size_limit``
(131 072 characters by default) is left alone — it is shared with every other user of
:mod:`csv` in the server — and a field longer than ``max_cell_chars`` is refused by this
module's own check first.

Aligned text is split at the character positions that are blank on *every* line (runs of at
least two), so a value with a single space ("Coca Cola 330ml", "2026-11-01 10:00") stays one
cell and an empty cell is still empty. Chinese characters take two columns on a terminal; a
file padded that way is tried with display widths when character positions do not line up.
A text with neither is refused with "delimiter not detected".
"""

from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Iterator

import pandas as pd

from core.importing.issues import ImportFileError
from core.importing.limits import Budget

DELIMITERS = (",", "\t", ";", "|")
SNIFF_LINES = 50
MIN_GAP = 2  # spaces between aligned columns
_WORDS = re.compile(r"\S+")
_GAP_SPLIT = re.compile(r"\s{2,}")
_RULER = re.compile(r"^[\s\-=_+|]+$")  # "-----  ----" under a header
_FILL = "\x00"  # stands for the second column of a wide character


def head_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]`` without splitting a 20 MB file to look at its top: split
    a growing prefix until it holds two lines more than wanted (a prefix cut inside a
    ``\r\n`` only affects its last line)."""
    size = 8192
    while True:
        lines = text[:size].splitlines()
        if len(lines) >= count + 2 or size >= len(text):
            return lines[:count]
        size *= 4


def check_head(name: str, text: str, budget: Budget) -> list[str]:
    """The first non-blank lines, refused if one is longer than a line may be."""
    lines = head_lines(text, SNIFF_LINES)
    for number, line in enumerate(lines, start=1):
        if len(line) > budget.limits.max_line_chars:
            raise ImportFileError("hf.line_too_long", name, row=number, chars=len(line),
                                  limit=budget.limits.max_line_chars)
    return [line for line in lines if line.strip()]


def sniff_delimiter(sample: list[str]) -> str | None:
    """The candidate delimiter that splits the header and most sample lines into the same
    number (>1) of fields, or None when none does.

    ``csv.Sniffer`` guesses from character frequencies and is easily fooled by commas inside
    addresses; counting fields per line with a real CSV parser is not. The header must split
    too: an aligned report with "1,200.00" amounts has commas in its rows, never in its header.
    """
    best, best_score = None, (0.0, 0)
    for sep in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=sep)]
        except csv.Error:  # a quoted field longer than csv's own limit: not this delimiter's file
            continue
        if not counts or counts[0] < 2:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score > best_score:
            best, best_score = sep, score
    return best


def _lines(name: str, text: str, budget: Budget, consumed: list[int]) -> Iterator[str]:
    """The physical lines of ``text`` (``\n``, ``\r\n`` or ``\r``), each checked against the
    line limit; ``consumed[0]`` counts the characters handed out since the caller reset it."""
    limit = budget.limits.max_line_chars
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > limit + 2:  # + the line break
            raise ImportFileError("hf.line_too_long", name, row=number, chars=len(line.rstrip("\r\n")), limit=limit)
        consumed[0] += len(line)
        yield line


def grid(records: list[list[str]]) -> pd.DataFrame:
    """Records of unequal length as one text table, short rows padded with ''."""
    width = max((len(r) for r in records), default=0)
    return pd.DataFrame([r + [""] * (width - len(r)) if len(r) < width else r for r in records], dtype=str)


def parse_delimited(name: str, text: str, sep: str, budget: Budget) -> pd.DataFrame:
    """The cells of ``text`` split at ``sep`` (RFC 4180 quoting) as a text table, within the
    limits: pandas when a cheap measurement proves the file fits, else record by record."""
    limits = budget.limits
    lines = text.split("\n")
    if (len(lines) <= limits.max_rows + 1 and max(map(len, lines)) <= limits.max_line_chars + 1
            and (width := max(line.count(sep) for line in lines) + 1) <= limits.max_columns
            and len(lines) * width <= limits.max_cells):
        del lines
        frame = _read_csv(name, text, sep, width)
        _check_cells(frame, budget)
        return frame
    del lines
    return grid(_parse_records(name, text, sep, budget))


def _read_csv(name: str, text: str, sep: str, width: int) -> pd.DataFrame:
    """pandas' C parser with the width known (each line has at most ``width`` fields)."""
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=list(range(width)), dtype=str,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c")
    except pd.errors.ParserError as exc:
        raise ImportFileError("malformed", name, detail=str(exc).strip()) from None
    except pd.errors.EmptyDataError:
        raise ImportFileError("empty", name) from None
    return frame.fillna("")


def _check_cells(frame: pd.DataFrame, budget: Budget) -> None:
    """Refuse the first (by column) cell longer than the limit, naming its row and column."""
    for position, column in enumerate(frame.columns, start=1):
        lengths = frame[column].str.len()
        if len(lengths) and lengths.max() > budget.limits.max_cell_chars:
            row = int(lengths.idxmax())
            budget.cell_text(frame[column].iloc[row], row + 1, position)


def _parse_records(name: str, text: str, sep: str, budget: Budget) -> list[list[str]]:
    """Records one by one with the :mod:`csv` module, each checked as it is read."""
    max_cell = budget.limits.max_cell_chars
    consumed = [0]
    reader = csv.reader(_lines(name, text, budget, consumed), delimiter=sep)
    rows: list[list[str]] = []
    try:
        for record in reader:
            budget.row(len(record))
            if consumed[0] > max_cell:  # only a record this long can hold a cell this long
                for column, cell in enumerate(record, start=1):
                    budget.cell_text(cell, budget.rows, column)
            consumed[0] = 0
            rows.append(record or [""])
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFileError("hf.field_too_long", name, row=budget.rows + 1, limit=max_cell) from None
        raise ImportFileError("malformed", name, detail=f"row {reader.line_num}: {exc}") from None
    return rows


# --- whitespace-aligned columns ----------------------------------------------------------------


@functools.cache
def _wide_table() -> dict[int, str]:
    """str.translate table doubling every East Asian wide/full-width character of the BMP."""
    return {cp: chr(cp) + _FILL for cp in range(0x1100, 0x10000)
            if unicodedata.east_asian_width(chr(cp)) in ("W", "F")}


def _cuts(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each column: the spans between runs of ≥ MIN_GAP positions that are
    blank on every line."""
    width = max(len(line) for line in lines)
    occupied = bytearray(width)
    for line in lines:
        for word in _WORDS.finditer(line):
            occupied[word.start():word.end()] = b"\x01" * (word.end() - word.start())
    spans, start, blank = [], None, 0
    for pos, used in enumerate(occupied):
        if used:
            if start is None:
                start = pos
            elif blank >= MIN_GAP:
                spans.append((start, pos - blank))
                start = pos
            blank = 0
        else:
            blank += 1
    if start is not None:
        spans.append((start, width - blank))
    return spans


def _split_aligned(lines: list[str]) -> list[list[str]] | None:
    """``lines`` cut into the aligned columns, or None when the header's own words (split on
    two or more spaces) do not match the columns — the text is not aligned."""
    spans = _cuts(lines)
    header_words = _GAP_SPLIT.split(lines[0].strip())
    if len(spans) < 2 or len(spans) != len(header_words):
        return None
    bounds = [(spans[i][0] if i else 0, spans[i + 1][0] if i + 1 < len(spans) else None) for i in range(len(spans))]
    return [[line[a:b].replace(_FILL, "").strip() for a, b in bounds] for line in lines]


def parse_aligned(name: str, text: str, budget: Budget) -> pd.DataFrame | None:
    """Rows of a whitespace-aligned text, or None if the columns do not line up.

    The first line with words is the header (row 1); later blank lines and ruler lines
    (``-----  ---``) are kept as blank rows, so row numbers count the file's lines from there.
    """
    raw = text.expandtabs(8).splitlines()
    lines = [line.rstrip() for line in raw]
    for number, line in enumerate(lines, start=1):
        if len(line) > budget.limits.max_line_chars:
            raise ImportFileError("hf.line_too_long", name, row=number, chars=len(line),
                                  limit=budget.limits.max_line_chars)
    content = [i for i, line in enumerate(lines) if line.strip() and not _RULER.match(line)]
    if len(content) < 2:
        return None
    body = [lines[i] for i in content]
    cells = _split_aligned(body)
    if cells is None and any(ord(ch) >= 0x1100 for line in body[:SNIFF_LINES] for ch in line):
        cells = _split_aligned([line.translate(_wide_table()) for line in body])
    if cells is None:
        return None
    width = len(cells[0])
    by_line = dict(zip(content, cells, strict=True))
    rows: list[list[str]] = []
    for i in range(content[0], len(lines)):
        row = by_line.get(i, [""] * width)
        budget.row(width)
        rows.append(row)
    return grid(rows)
