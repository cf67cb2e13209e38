"""Allocation of scarce stock: proposal from the latest forecast, accepted as draft transfers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import db
from core.errors import PermissionDenied, ValidationError
from core.models import Transfer, TransferLine, Warehouse
from core.services import stock_allocation
from core.services.purchasing import POLineInput, create_purchase_order, send_po
from tests.factories import BUYER, MANAGER, make_product
from tests.planning_data import make_supplier, stored_run, warehouse_id


@pytest.fixture
def scarce(db_url: str) -> int:
    """14 units in SH; 7-day demand SH 7, GZ 14, BJ 7, CD 0; safety stock ⌈1.645 × 2⌉ = 4 each."""
    pid = make_product("TEA", "20.00", {"SH": 14})
    stored_run({(pid, "SH"): 1.0, (pid, "GZ"): 2.0, (pid, "BJ"): 1.0, (pid, "CD"): 0.0}, sigma_lead=2.0)
    return pid


def test_candidates_and_proposal(scarce: int) -> None:
    listed = stock_allocation.candidates(MANAGER)
    assert listed[["sku", "available", "need", "shortage", "source"]].values.tolist() == [
        ["TEA", 14, 0 + 18 + 11 + 4, 33 - 14, "SH"]]  # SH's own 14 cover its 7 + 4
    proposal = stock_allocation.propose(scarce, "SH", BUYER)
    table = proposal.table.set_index("warehouse")
    assert proposal.scarce and proposal.pool == 14
    assert table["floor"].to_dict() == {"BJ": 4, "CD": 4, "GZ": 4, "SH": 4}
    # floors take 16 > 14: the pool is split in proportion to the floors, 3 or 4 each
    assert int(table["allocated"].sum()) == 14 and set(table["allocated"]) <= {3, 4}
    assert table.loc["SH", "transfer"] == 0


def test_floors_then_demand_and_accept_as_transfers(db_url: str) -> None:
    pid = make_product("TEA", "20.00", {"SH": 20})
    stored_run({(pid, "SH"): 1.0, (pid, "GZ"): 2.0, (pid, "BJ"): 1.0}, sigma_lead=2.0)
    proposal = stock_allocation.propose(pid, "SH", MANAGER)
    table = proposal.table.set_index("warehouse")
    # floors SH/GZ/BJ 4 (CD has no demand but a safety stock of 0 → floor 0): 12; the other 8 by demand 7:14:7
    assert table["floor"].to_dict() == {"BJ": 4, "CD": 0, "GZ": 4, "SH": 4}
    assert table["allocated"].to_dict() == {"BJ": 6, "CD": 0, "GZ": 8, "SH": 6}
    with pytest.raises(PermissionDenied):
        stock_allocation.accept(pid, "SH", BUYER)
    transfers = stock_allocation.accept(pid, "SH", MANAGER)
    assert sorted((t.to_warehouse, t.lines[0].qty, t.status) for t in transfers) == [
        ("BJ", 6, "draft"), ("GZ", 8, "draft")]
    with db.transaction() as s:
        assert s.execute(select(TransferLine.qty).join(Transfer).join(
            Warehouse, Warehouse.id == Transfer.to_warehouse_id).where(Warehouse.code == "GZ")).scalar_one() == 8


def test_incoming_po_joins_the_pool(db_url: str) -> None:
    pid = make_product("TEA", "20.00", {"SH": 0})
    stored_run({(pid, "SH"): 1.0, (pid, "GZ"): 3.0}, sigma_lead=0.0)
    supplier = make_supplier("茶厂", 7, 1, pid)
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(pid, 14)], BUYER)
    send_po(po.id, BUYER)
    proposal = stock_allocation.propose(pid, "SH", MANAGER, po_id=po.id)
    assert (proposal.on_hand_pool, proposal.incoming, proposal.scarce) == (0, 14, True)
    assert proposal.table.set_index("warehouse")["allocated"].to_dict() == {"BJ": 0, "CD": 0, "GZ": 11, "SH": 3}
    with pytest.raises(ValidationError):  # the goods have not arrived: nothing can be shipped yet
        stock_allocation.accept(pid, "SH", MANAGER, po_id=po.id)
    with pytest.raises(ValidationError):
        stock_allocation.propose(pid, "GZ", MANAGER, po_id=po.id)  # that PO goes to SH
    with db.transaction() as s:
        assert s.execute(select(Transfer)).first() is None
