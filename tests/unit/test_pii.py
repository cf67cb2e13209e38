"""Masking of personal data and neutralising of spreadsheet formulas (pure functions)."""

from __future__ import annotations

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
