"""The order payment status derived from payment and refund rows (core.domain.payments)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from core.domain import payments


@pytest.mark.parametrize(("total", "paid", "refunded", "expected"), [
    ("325.00", "0", "0", "unpaid"),
    ("325.00", "100.00", "0", "partially_paid"),
    ("325.00", "325.00", "0", "paid"),
    ("325.00", "325.00", "90.00", "partially_refunded"),
    ("325.00", "325.00", "325.00", "refunded"),
    # a refund is measured against the order total, as after-sales always did (a payment
    # recorded before the rows existed is not in ``paid``)
    ("325.00", "0", "325.00", "refunded"),
])
def test_the_status_follows_the_rows(total: str, paid: str, refunded: str, expected: str) -> None:
    assert payments.derived_status(D(total), D(paid), D(refunded)) == expected


def test_an_order_with_nothing_to_pay_keeps_what_entry_stated() -> None:
    assert payments.derived_status(D("0"), D("0"), D("0"), stated="paid") == "paid"
    assert payments.derived_status(D("0"), D("0"), D("0"), stated="unpaid") == "unpaid"


def test_order_entry_writes_the_whole_total_only_for_money_received() -> None:
    assert payments.entry_payment("paid", D("99.90")) == D("99.90")
    assert payments.entry_payment("refunded", D("99.90")) == D("99.90")  # a channel refunded it after payment
    assert payments.entry_payment("unpaid", D("99.90")) == D("0")
    assert payments.entry_payment("paid", D("0")) == D("0")
