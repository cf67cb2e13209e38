"""The accountant's daily journal (issue 21): the finance views' day × channel figures turned
into balanced double-entry vouchers, and the voucher-file layouts accounting software imports.

Pure: a DataFrame of whole cents in, DataFrames out. Per day, one voucher per kind, one pair of
entries per channel — every pair debits and credits the same amount, so every voucher balances
to the cent by construction (:func:`unbalanced` checks it anyway):

| voucher | debit | credit | amount (per channel and day) |
| --- | --- | --- | --- |
| ``sales`` | receivable 应收账款 | revenue 主营业务收入 | net sales (after discounts, with shipping) |
| ``refunds`` | revenue | receivable | refunds paid |
| ``cogs`` | cogs 主营业务成本 | inventory 库存商品 | cost of goods shipped less goods restocked |
| ``settlement`` | bank 银行存款 | receivable | net received from the statements |
| ``settlement`` | fees 销售费用 | receivable | fees and commissions the platform kept |

A negative amount (more restocked than shipped, a statement day of refunds) swaps the sides.
The OMS keeps no sales tax, so nothing is booked to 2221 应交税费: the revenue is the price.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping

import pandas as pd

from core.domain.money import from_cents

ENTRIES = ("receivable", "revenue", "cogs", "inventory", "fees", "bank", "cash")
DEFAULT_ACCOUNTS: dict[str, tuple[str, str]] = {
    "receivable": ("1122", "应收账款"),
    "revenue": ("6001", "主营业务收入"),
    "cogs": ("6401", "主营业务成本"),
    "inventory": ("1405", "库存商品"),
    "fees": ("6601", "销售费用"),
    "bank": ("1002", "银行存款"),
    "cash": ("1001", "库存现金"),
}
# Money that reaches the shop without a platform's statement: cash at the till and bank
# transfers (and the refunds paid back the same way) settle the receivable on the day they were
# recorded; every other method is settled by its statement (the "settlement" voucher).
DIRECT_METHODS = {"cash": "cash", "bank_transfer": "bank"}  # payment method → account entry
# (voucher kind, measure of the finance views, debit entry, credit entry) in voucher order
POSTINGS: tuple[tuple[str, str, str, str], ...] = (
    ("sales", "net_sales", "receivable", "revenue"),
    ("refunds", "refunds", "revenue", "receivable"),
    ("cogs", "cogs", "cogs", "inventory"),
    ("settlement", "net_received", "bank", "receivable"),
    ("settlement", "fees", "fees", "receivable"),
    ("receipts", "cash_received", "cash", "receivable"),
    ("receipts", "bank_received", "bank", "receivable"),
    ("receipts", "cash_refunded", "receivable", "cash"),
    ("receipts", "bank_refunded", "receivable", "bank"),
)
VOUCHER_KINDS = ("sales", "refunds", "cogs", "settlement", "receipts")
DIRECT_MEASURES = ("cash_received", "bank_received", "cash_refunded", "bank_refunded")
LINE_COLUMNS = ["day", "voucher", "kind", "channel", "entry", "debit", "credit"]
LAYOUTS = ("generic_csv", "generic_xlsx", "kingdee", "yonyou")
Summary = Callable[[str, str, dt.date], str]  # (voucher kind, channel, day) → 摘要
MAX_CODE, MAX_NAME = 20, 60


def journal_lines(daily: pd.DataFrame) -> pd.DataFrame:
    """:data:`LINE_COLUMNS` for ``daily`` (the finance views' ``day, channel, <measures>`` in
    cents): vouchers numbered 1, 2, … per month in day and kind order (凭证号 restart monthly as
    in 金蝶 and 用友); debit and credit in cents, one of them 0."""
    rows: list[tuple[object, ...]] = []
    for day, of_day in daily.sort_values(["day", "channel"]).groupby("day", sort=True):
        for kind in VOUCHER_KINDS:
            for channel, figures in zip(of_day["channel"], of_day.to_dict("records"), strict=True):
                for posting_kind, measure, debit, credit in POSTINGS:
                    amount = int(figures.get(measure) or 0)  # a measure a day lacks moved nothing
                    if posting_kind != kind or amount == 0:
                        continue
                    if amount < 0:
                        debit, credit, amount = credit, debit, -amount
                    rows.append((day, kind, channel, debit, amount, 0))
                    rows.append((day, kind, channel, credit, 0, amount))
    lines = pd.DataFrame(rows, columns=["day", "kind", "channel", "entry", "debit", "credit"])
    if lines.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("voucher", "debit", "credit") else object)
                             for c in LINE_COLUMNS})
    vouchers = lines[["day", "kind"]].drop_duplicates()
    month = vouchers["day"].map(lambda d: (d.year, d.month))
    vouchers = vouchers.assign(voucher=vouchers.groupby(month).cumcount() + 1)
    return lines.merge(vouchers, on=["day", "kind"])[LINE_COLUMNS]


def unbalanced(lines: pd.DataFrame) -> list[tuple[dt.date, int]]:
    """The (day, voucher) whose debits and credits differ — empty for a journal built here."""
    sums = lines.groupby(["day", "voucher"])[["debit", "credit"]].sum()
    return [(day, int(no)) for (day, no), row in sums.iterrows() if row["debit"] != row["credit"]]


def day_checksums(lines: pd.DataFrame, days: list[dt.date]) -> dict[dt.date, str]:
    """A SHA-256 per day of what the day's journal books (kind, channel, entry, amounts): an
    exported day whose checksum differs later has changed money (a late shipment, a new
    refund). The account mapping is not part of it — re-mapping is not a change of the books."""
    out: dict[dt.date, str] = {}
    by_day = {day: frame for day, frame in lines.groupby("day")}
    for day in days:
        frame = by_day.get(day)
        rows = [] if frame is None else sorted(
            (str(k), str(c), str(e), int(d), int(cr)) for k, c, e, d, cr in
            zip(frame["kind"], frame["channel"], frame["entry"], frame["debit"], frame["credit"], strict=True))
        out[day] = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()
    return out


def _yuan(cents: pd.Series) -> pd.Series:
    """Whole cents as Decimal yuan with two places: exact in the CSV's text, a number cell in XLSX."""
    return cents.map(from_cents)


def voucher_file(lines: pd.DataFrame, layout: str, accounts: Mapping[str, tuple[str, str]],
                 summary: Summary, preparer: str) -> pd.DataFrame:
    """The journal as the rows of one layout's file.

    ``generic_*``: one row per entry with day, voucher, voucher kind, channel, entry, account, amounts.
    ``kingdee`` (金蝶 KIS/K3/云星空 凭证引入) and ``yonyou`` (用友 T3/T+/U8 凭证导入): the
    Chinese column heads those import templates use, voucher word 记, amounts in yuan with two
    places. ``summary(kind, channel, day)`` writes the 摘要 in the shop's language."""
    code = lines["entry"].map(lambda e: accounts[e][0])
    name = lines["entry"].map(lambda e: accounts[e][1])
    memo = [summary(k, c, d) for k, c, d in zip(lines["kind"], lines["channel"], lines["day"], strict=True)]
    debit, credit = _yuan(lines["debit"]), _yuan(lines["credit"])
    day = lines["day"].map(lambda d: d.isoformat())
    entry_no = lines.groupby(["day", "voucher"]).cumcount() + 1
    if layout in ("generic_csv", "generic_xlsx"):
        return pd.DataFrame({"day": day, "voucher": lines["voucher"], "line": entry_no, "voucher_kind": lines["kind"],
                             "channel": lines["channel"], "entry": lines["entry"], "account_code": code,
                             "account_name": name, "summary": memo, "debit": debit, "credit": credit})
    period = lines["day"].map(lambda d: d.month)
    if layout == "kingdee":
        return pd.DataFrame({"凭证日期": day, "会计年度": lines["day"].map(lambda d: d.year), "会计期间": period,
                             "凭证字": "记", "凭证号": lines["voucher"], "分录序号": entry_no, "摘要": memo,
                             "科目代码": code, "科目名称": name, "币别": "人民币",
                             "原币金额": _yuan(lines["debit"] + lines["credit"]), "借方金额": debit, "贷方金额": credit, "制单人": preparer})
    if layout == "yonyou":
        return pd.DataFrame({"制单日期": day, "凭证类别": "记", "凭证编号": lines["voucher"], "行号": entry_no,
                             "摘要": memo, "科目编码": code, "科目名称": name, "借方金额": debit, "贷方金额": credit,
                             "制单人": preparer})
    raise ValueError(layout)
