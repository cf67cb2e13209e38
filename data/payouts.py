"""Generated payout statements with planted differences (issue 21): the tests and
bench/finance.py build a statement from the payments in the database, plant one of each
difference a real statement has, and check that matching finds every one.

A statement pays every payment and refund out one day later at a fee of ``fee_rate``, naming
it by the provider's transaction number and the order number — except one line in ten, which
names nothing and must be matched by amount and date. Planted, on payments old enough to be
due: a **missing payout** (a payment left out), a **short payment** (a line 1 % short), a
**double payout** (a line paid twice), a **refund without payout** (a refund left out) and a
**fee change** (one line charged 1 % instead of the usual rate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATEMENT_COLUMNS = ["settled_at", "channel", "kind", "provider_ref", "order_ref", "amount", "fee", "commission",
                     "net", "note"]
PLANTED = ("missing_payout", "short_payment", "double_payout", "refund_without_payout", "fee_difference")


def statement(payments: pd.DataFrame, channel: str, *, fee_rate: float = 0.006, seed: int = 7
              ) -> tuple[pd.DataFrame, dict[str, str]]:
    """``payments``: ``[kind, provider_ref, order_number, amount (cents), at]`` of one channel,
    at least 20 payments and one refund, oldest first. Returns the statement (generic CSV
    columns, amounts in cents as integers) and ``{difference kind: order number}`` planted."""
    rng = np.random.default_rng(seed)
    frame = payments.reset_index(drop=True)
    early = frame.index[frame["at"] <= frame["at"].quantile(0.5)]
    pays = [i for i in early if frame.at[i, "kind"] == "payment"]
    refunds = [i for i in frame.index if frame.at[i, "kind"] == "refund"]
    missing, short, double, fee_change = (int(i) for i in rng.choice(pays, 4, replace=False))
    refund_gone = int(refunds[0])
    keep = frame.drop(index=[missing, refund_gone])
    amount = keep["amount"].to_numpy(dtype=np.int64).copy()
    amount[keep.index.get_loc(short)] -= max(1, amount[keep.index.get_loc(short)] // 100)
    is_pay = keep["kind"].to_numpy() == "payment"
    fee = np.where(is_pay, np.rint(amount * fee_rate), 0).astype(np.int64)
    fee[keep.index.get_loc(fee_change)] = int(round(amount[keep.index.get_loc(fee_change)] * 0.01))
    anonymous = rng.random(len(keep)) < 0.1
    protected = np.isin(keep.index, [short, double, fee_change])
    anonymous &= ~protected
    lines = pd.DataFrame({
        "settled_at": (keep["at"] + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "channel": channel, "kind": keep["kind"].to_numpy(),
        "provider_ref": np.where(anonymous, None, keep["provider_ref"].to_numpy()),
        "order_ref": np.where(anonymous, None, keep["order_number"].to_numpy()),
        "amount": amount, "fee": fee, "commission": 0,
        "net": np.where(is_pay, amount - fee, -amount), "note": None,
    })
    again = lines.iloc[[keep.index.get_loc(double)]].assign(provider_ref=None)
    again["settled_at"] = (pd.to_datetime(again["settled_at"]) + pd.Timedelta(days=2)).dt.strftime("%Y-%m-%d %H:%M:%S")
    lines = pd.concat([lines, again], ignore_index=True)[STATEMENT_COLUMNS]
    number = frame["order_number"]
    planted = {"missing_payout": number[missing], "short_payment": number[short], "double_payout": number[double],
               "refund_without_payout": number[refund_gone], "fee_difference": number[fee_change]}
    return lines, planted


def as_csv(lines: pd.DataFrame) -> bytes:
    """The statement as the generic settlements CSV (amounts in yuan)."""
    out = lines.copy()
    for column in ("amount", "fee", "commission", "net"):
        out[column] = [f"{int(c) / 100:.2f}" for c in out[column]]
    return out.to_csv(index=False).encode("utf-8")
