"""The journal's arithmetic (core.domain.journal): every voucher balances to the cent, a negative
figure swaps the sides, vouchers are numbered per month, a day's checksum follows its money and
not the account mapping, and the 金蝶 / 用友 layouts carry their column heads and voucher word."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from core.domain import journal

D1, D2, D3 = dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def _daily(rows: list[tuple[dt.date, str, dict[str, int]]]) -> pd.DataFrame:
    measures = ["net_sales", "refunds", "cogs", "net_received", "fees"]
    return pd.DataFrame([{"day": d, "channel": c, **{m: f.get(m, 0) for m in measures}} for d, c, f in rows])


DAILY = _daily([
    (D1, "TMALL", {"net_sales": 10_001, "cogs": 4_999, "net_received": 9_941, "fees": 60}),
    (D2, "TMALL", {"refunds": 3_333, "cogs": -1_250, "net_received": -3_333}),  # a day of returns
    (D2, "WECHAT", {"net_sales": 1, "cogs": 1}),
    (D3, "WECHAT", {}),
])


def test_every_voucher_balances_and_negative_figures_swap_sides() -> None:
    lines = journal.journal_lines(DAILY)
    assert journal.unbalanced(lines) == []
    cogs = lines[(lines["day"] == D2) & (lines["kind"] == "cogs") & (lines["channel"] == "TMALL")]
    assert list(zip(cogs["entry"], cogs["debit"], cogs["credit"], strict=True)) == [
        ("inventory", 1_250, 0), ("cogs", 0, 1_250)]  # restocked goods: back into inventory
    refund_payout = lines[(lines["day"] == D2) & (lines["kind"] == "settlement")]
    assert list(zip(refund_payout["entry"], refund_payout["debit"], refund_payout["credit"], strict=True)) == [
        ("receivable", 3_333, 0), ("bank", 0, 3_333)]
    assert lines["debit"].sum() == lines["credit"].sum()
    assert not (lines["day"] == D3).any()  # a day without money has no voucher


def test_unbalanced_finds_a_voucher_that_does_not_balance() -> None:
    lines = journal.journal_lines(DAILY)
    lines.loc[0, "debit"] += 1
    assert journal.unbalanced(lines) == [(D1, 1)]


def test_vouchers_are_numbered_per_month() -> None:
    lines = journal.journal_lines(DAILY)
    numbers = lines.drop_duplicates(["day", "voucher"])[["day", "kind", "voucher"]]
    assert list(numbers.itertuples(index=False, name=None)) == [
        (D1, "sales", 1), (D1, "cogs", 2), (D1, "settlement", 3),
        (D2, "sales", 1), (D2, "refunds", 2), (D2, "cogs", 3), (D2, "settlement", 4)]


def test_a_days_checksum_follows_its_money() -> None:
    before = journal.day_checksums(journal.journal_lines(DAILY), [D1, D2, D3])
    changed = DAILY.copy()
    changed.loc[1, "refunds"] += 100
    after = journal.day_checksums(journal.journal_lines(changed), [D1, D2, D3])
    assert (before[D1], before[D3]) == (after[D1], after[D3]) and before[D2] != after[D2]


def test_the_kingdee_and_yonyou_layouts() -> None:
    lines = journal.journal_lines(DAILY)
    accounts = dict(journal.DEFAULT_ACCOUNTS)

    def memo(kind: str, channel: str, day: dt.date) -> str:
        return f"{day} {channel} {kind}"

    kingdee = journal.voucher_file(lines, "kingdee", accounts, memo, "boss")
    assert list(kingdee.columns[:9]) == ["凭证日期", "会计年度", "会计期间", "凭证字", "凭证号", "分录序号", "摘要",
                                          "科目代码", "科目名称"]
    first = kingdee.iloc[0]
    assert (first["凭证日期"], first["凭证字"], first["科目代码"], first["科目名称"], first["借方金额"]) == (
        "2026-10-31", "记", "1122", "应收账款", Decimal("100.01"))
    yonyou = journal.voucher_file(lines, "yonyou", accounts, memo, "boss")
    assert {"制单日期", "凭证类别", "凭证编号", "科目编码", "借方金额", "贷方金额"} <= set(yonyou.columns)
    assert yonyou["借方金额"].sum() == yonyou["贷方金额"].sum() == Decimal(int(lines["debit"].sum())).scaleb(-2)
