"""Every after-sales code has a name in both languages, and the after-sales field-issue
codes are translated with their figures."""

from __future__ import annotations

import pytest

from core import i18n
from core.services import aftersales, outbox, return_policy


@pytest.mark.parametrize(("prefix", "codes"), [
    ("rma_status", aftersales.STATUSES), ("rma_kind", aftersales.KINDS), ("rma_reason", aftersales.REASON_CODES),
    ("rma_condition", aftersales.CONDITIONS), ("rma_resolution", aftersales.RESOLUTIONS),
    ("rma_event", aftersales.EVENTS), ("rma_shipping", return_policy.SHIPPING_POLICIES),
    ("outbox_status", outbox.STATUSES), ("outbox_channel", outbox.CHANNELS),
    ("desk.to", [s for s in aftersales.PERMISSION_FOR_TARGET if s != "inspected"]),
])
def test_every_aftersales_code_has_a_name(prefix: str, codes: tuple[str, ...]) -> None:
    sep = "_" if prefix == "desk.to" else "."
    for lang in i18n.LANGUAGES:
        assert [c for c in codes if not i18n.has_key(f"{prefix}{sep}{c}", lang)] == []


@pytest.mark.parametrize(("code", "params", "zh", "en"), [
    ("issue.rma_over_return", {"n": 2, "shipped": 3, "returned": 1}, "最多还可退 2 件（已发货 3，已退 1）",
     "at most 2 left to return (shipped 3, already returned 1)"),
    ("issue.rma_no_such_line", {"number": "SO1", "line": 9}, "订单 SO1 没有第 9 行", "order SO1 has no line 9"),
    ("issue.rma_between", {"low": 0, "high": 365}, "必须在 0 到 365 之间", "must be between 0 and 365"),
    ("issue.rma_refund_remaining", {"amount": "110.00"}, "订单最多还可退款 110.00",
     "only 110.00 of the order total is left to refund"),
    ("issue.rma_refund_limit", {"amount": "50.00"}, "最多 50.00（系统计算的退款额）；超出需店长操作",
     "at most 50.00 (the computed refund); a manager can refund more"),
    ("issue.lookup_last4", {}, "请输入手机号后 4 位数字", "enter exactly the last 4 digits of the phone"),
])
def test_aftersales_codes_are_translated(code: str, params: dict[str, object], zh: str, en: str) -> None:
    assert i18n.translate(code, "zh", **params) == zh
    assert i18n.translate(code, "en", **params) == en
