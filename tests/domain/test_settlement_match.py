"""Settlement matching rules (core.domain.settlement_match) on small hand-made cases."""

from __future__ import annotations

import pandas as pd

from core.domain.settlement_match import LINE_COLUMNS, ORDER_KEY_COLUMNS, PAYMENT_COLUMNS, match

# payments: id, order, channel, kind, provider ref, cents, day
PAYMENTS = [
    (1, 10, 1, "payment", "P-1", 10000, 100),   # paid out by reference
    (2, 11, 1, "payment", None, 5000, 100),     # paid out short, by order reference
    (3, 12, 1, "payment", None, 7000, 101),     # paid out twice
    (4, 13, 1, "payment", None, 2500, 101),     # no reference on the line: amount and date
    (5, 14, 1, "payment", None, 3000, 90),      # never paid out
    (6, 10, 1, "refund", None, 2000, 102),      # refund nobody deducted
    (7, 15, 1, "payment", None, 4000, 110),     # too recent to be due
    (8, 16, 1, "payment", None, 20000, 100),    # paid out with a changed fee
]
ORDER_KEYS = [(10, 1, "SO-10"), (11, 1, "SO-11"), (12, 1, "T-12"), (13, 1, "SO-13"), (14, 1, "SO-14"),
              (15, 1, "SO-15"), (16, 1, "SO-16")]
LINES = [
    (101, 1, "payment", "P-1", None, 10000, 60, 102),
    (102, 1, "payment", None, "SO-11", 4900, 29, 102),
    (103, 1, "payment", None, "T-12", 7000, 42, 103),
    (104, 1, "payment", None, "T-12", 7000, 42, 104),
    (105, 1, "payment", None, None, 2500, 15, 103),
    (106, 1, "payment", None, "NOPE", 999, 6, 104),
    (107, 1, "payment", None, "SO-16", 20000, 200, 104),
    (108, 1, "payment", None, None, 8800, 53, 108),
]


def _result() -> tuple[dict[int, tuple[int, str]], list[tuple[str, int, int, int, int]]]:
    result = match(pd.DataFrame(LINES, columns=LINE_COLUMNS), pd.DataFrame(PAYMENTS, columns=PAYMENT_COLUMNS),
                   pd.DataFrame(ORDER_KEYS, columns=ORDER_KEY_COLUMNS))
    pairs = {int(r.line_id): (int(r.payment_id), r.matched_by) for r in result.pairs.itertuples()}
    diffs = sorted((r.kind, r.line_id, r.payment_id, r.expected, r.actual) for r in result.differences.itertuples())
    return pairs, diffs


def test_lines_pair_by_reference_then_by_amount_and_date() -> None:
    pairs, _ = _result()
    assert pairs == {101: (1, "reference"), 102: (2, "reference"), 103: (3, "reference"), 107: (8, "reference"),
                     105: (4, "amount_date")}


def test_every_planted_difference_is_found_and_nothing_else() -> None:
    _, diffs = _result()
    assert diffs == sorted([
        ("short_payment", 102, 2, 5000, 4900),
        ("double_payout", 104, -1, 0, 7000),
        ("unknown_payout", 106, -1, 0, 999),
        ("unknown_payout", 108, -1, 0, 8800),
        ("missing_payout", -1, 5, 3000, 0),
        ("refund_without_payout", -1, 6, 2000, 0),
        ("fee_difference", 107, -1, 120, 200),
    ])


def test_the_usual_fee_rate_survives_cent_rounding_and_one_line_at_another_rate() -> None:
    """Fees rounded to the cent at 0.6 %: ten sales of one ¥19.90 product (fee ¥0.12, a ratio
    of 0.603 %) and fifteen larger orders. Only the line charged 1 % is off the rate (taken as
    the most common rounded ratio, 0.603 %, the rate flagged every large order)."""
    amounts = [1990] * 10 + [150_000 + 7919 * i for i in range(15)]
    payments = [(i + 1, i + 1, 1, "payment", f"P-{i}", a, 100) for i, a in enumerate(amounts)]
    lines = [(100 + i, 1, "payment", f"P-{i}", None, a, round(a * (0.01 if i == 20 else 0.006)), 101)
             for i, a in enumerate(amounts)]
    result = match(pd.DataFrame(lines, columns=LINE_COLUMNS), pd.DataFrame(payments, columns=PAYMENT_COLUMNS),
                   pd.DataFrame([], columns=ORDER_KEY_COLUMNS))
    assert [(r.kind, r.line_id) for r in result.differences.itertuples()] == [("fee_difference", 120)]
