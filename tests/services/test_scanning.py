"""Scan everywhere (issue #16 item 7): receiving against a PO, counting a bin, transfers out and
in. Each flow: right scans (barcode or SKU) tally up; unknown, not-on-the-document and extra
scans are refused naming the scan and why; refusals write nothing; the commit is one
transaction through the grid's own service and re-checks the tally."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import IllegalTransition, PermissionDenied, Refused, ValidationError
from core.models import (
    AuditLog,
    Bin,
    MovementBin,
    POLine,
    Product,
    StockAdjustment,
    StockLevel,
    StockMovement,
    Warehouse,
)
from core.services import bins, scanning
from core.services.bins import BinInput
from core.services.fulfillment import ScanRefused
from core.services.transfers import create_transfer
from tests.factories import SERVICE, WAREHOUSE, make_product
from tests.services.test_purchasing import _po


def _writes() -> tuple[int, int, int]:
    """Ledger movements, adjustments and audit rows: none may appear on a refusal."""
    with db.transaction(readonly=True) as s:
        return (s.execute(select(func.count(StockMovement.id))).scalar_one(),
                s.execute(select(func.count(StockAdjustment.id))).scalar_one(),
                s.execute(select(func.count(AuditLog.id))).scalar_one())


def _on_hand(product_id: int, wh: str) -> int:
    with db.transaction(readonly=True) as s:
        return int(s.execute(select(StockLevel.on_hand).join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                             .where(StockLevel.product_id == product_id, Warehouse.code == wh)).scalar_one_or_none() or 0)


def _barcode(product_id: int) -> str:
    with db.transaction(readonly=True) as s:
        return str(s.execute(select(Product.barcode).where(Product.id == product_id)).scalar_one())


def _refused(key: str, call: object, *args: object) -> ScanRefused:
    before = _writes()
    with pytest.raises(ScanRefused) as err:
        call(*args)  # type: ignore[operator]
    assert err.value.key == key
    assert _writes() == before
    return err.value


# --- receiving ------------------------------------------------------------------------------------


def test_receiving_scans_count_up_against_the_po_and_refuse_what_does_not_belong(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    make_product("OTHER", "10.00")
    po_id, _ = _po(pid, 2)
    code = _barcode(pid)
    one = scanning.scan_receipt(po_id, code, {}, WAREHOUSE)
    assert (one.sku, one.units, one.limit, one.tally) == ("P1", 1, 2, {"P1": 1})
    two = scanning.scan_receipt(po_id, " P1 ", one.tally, WAREHOUSE)  # the SKU typed for an unreadable label
    assert two.tally == {"P1": 2}
    extra = _refused("scan.extra_on_po", scanning.scan_receipt, po_id, code, two.tally, WAREHOUSE)
    assert extra.params == {"number": "PO-T1", "sku": "P1", "name": "商品 P1", "code": code, "qty": 2}
    wrong = _refused("scan.not_on_po", scanning.scan_receipt, po_id, "OTHER", two.tally, WAREHOUSE)
    assert wrong.params["sku"] == "OTHER" and wrong.params["number"] == "PO-T1"
    unknown = _refused("pack.unknown_barcode", scanning.scan_receipt, po_id, "999", two.tally, WAREHOUSE)
    assert unknown.params == {"barcode": "999"}
    with pytest.raises(PermissionDenied):
        scanning.scan_receipt(po_id, code, {}, SERVICE)

    result = scanning.commit_receipt_scans(po_id, two.tally, WAREHOUSE, note="delivery 7")
    assert (result.status, result.received_units) == ("received", 2)
    assert _on_hand(pid, "SH") == 2
    with pytest.raises(IllegalTransition):  # received: nothing more to scan against it
        scanning.scan_receipt(po_id, code, {}, WAREHOUSE)


def test_a_receipt_commit_rechecks_the_tally_and_writes_nothing_when_it_no_longer_fits(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    make_product("OTHER", "10.00")
    po_id, line_id = _po(pid, 3)
    with db.transaction() as s:  # another person received 2 meanwhile (the grid)
        s.execute(POLine.__table__.update().where(POLine.id == line_id).values(qty_received=2))
    before = _writes()
    for tally in ({"P1": 2}, {"OTHER": 1}, {"P1": -1}):
        with pytest.raises(ValidationError) as err:
            scanning.commit_receipt_scans(po_id, tally, WAREHOUSE)
        assert err.value.issues[0].message in {"scan_issue.not_taken", "scan_issue.bad_units"}
    assert _writes() == before and _on_hand(pid, "SH") == 0


def test_a_scanned_receipt_is_put_away_into_the_bin_named_or_the_home_bin(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    bins.save_bin(BinInput("SH", "A-01", "pick", 1), WAREHOUSE)
    bins.save_bin(BinInput("SH", "R-01", "reserve", 2), WAREHOUSE)
    bins.set_home_bin("SH", "P1", "A-01", WAREHOUSE)
    po_id, _ = _po(pid, 5)
    scanning.commit_receipt_scans(po_id, {"P1": 2}, WAREHOUSE, bins={"P1": "r-01"})
    scanning.commit_receipt_scans(po_id, {"P1": 1}, WAREHOUSE)
    with db.transaction(readonly=True) as s:
        put = list(s.execute(select(Bin.code).join(MovementBin, MovementBin.bin_id == Bin.id)
                             .order_by(MovementBin.movement_id)).scalars())
    assert put == ["R-01", "A-01"]


# --- counting a bin -------------------------------------------------------------------------------


@pytest.fixture
def bin_layout(db_url: str) -> dict[str, int]:
    """SH: bin A-01 holds A (8 on hand) and B (3); bin B-01 holds C; D has no bin."""
    ids = {sku: make_product(sku, "10.00", {"SH": n}) for sku, n in (("A", 8), ("B", 3), ("C", 1), ("D", 1))}
    bins.save_bin(BinInput("SH", "A-01", "pick", 1), WAREHOUSE)
    bins.save_bin(BinInput("SH", "B-01", "pick", 2), WAREHOUSE)
    for sku, code in (("A", "A-01"), ("B", "A-01"), ("C", "B-01")):
        bins.set_home_bin("SH", sku, code, WAREHOUSE)
    return ids


def test_counting_a_bin_tallies_its_products_and_refuses_those_of_other_bins(bin_layout: dict[str, int]) -> None:
    sheet = scanning.bin_count_sheet("SH", "a-01", WAREHOUSE)
    assert list(zip(sheet["sku"], sheet["expected"], strict=True)) == [("A", 8), ("B", 3)]
    tally: dict[str, int] = {}
    for _ in range(9):  # one more A than the system knows: a count has no limit but the shelf
        tally = scanning.scan_count("SH", "A-01", _barcode(bin_layout["A"]), tally, WAREHOUSE).tally
    assert tally == {"A": 9}
    elsewhere = _refused("scan.not_in_bin", scanning.scan_count, "SH", "A-01", "C", tally, WAREHOUSE)
    assert (elsewhere.params["home"], elsewhere.params["bin"]) == ("B-01", "A-01")
    _refused("scan.no_home_bin", scanning.scan_count, "SH", "A-01", "D", tally, WAREHOUSE)
    _refused("pack.unknown_barcode", scanning.scan_count, "SH", "A-01", "nope", tally, WAREHOUSE)
    with pytest.raises(Refused) as err:
        scanning.scan_count("SH", "Z-99", "A", {}, WAREHOUSE)
    assert err.value.key == "scan.unknown_bin"

    review = scanning.bin_count_review("SH", "A-01", tally, WAREHOUSE)
    assert list(zip(review["sku"], review["expected"], review["counted"], review["delta"], strict=True)) == [
        ("B", 3, 0, -3), ("A", 8, 9, 1)]  # the biggest difference first; B not scanned counts 0
    result = scanning.post_bin_count("SH", "A-01", tally, {"A": 8, "B": 3}, "data_correction", WAREHOUSE)
    assert (result.lines, result.matched, len(result.posted)) == (2, 0, 2)
    assert (_on_hand(bin_layout["A"], "SH"), _on_hand(bin_layout["B"], "SH")) == (9, 0)
    assert _on_hand(bin_layout["C"], "SH") == 1  # another bin's product is untouched


def test_a_bin_count_is_refused_whole_when_stock_moved_or_the_tally_strays(bin_layout: dict[str, int]) -> None:
    before = _writes()
    with pytest.raises(ValidationError) as err:  # the screen showed 7 A; the system has 8
        scanning.post_bin_count("SH", "A-01", {"A": 8, "B": 3}, {"A": 7, "B": 3}, "data_correction", WAREHOUSE)
    assert err.value.issues[0].field == "expected"
    with pytest.raises(ValidationError) as err:
        scanning.post_bin_count("SH", "A-01", {"C": 1}, {"A": 8, "B": 3}, "data_correction", WAREHOUSE)
    assert err.value.issues[0].message == "scan_issue.not_taken"
    with pytest.raises(PermissionDenied):
        scanning.post_bin_count("SH", "A-01", {}, {}, "data_correction", SERVICE)
    assert _writes() == before


# --- transfers --------------------------------------------------------------------------------------


def test_a_transfer_is_scanned_out_whole_and_scanned_in_at_the_destination(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 10})
    make_product("B", "10.00", {"SH": 10})
    make_product("C", "10.00", {"SH": 10})
    draft = create_transfer("SH", "GZ", [("A", 2), ("B", 1)], WAREHOUSE)
    tally = scanning.scan_transfer(draft.id, "out", "A", {}, WAREHOUSE).tally
    _refused("scan.not_on_transfer", scanning.scan_transfer, draft.id, "out", "C", tally, WAREHOUSE)
    tally = scanning.scan_transfer(draft.id, "out", _barcode(a), tally, WAREHOUSE).tally
    extra = _refused("scan.extra_on_transfer", scanning.scan_transfer, draft.id, "out", "A", tally, WAREHOUSE)
    assert extra.params["qty"] == 2
    before = _writes()
    with pytest.raises(ValidationError) as err:  # B not scanned yet: a transfer leaves whole
        scanning.ship_scanned_transfer(draft.id, tally, WAREHOUSE)
    assert [(i.message, i.params) for i in err.value.issues] == [
        ("scan_issue.short_out", {"sku": "B", "scanned": 0, "qty": 1})]
    assert _writes() == before
    with pytest.raises(IllegalTransition):  # a draft has not left: nothing to scan in yet
        scanning.scan_transfer(draft.id, "in", "A", {}, WAREHOUSE)
    tally = scanning.scan_transfer(draft.id, "out", "B", tally, WAREHOUSE).tally
    shipped = scanning.ship_scanned_transfer(draft.id, tally, WAREHOUSE)
    assert shipped.status == "shipped" and _on_hand(a, "SH") == 8

    arrived = scanning.scan_transfer(shipped.id, "in", "A", {}, WAREHOUSE).tally
    _refused("scan.not_on_transfer", scanning.scan_transfer, shipped.id, "in", "C", arrived, WAREHOUSE)
    partial = scanning.receive_scanned_transfer(shipped.id, arrived, WAREHOUSE)
    assert partial.status == "partial" and _on_hand(a, "GZ") == 1
    left = scanning.scan_transfer(shipped.id, "in", "A", {}, WAREHOUSE).tally  # 1 A still on the way
    _refused("scan.extra_on_transfer", scanning.scan_transfer, shipped.id, "in", "A", left, WAREHOUSE)
    done = scanning.receive_scanned_transfer(shipped.id, left, WAREHOUSE, close_short=True)  # B was lost
    assert done.status == "received" and _on_hand(a, "GZ") == 2
    with pytest.raises(PermissionDenied):
        scanning.scan_transfer(shipped.id, "out", "A", {}, SERVICE)
