"""Reading exports: encodings, delimiters, XLSX, blank rows and spreadsheet row numbers, and
the file-level refusals (each with its own reason code)."""

from __future__ import annotations

import codecs
import io

import openpyxl
import pytest

from core.importing.issues import ImportFileError
from core.importing.reader import SourceFile, read_table, sniff_delimiter

TEXT = "订单编号,收货人姓名,购买数量\nT1,王芳,2\nT2,张伟,1\n"


def _read(data: bytes, name: str = "f.csv", **kw: str) -> object:
    return read_table(SourceFile(name, data), **kw)


@pytest.mark.parametrize("encoded, encoding", [
    (TEXT.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
    (TEXT.encode("gbk"), "gb18030"),
    (TEXT.replace("王芳", "王㐀").encode("gb18030"), "gb18030"),  # a 4-byte GB18030 character
    (TEXT.encode("utf-16"), "utf-16"),  # Excel's "Unicode text" (BOM)
])
def test_encodings_are_recognised(encoded: bytes, encoding: str) -> None:
    table = _read(encoded)
    assert table.encoding == encoding
    assert table.columns == ["订单编号", "收货人姓名", "购买数量"]
    assert table.frame["收货人姓名"].tolist()[1] == "张伟"


def test_latin1_text_is_refused_not_misread_as_chinese() -> None:
    data = "name,city\nJoão,São Paulo\nJosé,Ribeirão Preto\n".encode("latin-1")
    with pytest.raises(ImportFileError) as caught:
        _read(data)
    assert caught.value.code == "unknown_encoding"
    assert _read(data, encoding="latin-1").frame["city"].tolist() == ["São Paulo", "Ribeirão Preto"]


def test_a_named_encoding_that_does_not_fit_says_where() -> None:
    with pytest.raises(ImportFileError) as caught:
        _read("sku,name\nA-1,王芳\n".encode("gbk"), encoding="utf-8")
    assert caught.value.code == "encoding_mismatch" and caught.value.params["position"] == 13


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_delimiters_are_sniffed(sep: str) -> None:
    text = f'sku{sep}name{sep}qty\nA-1{sep}"Shirt, black"{sep}2\nB-2{sep}Socks{sep}1\n'
    assert sniff_delimiter(text) == sep
    table = _read(text.encode())
    assert table.delimiter == sep and table.frame["qty"].tolist() == ["2", "1"]


def test_blank_rows_are_dropped_but_row_numbers_stay_those_of_the_sheet() -> None:
    data = b"sku,qty\r\nA,1\r\n,\r\n\r\nB,2\r\n,,\r\n"
    table = _read(data)
    assert table.frame.index.tolist() == [2, 5]  # header is row 1; rows 3 and 4 are blank
    assert table.blank_rows == 3  # rows 3, 4 and the ",," tail (its extra empty column is dropped too)
    assert table.columns == ["sku", "qty"]


@pytest.mark.parametrize("data, code", [
    (b"", "empty"),
    (codecs.BOM_UTF8 + b"\r\n", "empty"),
    (b"sku,qty\n", "no_rows"),
    (b"sku,qty\n,\n,\n", "no_rows"),
    (b"sku,sku\nA,1\n", "duplicate_column"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old_excel"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary"),
    (b"PK\x03\x04 not really a zip", "bad_xlsx"),
])
def test_unreadable_files_are_refused_with_a_reason(data: bytes, code: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        _read(data)
    assert caught.value.code == code
    assert caught.value.key == f"imp.file.{code}"


def test_xlsx_rows_keep_their_sheet_numbers_and_values_read_as_text() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["订单号", "联系电话", "订购数量", "京东价"])
    sheet.append(["2837", 13800138000, 2, 79.5])
    sheet.append([])
    sheet.append(["2838", "13900139000", 1, 100.0])
    buffer = io.BytesIO()
    book.save(buffer)
    table = _read(buffer.getvalue(), "jd.xlsx")
    assert table.encoding == "xlsx" and table.delimiter is None
    assert table.frame.index.tolist() == [2, 4]
    assert table.frame.iloc[0].tolist() == ["2837", "13800138000", "2", "79.5"]
    assert table.frame.iloc[1]["京东价"] == "100"
    with pytest.raises(ImportFileError) as caught:
        _read(buffer.getvalue(), "jd.xlsx", sheet="订单")
    assert caught.value.code == "no_sheet"
