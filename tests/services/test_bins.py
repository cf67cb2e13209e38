"""Bins (货位): the layout is validated and audited; pick lists walk the bins in order and name
each line's bin; a warehouse that uses bins refuses to pick a product without a home bin and puts
every receipt away into a bin (the one typed, else the home bin), recorded beside the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db
from core.config import letterhead
from core.documents.pick_list import pick_list_csv_frame, render_pick_list
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import AuditLog, Bin, MovementBin, Order, StockMovement
from core.services import bins, orders
from core.services.bins import BinInput
from core.services.fulfillment import create_pick_lists, pick_list
from core.services.inventory import receive_adhoc
from core.services.purchasing import receive_po
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input
from tests.pdf_text import pdf_text
from tests.services.test_purchasing import _po


def _layout() -> None:
    """SH: bins walked C → A → B (walk order 1, 2, 3); products A, B, C at home in bins A, B, C."""
    for code, walk in (("A-01", 2), ("B-01", 3), ("C-01", 1)):
        bins.save_bin(BinInput("SH", code.lower(), "pick", walk), WAREHOUSE)
    bins.save_bin(BinInput("SH", "R-01", "reserve", 9), WAREHOUSE)
    bins.save_bin(BinInput("SH", "X-01", "defective", 10), WAREHOUSE)
    for sku in "ABC":
        bins.set_home_bin("SH", sku, f"{sku}-01", WAREHOUSE)


@pytest.fixture
def stocked(db_url: str) -> None:
    for sku in "ABCD":
        make_product(sku, "10.00", {"SH": 20, "GZ": 20})


def test_the_layout_is_validated_audited_and_listed_in_walking_order(stocked: None) -> None:
    _layout()
    layout = bins.list_bins("SH", MANAGER)
    assert list(layout["bin"]) == ["C-01", "A-01", "B-01", "R-01", "X-01"]  # codes upper-cased
    assert list(layout["products"]) == [1, 1, 1, 0, 0]
    assert list(bins.home_bins("SH", MANAGER)["sku"]) == ["C", "A", "B"]
    with pytest.raises(ValidationError) as err:
        bins.save_bin(BinInput("SH", "A 01!", "attic", -1), WAREHOUSE)
    assert {(i.field, i.message) for i in err.value.issues} == {
        ("bin", "bin_issue.bad_code"), ("zone", "issue.unknown_value"), ("walk_order", "bin_issue.bad_walk_order")}
    with pytest.raises(ValidationError) as err:
        bins.set_home_bin("SH", "D", "X-01", WAREHOUSE)  # nothing is picked from the defective zone
    assert err.value.issues[0].message == "bin_issue.wrong_zone"
    with pytest.raises(ValidationError):
        bins.set_home_bin("SH", "D", "Z-99", WAREHOUSE)
    with pytest.raises(Refused) as refused:
        bins.save_bin(BinInput("SH", "A-01", "pick", 2, active=False), WAREHOUSE)  # A still lives there
    assert refused.value.key == "bin.still_home"
    with pytest.raises(PermissionDenied):
        bins.save_bin(BinInput("SH", "D-01"), SERVICE)
    bins.set_home_bin("SH", "A", None, WAREHOUSE)
    bins.save_bin(BinInput("SH", "A-01", "pick", 2, active=False), WAREHOUSE)
    with db.transaction(readonly=True) as s:
        actions = list(s.execute(select(AuditLog.action).where(AuditLog.action.startswith("bin."))).scalars())
    assert actions.count("bin.create") == 5 and "bin.home_clear" in actions and "bin.update" in actions


def test_pick_lists_walk_the_bins_in_order_and_print_each_bin(stocked: None) -> None:
    _layout()
    one = orders.create_order(order_input(("A", 2), ("B", 1)), CLERK)
    two = orders.create_order(order_input(("C", 3), ("A", 1)), CLERK)
    [made] = create_pick_lists([one.id, two.id], WAREHOUSE)
    doc = pick_list(made.id, WAREHOUSE)
    assert list(zip(doc.items["bin"], doc.items["sku"], doc.items["qty"], strict=True)) == [
        ("C-01", "C", 3), ("A-01", "A", 3), ("B-01", "B", 1)]
    assert list(doc.orders["bin"]) == ["A-01", "B-01", "C-01", "A-01"]  # per order, in walking order
    text = pdf_text(render_pick_list(doc, letterhead(), "zh"))
    assert text.index("C-01") < text.index("A-01") < text.index("B-01") and "货位" in text
    assert list(pick_list_csv_frame(doc)["bin"]) == ["C-01", "A-01", "B-01"]


def test_a_warehouse_with_bins_refuses_to_pick_a_product_without_one(stocked: None) -> None:
    _layout()
    order = orders.create_order(order_input(("D", 1), ("A", 1)), CLERK)
    with pytest.raises(ValidationError) as err:
        create_pick_lists([order.id], WAREHOUSE)
    [issue] = err.value.issues
    assert (issue.message, issue.params) == ("bin_issue.no_home_bin_in", {"sku": "D", "warehouse": "SH"})
    with db.transaction(readonly=True) as s:  # nothing written: still confirmed, no list
        assert s.execute(select(Order.status).where(Order.id == order.id)).scalar_one() == "confirmed"
    bins.set_home_bin("SH", "D", "R-01", WAREHOUSE)  # picked from reserve is allowed
    [made] = create_pick_lists([order.id], WAREHOUSE)
    assert list(pick_list(made.id, WAREHOUSE).items["bin"]) == ["A-01", "R-01"]


def test_a_warehouse_without_bins_picks_as_before(stocked: None) -> None:
    _layout()  # SH only; GZ has no bins
    order = orders.create_order(order_input(("D", 1), province="广东", city="广州市", district="天河区"), CLERK)
    [made] = create_pick_lists([order.id], WAREHOUSE)
    assert (made.warehouse, list(pick_list(made.id, WAREHOUSE).items["bin"])) == ("GZ", [""])


def _putaways() -> list[tuple[int, str]]:
    with db.transaction(readonly=True) as s:
        return [(int(q), c) for q, c in s.execute(
            select(StockMovement.qty_delta, Bin.code).join(MovementBin, MovementBin.movement_id == StockMovement.id)
            .join(Bin, Bin.id == MovementBin.bin_id).order_by(StockMovement.id))]


def test_receipts_are_put_away_into_the_typed_or_the_home_bin(stocked: None) -> None:
    _layout()
    with db.transaction(readonly=True) as s:
        pid = s.execute(select(func.min(StockMovement.product_id))).scalar_one()
    po_id, line_id = _po(pid, 10)  # product A
    receive_po(po_id, {line_id: 4}, WAREHOUSE)
    receive_po(po_id, {line_id: 3}, WAREHOUSE, bins={line_id: "r-01"})
    assert _putaways() == [(4, "A-01"), (3, "R-01")]
    with pytest.raises(ValidationError) as err:
        receive_po(po_id, {line_id: 1}, WAREHOUSE, bins={line_id: "X-01"})  # defective zone
    assert err.value.issues[0].message == "bin_issue.wrong_zone"
    with pytest.raises(ValidationError) as err:
        receive_adhoc("SH", [("D", 2)], WAREHOUSE)  # D has no home bin and none was typed
    assert (err.value.issues[0].field, err.value.issues[0].message) == ("bin", "bin_issue.no_home_bin")
    receive_adhoc("SH", [("D", 2), ("B", 1)], WAREHOUSE, bins=["R-01", None])
    receive_adhoc("GZ", [("D", 2)], WAREHOUSE)  # no bins at GZ: no putaway recorded
    assert _putaways() == [(4, "A-01"), (3, "R-01"), (1, "B-01"), (2, "R-01")]  # posted in product order
    assert bins.putaway_defaults("SH", ["A", "D"], WAREHOUSE) == {"A": "A-01", "D": ""}
    assert bins.putaway_defaults("GZ", ["A"], WAREHOUSE) is None
