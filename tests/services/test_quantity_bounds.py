"""Issue 13, "Unbounded quantities": every stock quantity has a maximum per row and per stock
row, adjustments carry a reason that fits their sign, and large ones need a second person.

Before: a +10^12 count adjustment was approved (stock value ¥30.8 trillion), three ad hoc
receipts of 4×10^18 overflowed SQLite's SUM for good, and −10^12 was refused with a message
about reservations. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db, stock
from core.domain.quantities import MAX_ON_HAND, MAX_ROW_QTY
from core.errors import Refused, ValidationError
from core.models import POLine, StockAdjustment, StockLevel, StockMovement, TransferLine, Warehouse
from core.permissions import Actor
from core.services.inventory import CountLine, adjust_stock, decide_adjustment, post_count, receive_adhoc
from core.services.purchasing import POLineInput, create_purchase_order, receive_po, send_po, update_draft
from core.services.reconciliation import reconcile
from core.services.shop_settings import update_settings
from core.services.transfers import create_transfer, receive_transfer, ship_transfer
from tests.factories import ADMIN, BUYER, MANAGER, WAREHOUSE, make_product
from tests.planning_data import make_supplier, warehouse_id

OTHER_MANAGER = Actor("boss2", "manager")


def _ledger_rows() -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(StockMovement)).scalar_one())


def _issues(err: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str, int | None]]:
    return [(i.field, i.message, i.row) for i in err.value.issues]


@pytest.mark.parametrize("delta", [10 ** 12, -10 ** 12, MAX_ROW_QTY + 1])
def test_an_adjustment_of_any_sign_is_bounded_and_names_the_field(db_url: str, delta: int) -> None:
    make_product("Q-1", "10.00", {"SH": 5})
    before = _ledger_rows()
    with pytest.raises(ValidationError) as err:
        adjust_stock("Q-1", "SH", delta, "data_correction", MANAGER)
    assert _issues(err) == [("qty_delta", "rb.qty_at_most", None)]
    assert "at most 1,000,000" in str(err.value)  # not a message about reservations
    assert _ledger_rows() == before


def test_a_count_of_10_to_the_12_is_refused(db_url: str) -> None:
    make_product("Q-1", "10.00", {"SH": 5})
    with pytest.raises(ValidationError) as err:
        post_count("SH", [CountLine("Q-1", 5, 10 ** 12, "found")], MANAGER)
    assert _issues(err) == [("counted", "rb.qty_at_most", 1)]


def test_huge_ad_hoc_receipts_are_refused_and_reconcile_keeps_working(db_url: str) -> None:
    make_product("Q-1", "10.00", {"SH": 5})
    for _ in range(3):
        with pytest.raises(ValidationError) as err:
            receive_adhoc("SH", [("Q-1", 4 * 10 ** 18)], WAREHOUSE)
        assert _issues(err) == [("qty", "rb.qty_at_most", 1)]
    assert reconcile(ADMIN).ok  # no overflow: nothing was written
    with db.transaction() as s:
        assert s.execute(select(func.sum(StockMovement.qty_delta))).scalar_one() == 5


def test_the_stock_row_ceiling_holds_on_every_path(db_url: str) -> None:
    pid = make_product("Q-1", "0.01", {"SH": MAX_ON_HAND - 1})
    with pytest.raises(ValidationError) as err:
        receive_adhoc("SH", [("Q-1", 2)], WAREHOUSE)
    assert _issues(err) == [("qty", "rb.on_hand_ceiling", 1)]
    with pytest.raises(ValidationError) as err:
        adjust_stock("Q-1", "SH", 2, "found", MANAGER)
    assert _issues(err) == [("qty_delta", "rb.on_hand_ceiling", None)]
    with pytest.raises(Refused) as refused, db.transaction() as s:  # the guard no caller can skip
        stock.post_movement(s, product_id=pid, warehouse_id=warehouse_id("SH"), qty_delta=2, kind="receipt",
                            actor="test")
    assert refused.value.key == "rb.on_hand_ceiling"
    receive_adhoc("SH", [("Q-1", 1)], WAREHOUSE)
    with db.transaction() as s:
        assert s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == pid)).scalar_one() == MAX_ON_HAND


@pytest.mark.parametrize("reason, delta, key", [
    ("found", -5, "rb.reason_for_decrease"),
    ("damage", 5, "rb.reason_for_increase"),
    ("theft", 3, "rb.reason_for_increase"),
])
def test_the_reason_must_fit_the_sign(db_url: str, reason: str, delta: int, key: str) -> None:
    make_product("Q-1", "10.00", {"SH": 50})
    with pytest.raises(ValidationError) as err:
        adjust_stock("Q-1", "SH", delta, reason, MANAGER)
    assert _issues(err) == [("reason_code", key, None)]
    with pytest.raises(ValidationError) as err:
        post_count("SH", [CountLine("Q-1", 50, 50 + delta, reason)], MANAGER)
    assert _issues(err) == [("reason_code", key, 1)]


def test_a_large_adjustment_needs_a_second_person_even_for_a_manager(db_url: str) -> None:
    pid = make_product("Q-1", "0.01", {"SH": 5})
    result = adjust_stock("Q-1", "SH", 1500, "found", MANAGER)  # value ¥7.50, but 1,500 units > 1,000
    assert result.status == "pending"
    with pytest.raises(Refused) as err:
        decide_adjustment(result.id, True, MANAGER)
    assert err.value.key == "rb.own_request"
    with db.transaction() as s:
        assert s.execute(select(StockAdjustment.status).where(StockAdjustment.id == result.id)).scalar_one() == \
            "pending"
    assert decide_adjustment(result.id, True, OTHER_MANAGER).status == "approved"
    with db.transaction() as s:
        assert s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == pid)).scalar_one() == 1505


def test_the_size_limit_is_a_shop_setting_and_counts_obey_it(db_url: str) -> None:
    make_product("Q-1", "0.01", {"SH": 5})
    update_settings({"adjustment_approval.units": 10}, ADMIN)
    counted = post_count("SH", [CountLine("Q-1", 5, 20, "found")], MANAGER)
    assert [r.qty_delta for r in counted.pending] == [15] and not counted.posted
    with pytest.raises(Refused):
        decide_adjustment(counted.pending[0].id, True, MANAGER)
    small = adjust_stock("Q-1", "SH", 10, "found", WAREHOUSE)
    assert small.status == "posted"


def test_a_requester_may_withdraw_but_not_approve(db_url: str) -> None:
    make_product("Q-1", "500.00", {"SH": 50})
    pending = adjust_stock("Q-1", "SH", -20, "damage", WAREHOUSE)  # ¥5,000 > ¥2,000: waits
    assert pending.status == "pending"
    mgr = adjust_stock("Q-1", "SH", -1, "damage", MANAGER)
    assert mgr.status == "posted"  # small: a manager's own entry within both limits
    assert decide_adjustment(pending.id, False, MANAGER).status == "rejected"


def test_purchase_orders_and_transfers_refuse_negative_and_absurd_quantities(db_url: str) -> None:
    tea = make_product("Q-1", "10.00", {"SH": 20})
    supplier = make_supplier("Q Supplier")
    with pytest.raises(ValidationError) as err:
        create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 10 ** 7)], BUYER)
    assert _issues(err) == [("qty", "rb.qty_at_most", 1)]
    with pytest.raises(ValidationError) as err:
        create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, -3)], BUYER)
    assert _issues(err) == [("qty", "issue.negative", 1)]
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 10)], BUYER)
    with db.transaction() as s:
        line_id = s.execute(select(POLine.id).where(POLine.po_id == po.id)).scalar_one()
    with pytest.raises(ValidationError) as err:
        update_draft(po.id, {line_id: 10 ** 12}, BUYER)
    assert _issues(err) == [("qty", "rb.qty_at_most", 1)]
    send_po(po.id, BUYER)
    with pytest.raises(ValidationError) as err:
        receive_po(po.id, {line_id: -5}, WAREHOUSE)
    assert _issues(err) == [("qty", "issue.negative", 1)]
    with pytest.raises(ValidationError) as err:
        create_transfer("SH", "GZ", [("Q-1", -3)], WAREHOUSE)
    assert _issues(err) == [("qty", "issue.negative", 1)]
    with pytest.raises(ValidationError) as err:
        create_transfer("SH", "GZ", [("Q-1", 10 ** 12)], WAREHOUSE)
    assert _issues(err) == [("qty", "rb.qty_at_most", 1)]
    shipped = ship_transfer(create_transfer("SH", "GZ", [("Q-1", 3)], WAREHOUSE).id, WAREHOUSE)
    with db.transaction() as s:
        tl = s.execute(select(TransferLine.id).where(TransferLine.transfer_id == shipped.id)).scalar_one()
    with pytest.raises(ValidationError) as err:
        receive_transfer(shipped.id, {tl: -3}, WAREHOUSE)
    assert _issues(err) == [("qty", "issue.negative", 1)]
    with db.transaction() as s:
        gz = s.execute(select(StockLevel.on_hand).join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                       .where(StockLevel.product_id == tea, Warehouse.code == "GZ")).scalar_one_or_none()
    assert not gz
