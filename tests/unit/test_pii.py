"""Masking of personal data and neutralising of spreadsheet formulas (pure functions)."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from core import pii
from core.permissions import Actor


@pytest.mark.parametrize(("raw", "masked"), [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678", "138****5678"),
    ("021-5555123", "****23"),
    ("138****5678", "138****5678"),  # already masked: unchanged
    ("12", "****"),
    ("", ""),
    (None, None),
])
def test_mask_phone(raw: object, masked: object) -> None:
    assert pii.mask_phone(raw) == masked


def test_mask_address_and_email() -> None:
    assert pii.mask_address("世纪大道 100 号 3 栋 1201") == "世纪****"
    assert pii.mask_address(pii.mask_address("世纪大道 100 号")) == "世纪****"
    assert pii.mask_address(None) is None
    assert pii.mask_email("zhang.san@example.com") == "z****@example.com"
    assert pii.mask_email("no-at-sign") == "no-at-sign"


def test_mask_frame_only_for_roles_without_pii_permission() -> None:
    frame = pd.DataFrame({"number": ["SO1"], "phone": ["13812345678"], "address": ["世纪大道 100 号"],
                          "city": ["上海市"]})
    for role in ("warehouse", "buyer"):
        out = pii.mask_frame(frame, Actor("x", role))
        assert out.loc[0, "phone"] == "138****5678" and out.loc[0, "address"] == "世纪****"
        assert out.loc[0, "city"] == "上海市" and out.loc[0, "number"] == "SO1"
    for role in ("clerk", "service", "manager", "admin"):
        assert pii.mask_frame(frame, Actor("x", role)).loc[0, "phone"] == "13812345678"
    assert pii.mask_frame(frame, None).loc[0, "phone"] == "138****5678"  # no actor: fail closed
    assert frame.loc[0, "phone"] == "13812345678"  # the input frame is never modified


def test_mask_frame_by_displayed_header() -> None:
    shown = pd.DataFrame({"手机号": ["13812345678"], "订单号": ["SO1"]})
    out = pii.mask_frame(shown, Actor("x", "warehouse"), {"手机号": "phone"})
    assert out["手机号"].tolist() == ["138****5678"] and out["订单号"].tolist() == ["SO1"]


def test_mask_record() -> None:
    header = {"number": "SO1", "ship_phone": "13812345678", "ship_address": "世纪大道 100 号"}
    assert pii.mask_record(header, Actor("w", "warehouse")) == {
        "number": "SO1", "ship_phone": "138****5678", "ship_address": "世纪****"}
    assert pii.mask_record(header, Actor("s", "service")) == header


def test_neutralise_formulas() -> None:
    frame = pd.DataFrame({
        "name": ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "张三"],
        "qty": [1, -2, 3, 4, 5, 6],
    })
    out = pii.neutralise_formulas(frame)
    assert out["name"].tolist() == ["'=HYPERLINK(\"http://evil\",\"x\")", "'+cmd|' /C calc'!A0", "'-2+3",
                                    "'@SUM(A1)", "'\t=1", "张三"]
    assert out["qty"].tolist() == [1, -2, 3, 4, 5, 6]  # numbers, even negative ones, are data
    assert frame["name"][0].startswith("=")  # the input frame is never modified


def test_csv_export_neutralises_formulas() -> None:
    from core.webui import to_csv_bytes

    text = to_csv_bytes(pd.DataFrame({"customer": ["=1+1", "李四"], "total": [-5, 7]})).decode("utf-8-sig")
    assert text.splitlines() == ["customer,total", "'=1+1,-5", "李四,7"]


def test_xlsx_export_stores_formulas_as_text() -> None:
    from core.webui import to_xlsx_bytes

    data = to_xlsx_bytes(pd.DataFrame({"customer": ['=HYPERLINK("http://evil","x")', "@A1", "王五"],
                                       "total": [1, -2, 3]}), "orders")
    sheet = openpyxl.load_workbook(io.BytesIO(data))["orders"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://evil","x")', "@A1", "王五"]
    assert [c.data_type for c in cells] == ["s", "s", "s"]  # text, never a formula
    assert [c.quotePrefix for c in cells] == [True, True, False]
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [1, -2, 3]
