"""Hostile values typed into forms or files (issue "Hard edges"): a quantity of ``inf`` or
``nan``, a ``placed_at`` that is text, a refund of "1e400". Each is refused with a message
code naming the field — never an unhandled exception — and nothing is written. (Order entry's
checks live in the order rulebook, ``core.domain.rulebook``; these tests pin the outcome.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import ValidationError
from core.models import Customer, Order, Refund
from core.services import aftersales as rma
from core.services.aftersales import RMALine, RMARequest, RMAValidationError
from core.services.orders import create_order
from tests.aftersales_data import delivered_order
from tests.factories import CLERK, MANAGER, SERVICE, make_product, order_input
from tests.services.test_imports import _csv, run


def _count(model: type) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("qty", [float("inf"), float("-inf"), float("nan"), 1e400])
def test_an_infinite_or_missing_quantity_is_refused_on_its_line(db_url: str, qty: float) -> None:
    make_product("TEA-1", "25.00", {"SH": 50})
    with pytest.raises(ValidationError) as caught:
        create_order(order_input(("TEA-1", qty)), CLERK)  # type: ignore[arg-type]
    assert [(i.field, i.row, i.message) for i in caught.value.issues] == [("qty", 1, "issue.whole_number")]
    assert _count(Order) == 0 and _count(Customer) == 0


@pytest.mark.parametrize("placed_at", ["yesterday", "2026-11-01", 20261101])
def test_a_placed_at_that_is_not_a_datetime_is_refused(db_url: str, placed_at: object) -> None:
    make_product("TEA-1", "25.00", {"SH": 50})
    with pytest.raises(ValidationError) as caught:
        create_order(order_input(("TEA-1", 1), placed_at=placed_at), CLERK)
    issue = next(i for i in caught.value.issues if i.field == "placed_at")
    assert issue.message == "rb.not_a_date" and issue.value == placed_at  # the order rulebook's refusal
    assert _count(Order) == 0


@pytest.mark.parametrize("amount", ["1e400", "-1e400", "99999999999", "1E+10"])
def test_an_out_of_range_refund_is_refused(db_url: str, amount: str) -> None:
    make_product("A", "50.00", {"SH": 10})
    order = delivered_order(("A", 1))
    opened = rma.open_rma(RMARequest(order.id, "refund_only", "quality", (RMALine(1, 1),)), SERVICE)
    rma.transition_rma(opened.id, "approved", MANAGER)  # nobody approves their own request
    with pytest.raises(RMAValidationError) as caught:
        rma.refund_rma(opened.id, MANAGER, amount=amount, note="customer asked")
    issue = caught.value.issues[0]
    assert (issue.field, issue.message, issue.params) == ("rma_refund_amount", "hf.amount_out_of_range",
                                                          {"limit": "9999999999.99"})
    assert _count(Refund) == 0
    assert rma.refund_rma(opened.id, MANAGER, amount="50.00").amount == Decimal("50.00")  # still refundable


@pytest.mark.parametrize("qty, placed_at, field, code", [
    ("inf", "2026-11-01 10:00:00", "qty", "not_a_number"),
    ("nan", "2026-11-01 10:00:00", "qty", "not_a_number"),
    ("1e400", "2026-11-01 10:00:00", "qty", "not_a_number"),
    ("2", "yesterday", "placed_at", "bad_date"),
    ("2", "9" * 5000, "placed_at", "bad_date"),
])
def test_hostile_values_in_an_import_are_row_issues(db_url: str, qty: str, placed_at: str, field: str,
                                                    code: str) -> None:
    make_product("SKU-001", "10.00", {"SH": 50})
    report = run("orders", _csv("hostile.csv", f"E1,{placed_at},completed,张三,13800138000,上海市,上海市,浦东新区,"
                                               f"世纪大道1号,SKU-001,{qty},10"))
    assert report.status == "rejected" and _count(Order) == 0
    errors = report.issues[report.issues["severity"] == "error"]
    assert (field, code, 2) in set(zip(errors["field"], errors["code"], errors["row"], strict=True))
