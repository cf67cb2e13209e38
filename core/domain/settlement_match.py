"""Matching payout statement lines to the payments and refunds they settle (issue 21).

Pure and vectorised (pandas in, pandas out) so a million lines match in seconds
(bench/finance.py). The rules, in order:

1. **By reference.** A line names its money by the provider's transaction number
   (``provider_ref``) or the order (``order_ref``: the OMS number or the channel's reference).
   Either resolves the line to an order; the order's payment rows of the line's kind are paired
   with its lines oldest first. A pair whose amounts differ is a ``short_payment`` or
   ``over_payment``; a line left over when every payment of that order is paired is a
   ``double_payout``.
2. **By amount and date.** Lines that name no known order are paired with the payments still
   unpaired of the same channel, kind and amount, nearest in time, at most ``window_days``
   apart.
3. What is left: a line is an ``unknown_payout``; a payment dated on or before the channel's
   last statement day minus ``window_days`` is a ``missing_payout`` (a refund: a
   ``refund_without_payout``). Later payments are not due yet (receivables).
4. **Fees.** Each channel's usual rate is the median (fee + commission) / amount of its matched
   payment lines, to a basis point; a line more than a cent off that rate is a ``fee_difference``.

Money is whole cents (int64) throughout; days are whole days since 1970-01-01 (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DIFFERENCE_KINDS = ("missing_payout", "refund_without_payout", "unknown_payout", "short_payment", "over_payment",
                    "double_payout", "fee_difference")
DEFAULT_WINDOW_DAYS = 3
MAX_ROUNDS = 20  # amount-and-date pairing rounds; each pairs every line still nearest to a free payment
LINE_COLUMNS = ["id", "channel_id", "kind", "provider_ref", "order_ref", "amount", "fees", "day"]
PAYMENT_COLUMNS = ["id", "order_id", "channel_id", "kind", "provider_ref", "amount", "day"]
ORDER_KEY_COLUMNS = ["order_id", "channel_id", "key"]
DIFFERENCE_COLUMNS = ["kind", "channel_id", "line_id", "payment_id", "expected", "actual", "day"]


@dataclass(frozen=True)
class MatchResult:
    """``pairs``: ``[line_id, payment_id, matched_by]``; ``differences``: :data:`DIFFERENCE_COLUMNS`
    (``line_id``/``payment_id`` -1 where there is none)."""

    pairs: pd.DataFrame
    differences: pd.DataFrame


def _ranked(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``frame`` ordered by ``by`` then day and id, with each row's place in its ``by`` group
    (``_rank``, 0 = oldest). Integer columns only: a lexsort, no pandas groupby."""
    order = np.lexsort([frame[c].to_numpy() for c in reversed([*by, "day", "id"])])
    ordered = frame.iloc[order]
    n = len(ordered)
    same = np.ones(max(n - 1, 0), dtype=bool)  # row i + 1 in the same group as row i
    for column in by:
        values = ordered[column].to_numpy()
        same &= values[1:] == values[:-1]
    starts = np.concatenate([[True], ~same])[:n]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return ordered.assign(_rank=np.arange(n) - first)


def _refund_flag(kinds: pd.Series) -> np.ndarray:
    flags: np.ndarray = (kinds.to_numpy() == "refund").astype(np.int8)
    return flags


def _lookup(channel: np.ndarray, refs: np.ndarray, key_channel: np.ndarray, key_refs: np.ndarray,
            values: np.ndarray) -> np.ndarray:
    """For each ``(channel, ref)`` the value of the first ``(key_channel, key_refs)`` row equal
    to it (-1: none). Strings are factorised once together, so the join runs on integers."""
    n = len(refs)
    codes, _ = pd.factorize(np.concatenate([np.asarray(refs, dtype=object), np.asarray(key_refs, dtype=object)]))
    width = int(max(channel.max(initial=0), key_channel.max(initial=0))) + 1
    wanted = codes[:n].astype(np.int64) * width + channel
    keys = codes[n:].astype(np.int64) * width + key_channel
    known = codes[n:] >= 0
    unique, first = np.unique(keys[known], return_index=True)
    found = np.full(n, -1, dtype=np.int64)
    if not len(unique):
        return found
    at = np.minimum(np.searchsorted(unique, wanted), len(unique) - 1)
    hit = (unique[at] == wanted) & (codes[:n] >= 0)
    found[hit] = np.asarray(values)[known][first[at[hit]]]
    return found


def by_provider_ref(lines: pd.DataFrame, payments: pd.DataFrame) -> np.ndarray:
    """Each line's order named by its provider reference (a payment's transaction number), -1: none."""
    return _lookup(lines["channel_id"].to_numpy(np.int64), lines["provider_ref"].to_numpy(),
                   payments["channel_id"].to_numpy(np.int64), payments["provider_ref"].to_numpy(),
                   payments["order_id"].to_numpy(np.int64))


def _resolve_orders(lines: pd.DataFrame, payments: pd.DataFrame, order_keys: pd.DataFrame) -> pd.Series:
    """Each line's order id (-1: names none): its provider reference if a payment carries it,
    else its order reference if an order of its channel answers to it."""
    found = by_provider_ref(lines, payments)
    loose = found < 0
    if loose.any() and len(order_keys):
        found[loose] = _lookup(lines["channel_id"].to_numpy(np.int64)[loose], lines["order_ref"].to_numpy()[loose],
                               order_keys["channel_id"].to_numpy(np.int64), order_keys["key"].to_numpy(),
                               order_keys["order_id"].to_numpy(np.int64))
    return pd.Series(found, index=lines.index)


def match(lines: pd.DataFrame, payments: pd.DataFrame, order_keys: pd.DataFrame, *,
          window_days: int = DEFAULT_WINDOW_DAYS) -> MatchResult:
    """Match ``lines`` (:data:`LINE_COLUMNS`) to ``payments`` (:data:`PAYMENT_COLUMNS`);
    ``order_keys`` (:data:`ORDER_KEY_COLUMNS`) says which references name which order (its
    number, its channel reference). See the module docstring for the rules."""
    # kinds as 0 (payment) / 1 (refund): every sort, merge and comparison below runs on integers
    lines = lines.assign(kind=_refund_flag(lines["kind"]))
    payments = payments.assign(kind=_refund_flag(payments["kind"]))
    lines = lines.astype({"id": np.int64, "channel_id": np.int64, "amount": np.int64, "fees": np.int64,
                          "day": np.int64})
    payments = payments.astype({"id": np.int64, "order_id": np.int64, "channel_id": np.int64,
                                "amount": np.int64, "day": np.int64})
    lines = lines.assign(order_id=_resolve_orders(lines, payments, order_keys))
    diffs: list[pd.DataFrame] = []

    # 1. by reference: pair an order's lines and payments of one kind, oldest first
    named = _ranked(lines[lines["order_id"] >= 0], ["order_id", "kind"])
    pays = _ranked(payments, ["order_id", "kind"])
    ref_pairs = named.merge(pays[["order_id", "kind", "_rank", "id", "amount", "day"]],
                            on=["order_id", "kind", "_rank"], how="left", suffixes=("", "_p"))
    paired = ref_pairs["id_p"].notna()
    pairs = [pd.DataFrame({"line_id": ref_pairs.loc[paired, "id"], "payment_id": ref_pairs.loc[paired, "id_p"],
                           "matched_by": "reference"})]
    got = ref_pairs[paired]
    off = got["amount"].to_numpy() != got["amount_p"].to_numpy()
    short = got["amount"].to_numpy() < got["amount_p"].to_numpy()
    diffs.append(_diff(np.where(short, "short_payment", "over_payment")[off], got[off], got["id_p"][off],
                       got["amount_p"][off], got["amount"][off]))
    extra = ref_pairs[~paired]
    has_payment = extra.set_index(["order_id", "kind"]).index.isin(pays.set_index(["order_id", "kind"]).index)
    doubles = extra[has_payment]
    diffs.append(_diff("double_payout", doubles, -1, 0, doubles["amount"]))
    unknown = [extra[~has_payment]]

    # 2. by amount and date among what is left on both sides
    paid_ids = ref_pairs.loc[paired, "id_p"].to_numpy(np.int64)
    pool = payments[~payments["id"].isin(paid_ids)]
    loose = lines[lines["order_id"] < 0]
    near = _nearest(loose, pool, window_days)
    pairs.append(near.assign(matched_by="amount_date"))
    unknown.append(loose[~loose["id"].isin(near["line_id"].to_numpy(np.int64))])
    left_lines = pd.concat(unknown, ignore_index=True)
    diffs.append(_diff("unknown_payout", left_lines, -1, 0, left_lines["amount"]))

    # 3. payments nobody paid out, once due
    matched = pd.concat(pairs, ignore_index=True)
    matched["payment_id"] = matched["payment_id"].astype(np.int64)
    unpaid = payments[~payments["id"].isin(matched["payment_id"].to_numpy())]
    last_day = lines.groupby("channel_id")["day"].max()
    due = unpaid["day"].to_numpy() <= unpaid["channel_id"].map(last_day).fillna(-np.inf).to_numpy() - window_days
    late = unpaid[due]
    diffs.append(pd.DataFrame({
        "kind": np.where(late["kind"].to_numpy() == 1, "refund_without_payout", "missing_payout"),
        "channel_id": late["channel_id"].to_numpy(), "line_id": -1, "payment_id": late["id"].to_numpy(),
        "expected": late["amount"].to_numpy(), "actual": 0, "day": late["day"].to_numpy()}))

    # 4. fees off the channel's usual rate
    diffs.append(_fee_differences(lines, matched))
    frame = pd.concat([d for d in diffs if len(d)], ignore_index=True) if any(len(d) for d in diffs) else \
        pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    for column in ("channel_id", "line_id", "payment_id", "expected", "actual", "day"):
        frame[column] = frame[column].astype(np.int64)
    return MatchResult(matched.astype({"line_id": np.int64}), frame[DIFFERENCE_COLUMNS])


def _nearest(lines: pd.DataFrame, payments: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """One-to-one pairs ``[line_id, payment_id]`` of the same channel, kind and amount, each
    payment to the line nearest in time (at most ``window_days`` apart; ties: lower ids), in
    rounds until no pair is left to make (at most :data:`MAX_ROUNDS`; what is left then is
    reported unmatched, never paired wrongly)."""
    keys = ["channel_id", "kind", "amount"]
    found: list[pd.DataFrame] = []
    left = lines[[*keys, "id", "day"]].astype({"day": np.int64})
    right = payments[[*keys, "id", "day"]].rename(columns={"id": "payment_id", "day": "pday"}).astype({"pday": np.int64})
    for _ in range(MAX_ROUNDS):
        if left.empty or right.empty:
            break
        cand = pd.merge_asof(left.sort_values("day", kind="stable"), right.sort_values("pday", kind="stable"),
                             left_on="day", right_on="pday", by=keys, direction="nearest", tolerance=window_days)
        cand = cand.dropna(subset=["payment_id"])
        if cand.empty:
            break
        cand = cand.assign(gap=(cand["day"] - cand["pday"]).abs()).sort_values(["gap", "id"], kind="stable")
        cand = cand.drop_duplicates("payment_id").drop_duplicates("id")
        found.append(pd.DataFrame({"line_id": cand["id"].to_numpy(),
                                   "payment_id": cand["payment_id"].astype(np.int64).to_numpy()}))
        left = left[~left["id"].isin(cand["id"].to_numpy())]
        right = right[~right["payment_id"].isin(cand["payment_id"].to_numpy(np.int64))]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame({"line_id": [], "payment_id": []})


def _diff(kind: object, lines: pd.DataFrame, payment_id: object, expected: object, actual: object) -> pd.DataFrame:
    return pd.DataFrame({"kind": kind, "channel_id": lines["channel_id"].to_numpy(), "line_id": lines["id"].to_numpy(),
                         "payment_id": np.asarray(payment_id) if not np.isscalar(payment_id) else payment_id,
                         "expected": np.asarray(expected) if not np.isscalar(expected) else expected,
                         "actual": np.asarray(actual), "day": lines["day"].to_numpy()})


def usual_rates(lines: pd.DataFrame) -> pd.Series:
    """Each channel's usual fee rate among ``lines``: the median of fees / amount, to a basis
    point. Platforms charge whole basis points (0.6 %, 0.38 %, 5 %); each line's fee is rounded
    to the cent, so its own ratio is only near the rate (the most common ratio of a small
    statement is a rounding artefact that puts cents of difference on large orders); the median
    ignores the odd line charged another rate."""
    rate = lines["fees"] / lines["amount"]
    return rate.groupby(lines["channel_id"]).median().round(4)


def _fee_differences(lines: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    settled = lines[lines["id"].isin(matched["line_id"].to_numpy(np.int64)) & lines["kind"].eq(0) & lines["amount"].gt(0)]
    if settled.empty:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    rates = usual_rates(settled)
    expected = np.rint(settled["amount"].to_numpy() * settled["channel_id"].map(rates).to_numpy()).astype(np.int64)
    off = np.abs(settled["fees"].to_numpy() - expected) > 1
    bad = settled[off]
    return _diff("fee_difference", bad, -1, expected[off], bad["fees"])
