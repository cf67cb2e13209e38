"""XLSX uploads read as hostile input: the zip is checked before anything is expanded, XML
never carries a DTD or entities, and the sheet is streamed under row, column, cell and time
limits (:mod:`core.importing.limits`).

Three attacks this stops, each measured before the fix (issue "Hard edges"):

* **Zip bomb.** A 1.3 MB XLSX whose sheet inflates to gigabytes took 2.2 GB and 164 s. The
  zip directory's declared sizes are checked first (total, and the compression ratio of each
  member), then every member is inflated in 64 KB chunks counting the actual bytes, so a
  member that lies about its size, or inflates too far, is refused after a bounded amount of
  work — before openpyxl sees the file.
* **XML entities** ("billion laughs", external entities). openpyxl parses through
  ``defusedxml`` when it is installed (it is pinned in requirements.txt), which refuses
  entity declarations; a ``<!DOCTYPE`` anywhere in an XML member is refused explicitly here
  as well, so the guard does not depend on an optional import.
* **Lying or missing dimensions.** A sheet that declares ``A1:XFD1048576`` would make
  openpyxl pad every row to 16 384 columns and a million rows; the declared dimensions are
  ignored and only cells that exist are read. A sheet *without* ``<dimension>`` made openpyxl
  3.1.5 parse the whole sheet while opening the workbook (its look-up waits for the *end* of
  ``<sheetData>``), before any row limit could act: 60 MB of rows took 40 s to open. The
  look-up is replaced by one that stops at the *start* of ``<sheetData>`` (see
  :func:`_size_from_head`).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from xml.etree.ElementTree import ParseError

from core.importing.issues import ImportFileError
from core.importing.limits import Budget, ReadLimits

CHUNK = 64 * 1024
# "<!DOCTYPE" as UTF-8 and as UTF-16 (either byte order): XML may be stored in either.
_DTD_MARKERS = (b"<!DOCTYPE", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))
_MARKER_TAIL = max(len(m) for m in _DTD_MARKERS) - 1


def check_zip(name: str, data: bytes, limits: ReadLimits) -> None:
    """Refuse a zip that would expand beyond the limits, or an XML member with a DTD, by
    inflating each member once in chunks (at most ``max_unzipped_bytes`` in all)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise ImportFileError("bad_xlsx", name, detail=str(exc)) from None
    if len(members) > limits.max_zip_members:
        raise ImportFileError("hf.xlsx_members", name, members=len(members), limit=limits.max_zip_members)
    declared = sum(m.file_size for m in members)
    if declared > limits.max_unzipped_bytes:
        raise ImportFileError("hf.xlsx_unzipped", name, size_mb=_mb(declared), limit_mb=_mb(limits.max_unzipped_bytes))
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if strings > limits.max_shared_strings_bytes:  # read whole into memory when the workbook opens
        raise ImportFileError("hf.xlsx_strings", name, size_mb=_mb(strings), limit_mb=_mb(limits.max_shared_strings_bytes))
    for member in members:
        if member.file_size > limits.ratio_grace_bytes and member.file_size > limits.max_ratio * max(member.compress_size, 1):
            raise ImportFileError("hf.xlsx_bomb", name, member=member.filename, ratio=_ratio(member.file_size, member.compress_size),
                                  limit=f"{limits.max_ratio:g}")
    total = 0
    with archive:
        for member in members:
            total = _inflate(name, archive, member, total, limits)


def _inflate(name: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo, total: int, limits: ReadLimits) -> int:
    """Inflate one member, counting bytes against its declared size, the ratio and the total;
    returns the new total. XML members are scanned for a DTD on the way."""
    xml = member.filename.endswith((".xml", ".rels", ".vml"))
    size, tail = 0, b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                total += len(chunk)
                if size > member.file_size or (size > limits.ratio_grace_bytes
                                                and size > limits.max_ratio * max(member.compress_size, 1)):
                    raise ImportFileError("hf.xlsx_bomb", name, member=member.filename,
                                          ratio=_ratio(size, member.compress_size), limit=f"{limits.max_ratio:g}")
                if total > limits.max_unzipped_bytes:
                    raise ImportFileError("hf.xlsx_unzipped", name, size_mb=_mb(total),
                                          limit_mb=_mb(limits.max_unzipped_bytes))
                if xml:
                    window = tail + chunk
                    if any(marker in window for marker in _DTD_MARKERS):
                        raise ImportFileError("hf.xlsx_dtd", name, member=member.filename)
                    tail = window[-_MARKER_TAIL:]
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise ImportFileError("bad_xlsx", name, detail=f"{member.filename}: {exc}") from None
    return total


def _mb(size: int) -> str:
    return f"{size / 1048576:.0f}"


def _ratio(size: int, compressed: int) -> str:
    return f"{size / max(compressed, 1):.0f}"


def cell_text(value: object) -> str:
    """A cell as the text a user sees (whole floats without ``.0``, dates in ISO form)."""
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


def _size_from_head(sheet: object) -> None:
    """``ReadOnlyWorksheet._get_size`` reading only the sheet's head: ``<dimension>`` comes
    before ``<sheetData>`` in the schema, so the look-up stops at the start of ``<sheetData>``
    (openpyxl's own waits for its end, parsing every row). Same result, bounded work."""
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    source = sheet._get_source()  # type: ignore[attr-defined]
    try:
        for _event, element in iterparse(source, events=("start",)):
            if element.tag == f"{{{SHEET_MAIN_NS}}}dimension" and element.get("ref"):
                sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row = (  # type: ignore[attr-defined]
                    range_boundaries(element.get("ref")))
                return
            if element.tag == f"{{{SHEET_MAIN_NS}}}sheetData":
                return
    finally:
        source.close()


def read_rows(name: str, data: bytes, sheet: str | None, limits: ReadLimits) -> list[list[str]]:
    """The cells of ``sheet`` (default: the first) as text, row by row, after
    :func:`check_zip`; every failure of the parser on a damaged or hostile file becomes an
    :class:`ImportFileError` with its own code."""
    import openpyxl  # only XLSX imports pay for it
    from defusedxml import DefusedXmlException
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    ReadOnlyWorksheet._get_size = _size_from_head  # idempotent

    check_zip(name, data, limits)
    budget = Budget(name, limits)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except DefusedXmlException:
        raise ImportFileError("hf.xlsx_dtd", name, member="?") from None
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, ParseError) as exc:
        raise ImportFileError("bad_xlsx", name, detail=str(exc)) from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise ImportFileError("no_sheet", name, sheet=sheet, sheets=", ".join(book.sheetnames))
        ws = book[sheet] if sheet else book.worksheets[0]
        ws.reset_dimensions()  # the declared A1:XFD1048576 would pad every row: read what exists
        rows: list[list[str]] = []
        for values in ws.iter_rows(values_only=True):
            budget.row(len(values))
            texts = [cell_text(v) for v in values]
            longest = max(texts, key=len, default="")
            if len(longest) > limits.max_cell_chars:
                budget.cell_text(longest, budget.rows, texts.index(longest) + 1)
            rows.append(texts)
        return rows
    except DefusedXmlException:
        raise ImportFileError("hf.xlsx_dtd", name, member="?") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, AttributeError, ParseError) as exc:
        raise ImportFileError("bad_xlsx", name, detail=str(exc)) from None
    finally:
        book.close()
