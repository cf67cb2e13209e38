"""Builders of hostile and awkward upload files, shared by the reader, service and page tests
and by ``bench/hostile_files.py``. Everything is generated in memory in well under a second.

The zip bomb is written by hand (local headers, central directory) so that a 5 MB file that
inflates to ~2 GB costs nothing to build: a megabyte of the sheet's repeated rows is one
deflate segment, compressed once after a full flush (which resets the dictionary) and repeated.
Its CRC is the true one, so a reader without limits inflates and parses the whole member.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import openpyxl

MB = 1024 * 1024
ENTITY_DOCTYPE = b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [<!ENTITY a "AAAAAAAAAA">' \
                 b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
POS_REPORT = """\
Date        Item                 Qty    Amount   Cashier
----------  -------------------  ---  --------  -------
2026-11-01  Coca Cola 330ml        2      6.00   王芳
2026-11-01  薯片 大包                1     12.50

2026-11-02  Water                 12     24.00   Li Lei
"""
PROSE = "Dear shop owner,\nplease find our sales below.\nWe sold 12 items yesterday and 7 today.\nRegards\n"


def workbook(rows: list[list[object]]) -> bytes:
    """A plain XLSX with ``rows`` on its first sheet."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already-deflated members: (name, deflated bytes, crc, declared size)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, packed, crc, size in entries:
        offset = out.tell()
        raw = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(packed), size, len(raw), 0))
        out.write(raw + packed)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(packed), size,
                                    len(raw), 0, 0, 0, 0, 0, offset) + raw)
    start = out.tell()
    out.write(directory.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory.getvalue()),
                          start, 0))
    return out.getvalue()


def zip_bomb(inflated_mb: int = 2000, declared_mb: int | None = None) -> bytes:
    """A real XLSX whose sheet holds ``inflated_mb`` of one-cell rows (``<row><c><v>1</v></c>
    </row>`` repeated, ~40 000 rows per MB): ~2.5 KB per MB compressed (2000 MB → a ~5 MB file).
    ``declared_mb`` (default: the truth) is the size written in the zip directory — a smaller
    one is a bomb that lies about itself."""
    members = _members(workbook([["sku", "qty"], ["A-1", 1]]))
    sheet = "xl/worksheets/sheet1.xml"
    xml = re.sub(rb"<dimension [^>]*/>", b"", members[sheet])  # no declared size to stop at
    head, tail = xml.split(b"</sheetData>")
    tail = b"</sheetData>" + tail
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    unit = b"<row><c><v>1</v></c></row>"
    chunk = unit * (MB // len(unit))
    segment = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.compress(tail) + packer.flush()
    size = len(head) + inflated_mb * len(chunk) + len(tail)
    declared = size if declared_mb is None else declared_mb * MB
    entries = [(name, _deflate(data), zlib.crc32(data), len(data)) for name, data in members.items() if name != sheet]
    crc = zlib.crc32(head)
    for _ in range(inflated_mb):
        crc = zlib.crc32(chunk, crc)
    entries.append((sheet, start + segment * inflated_mb + end, zlib.crc32(tail, crc), min(declared, 0xFFFFFFFE)))
    return _zip(entries)


def _with_sheet_text(rows: list[list[object]], old: bytes, new: bytes, prefix: bytes = b"") -> bytes:
    """An XLSX of ``rows`` whose first sheet's XML has ``old`` replaced by ``new`` and
    ``prefix`` put in front — what a hand-made (or hostile) file can hold that openpyxl would
    never write."""
    members = _members(workbook(rows))
    sheet = "xl/worksheets/sheet1.xml"
    assert old in members[sheet]
    members[sheet] = prefix + members[sheet].replace(old, new)
    return _zip([(name, _deflate(data), zlib.crc32(data), len(data)) for name, data in members.items()])


def xlsx_with_entities() -> bytes:
    """An XLSX whose sheet declares entities (a small "billion laughs") and uses one in a cell."""
    return _with_sheet_text([["sku", "note"], ["A-1", "PLACEHOLDER"]], b"PLACEHOLDER", b"&b;", ENTITY_DOCTYPE)


def xlsx_with_long_cell(chars: int) -> bytes:
    """An XLSX with a ``chars``-long text cell at B2 (openpyxl itself cuts text at 32 767)."""
    return _with_sheet_text([["sku", "note"], ["A-1", "PLACEHOLDER"]], b"PLACEHOLDER", b"z" * chars)


def xlsx_with_shared_strings(count: int) -> bytes:
    """A plain XLSX plus an ``xl/sharedStrings.xml`` of ``count`` distinct strings (~40 bytes
    of XML each) — the part openpyxl reads whole when it opens a workbook."""
    members = _members(workbook([["sku", "qty"], ["A-1", 1]]))
    items = b"".join(b"<si><t>customer address %07d</t></si>" % i for i in range(count))
    members["xl/sharedStrings.xml"] = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                       b'count="%d" uniqueCount="%d">' % (count, count) + items + b"</sst>")
    return _zip([(name, _deflate(data), zlib.crc32(data), len(data)) for name, data in members.items()])


def wide_csv(columns: int = 100_000) -> bytes:
    """A header and one row of ``columns`` cells each."""
    return (",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" * columns) + "\n").encode()


def long_field_csv(size: int = 5 * MB, quoted_lines: bool = False) -> bytes:
    """One order row whose note holds ``size`` characters: one long line, or (``quoted_lines``)
    a quoted field spanning many short lines."""
    note = ('"' + "x\n" * (size // 2) + '"') if quoted_lines else "x" * size
    return f"external_ref,sku,qty,note\nE1,A-1,1,{note}\n".encode()
