"""Scan everywhere: receiving against a purchase order, counting a bin, transfers out and in.

Each station works the same way as the pack bench. The scan box takes what a keyboard-wedge
scanner types (a barcode, or the SKU typed when a label is unreadable), one unit per Enter. A
scan is checked here against the document and the running **tally** (SKU → units scanned so
far, kept by the screen) and comes back as the new tally, or is refused with
:class:`ScanRefused` — the scan and why: no product has the code, the item is not on this
document, or the document already has all its units. A scan writes nothing; the tally rules are
``core.domain.scanning``.

When the tally is complete the person commits it, and the commit is one transaction through
the service the typed grids already use (``receive_po``, ``post_count``, ``ship_transfer``,
``receive_transfer``), so bins, backorders, approvals and audit behave the same either way. The
commit checks the tally again (the document may have changed since the first scan) and writes
nothing when any SKU is not taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import barcodes
from core.db import read_only, unit_of_work
from core.domain import scanning as rules
from core.errors import FieldIssue, IllegalTransition, Refused, ValidationError
from core.models import (
    Bin,
    POLine,
    Product,
    ProductBin,
    PurchaseOrder,
    StockLevel,
    Transfer,
    TransferLine,
    Warehouse,
)
from core.permissions import Actor, require
from core.services.fulfillment import ScanRefused
from core.services.inventory import CountLine, CountResult, post_count
from core.services.purchasing import RECEIVABLE_STATUSES, ReceiptResult, receive_po
from core.services.transfers import OPEN_STATUSES, TransferResult, receive_transfer, ship_transfer

Direction = Literal["out", "in"]
SHEET_COLUMNS = ["sku", "name", "barcode", "expected"]
REVIEW_COLUMNS = ["sku", "name", "expected", "counted", "delta"]


@dataclass(frozen=True)
class Scanned:
    """One accepted scan: the item, its units scanned now (of ``limit``; None in a count) and
    the new tally the screen keeps for the next scan."""

    sku: str
    name: str
    units: int
    limit: int | None
    tally: dict[str, int]


@dataclass(frozen=True)
class _Line:
    id: int
    sku: str
    limit: int | None


def _accept(session: Session, code: str, lines: Mapping[str, _Line], tally: Mapping[str, int],
            refusals: Mapping[str, tuple[str, dict[str, Any]]]) -> Scanned:
    """The scan of ``code`` added to ``tally``, or :class:`ScanRefused` naming the scan and why.
    ``refusals`` maps :data:`rules.NOT_LISTED` / :data:`rules.EXTRA` to the message code and
    parameters of this station (``{sku}``, ``{name}``, ``{qty}`` are filled in here)."""
    code = (code or "").strip()
    product = barcodes.product_by_code(session, code)
    if product is None:
        raise ScanRefused("pack.unknown_barcode", f"barcode {code!r} belongs to no product", barcode=code)
    limits = {sku: line.limit for sku, line in lines.items()}
    why = rules.refusal(limits, tally, product.sku)
    if why is not None:
        key, params = refusals[why]
        line = lines.get(product.sku)
        full = {**params, "sku": product.sku, "name": product.name, "code": code,
                "qty": line.limit if line is not None else 0}
        raise ScanRefused(key, f"scan {code!r} refused: {why} ({product.sku})", **full)
    new = rules.add_unit(tally, product.sku)
    return Scanned(product.sku, product.name, new[product.sku], limits[product.sku], new)


def _check_tally(lines: Mapping[str, _Line], tally: Mapping[str, int]) -> dict[str, int]:
    """The tally as ``{sku: units}`` of whole units ≥ 0, all taken by the document; else
    ValidationError naming each SKU not taken (nothing is written)."""
    clean: dict[str, int] = {}
    issues: list[FieldIssue] = []
    for sku, units in sorted(tally.items()):
        if not isinstance(units, int) or isinstance(units, bool) or units < 0:
            issues.append(FieldIssue("tally", "scan_issue.bad_units", value=units, params={"sku": sku}))
        elif units:
            clean[str(sku)] = units
    limits = {sku: line.limit for sku, line in lines.items()}
    issues += [FieldIssue("tally", "scan_issue.not_taken", value=sku,
                          params={"sku": sku, "units": clean[sku],
                                  "limit": limits.get(sku) if limits.get(sku) is not None else 0})
               for sku in rules.stray(limits, clean)]
    if issues:
        raise ValidationError(issues)
    return clean


# --- receiving against a purchase order ---------------------------------------------------------


def _po_lines(session: Session, po_id: int) -> tuple[PurchaseOrder, dict[str, _Line]]:
    """The receivable PO (its row locked in a write transaction: lock order) and SKU → its line,
    limited to what is still outstanding."""
    po = session.execute(select(PurchaseOrder).where(PurchaseOrder.id == po_id)).scalar_one_or_none()
    if po is None:
        raise Refused("scan.no_document", document=str(po_id))
    if po.status not in RECEIVABLE_STATUSES:
        raise IllegalTransition.coded("cc.po_not_receivable", number=po.number, status=po.status)
    rows = session.execute(select(POLine.id, Product.sku, POLine.qty_ordered - POLine.qty_received)
                           .join(Product, Product.id == POLine.product_id).where(POLine.po_id == po_id))
    return po, {sku: _Line(line_id, sku, int(left)) for line_id, sku, left in rows}


@read_only
def scan_receipt(session: Session, po_id: int, code: str, tally: Mapping[str, int], actor: Actor) -> Scanned:
    """One unit scanned off a supplier's delivery: +1 against its open PO line."""
    require(actor, "stock.receive")
    po, lines = _po_lines(session, po_id)
    return _accept(session, code, lines, tally, {
        rules.NOT_LISTED: ("scan.not_on_po", {"number": po.number}),
        rules.EXTRA: ("scan.extra_on_po", {"number": po.number})})


@unit_of_work
def commit_receipt_scans(session: Session, po_id: int, tally: Mapping[str, int], actor: Actor, *,
                         bins: Mapping[str, str] | None = None, note: str | None = None) -> ReceiptResult:
    """Receive the scanned units (``bins``: SKU → putaway bin, blank = its home bin) in one
    transaction through :func:`core.services.purchasing.receive_po`."""
    require(actor, "stock.receive")
    _, lines = _po_lines(session, po_id)
    units = _check_tally(lines, tally)
    putaway = {lines[sku].id: code for sku, code in (bins or {}).items() if sku in lines and code}
    return receive_po(po_id, {lines[sku].id: n for sku, n in units.items()}, actor, note=note,
                      bins=putaway or None, session=session)


# --- counting a bin ------------------------------------------------------------------------------


def _bin(session: Session, warehouse: str, bin_code: str) -> tuple[int, int, str]:
    """``(warehouse id, bin id, bin code)`` of an active bin, or Refused naming it."""
    code = (bin_code or "").strip().upper()
    found = session.execute(select(Warehouse.id, Bin.id, Bin.code).join(Bin, Bin.warehouse_id == Warehouse.id).where(
        Warehouse.code == warehouse, Bin.code == code, Bin.active.is_(True))).first()
    if found is None:
        raise Refused("scan.unknown_bin", bin=code or "—", warehouse=warehouse)
    return int(found[0]), int(found[1]), str(found[2])


def _bin_products(session: Session, warehouse_id: int, bin_id: int) -> list[Any]:
    """The products whose home bin this is: sku, name, barcode, on hand in the warehouse."""
    return list(session.execute(
        select(Product.sku, Product.name, Product.barcode, StockLevel.on_hand)
        .join(ProductBin, ProductBin.product_id == Product.id)
        .outerjoin(StockLevel, (StockLevel.product_id == Product.id) & (StockLevel.warehouse_id == warehouse_id))
        .where(ProductBin.warehouse_id == warehouse_id, ProductBin.bin_id == bin_id).order_by(Product.sku)))


@read_only
def bin_count_sheet(session: Session, warehouse: str, bin_code: str, actor: Actor) -> pd.DataFrame:
    """What the system expects in a bin: each product homed there and its on-hand quantity."""
    require(actor, "stock.adjust")
    wh_id, bin_id, _ = _bin(session, warehouse, bin_code)
    return pd.DataFrame([(r.sku, r.name, r.barcode, int(r.on_hand or 0)) for r in _bin_products(session, wh_id, bin_id)],
                        columns=SHEET_COLUMNS)


def _count_lines(session: Session, warehouse: str, bin_code: str) -> tuple[str, dict[str, _Line], dict[str, Any]]:
    wh_id, bin_id, code = _bin(session, warehouse, bin_code)
    products = {r.sku: r for r in _bin_products(session, wh_id, bin_id)}
    return code, {sku: _Line(0, sku, None) for sku in products}, products


@read_only
def scan_count(session: Session, warehouse: str, bin_code: str, code: str, tally: Mapping[str, int],
               actor: Actor) -> Scanned:
    """One unit counted in a bin: refused when the item's home is another bin (or none)."""
    require(actor, "stock.adjust")
    bin_name, lines, _ = _count_lines(session, warehouse, bin_code)
    product = barcodes.product_by_code(session, code)
    home = None
    if product is not None and product.sku not in lines:
        home = session.execute(select(Bin.code).join(ProductBin, ProductBin.bin_id == Bin.id).join(
            Warehouse, Warehouse.id == ProductBin.warehouse_id).where(
            ProductBin.product_id == product.id, Warehouse.code == warehouse)).scalar_one_or_none()
    return _accept(session, code, lines, tally, {
        rules.NOT_LISTED: ("scan.not_in_bin" if home else "scan.no_home_bin", {"bin": bin_name, "home": home or ""}),
        rules.EXTRA: ("scan.count_bound", {"bin": bin_name})})


@read_only
def bin_count_review(session: Session, warehouse: str, bin_code: str, tally: Mapping[str, int],
                     actor: Actor) -> pd.DataFrame:
    """Every product of the bin with its expected and counted units and the difference, the
    differences first: what posting would change (an unscanned product counts 0)."""
    require(actor, "stock.adjust")
    _, lines, products = _count_lines(session, warehouse, bin_code)
    units = _check_tally(lines, tally)
    frame = pd.DataFrame([(sku, p.name, int(p.on_hand or 0), units.get(sku, 0), units.get(sku, 0) - int(p.on_hand or 0))
                          for sku, p in products.items()], columns=REVIEW_COLUMNS)
    return frame.sort_values(["delta", "sku"], key=lambda c: c.abs() if c.name == "delta" else c,
                             ascending=[False, True], ignore_index=True)


@unit_of_work
def post_bin_count(session: Session, warehouse: str, bin_code: str, tally: Mapping[str, int],
                   expected: Mapping[str, int], reason_code: str, actor: Actor) -> CountResult:
    """Post the count of a bin in one transaction through :func:`core.services.inventory.post_count`:
    every product homed in the bin, counted = its tally (0 when not scanned), against the
    ``expected`` units the screen showed (a product whose stock moved since is refused there)."""
    require(actor, "stock.adjust")
    bin_name, lines, products = _count_lines(session, warehouse, bin_code)
    units = _check_tally(lines, tally)
    note = f"bin {bin_name}"
    count = [CountLine(sku, int(expected.get(sku, int(p.on_hand or 0))), units.get(sku, 0), reason_code, note)
             for sku, p in products.items()]
    if not count:
        raise Refused("scan.empty_bin", bin=bin_name)
    return post_count(warehouse, count, actor, session=session)


# --- transfers: out at the source, in at the destination ----------------------------------------


def _transfer_lines(session: Session, transfer_id: int, direction: Direction) -> tuple[Transfer, dict[str, _Line]]:
    """The transfer and SKU → its line, limited to what ships (out) or is still on the way (in)."""
    transfer = session.execute(select(Transfer).where(Transfer.id == transfer_id)).scalar_one_or_none()
    if transfer is None:
        raise Refused("scan.no_document", document=str(transfer_id))
    if direction == "out" and transfer.status != "draft":
        raise IllegalTransition.coded("cc.transfer_not_shippable", number=transfer.number, status=transfer.status)
    if direction == "in" and transfer.status not in OPEN_STATUSES:
        raise IllegalTransition.coded("cc.transfer_not_receivable", number=transfer.number, status=transfer.status)
    rows = session.execute(select(TransferLine.id, Product.sku, TransferLine.qty, TransferLine.qty_shipped,
                                  TransferLine.qty_received).join(Product, Product.id == TransferLine.product_id)
                           .where(TransferLine.transfer_id == transfer_id))
    return transfer, {sku: _Line(lid, sku, int(qty if direction == "out" else shipped - received))
                      for lid, sku, qty, shipped, received in rows}


@read_only
def scan_transfer(session: Session, transfer_id: int, direction: Direction, code: str, tally: Mapping[str, int],
                  actor: Actor) -> Scanned:
    """One unit scanned out of the source (``out``) or into the destination (``in``)."""
    require(actor, "stock.transfer" if direction == "out" else "stock.receive")
    transfer, lines = _transfer_lines(session, transfer_id, direction)
    return _accept(session, code, lines, tally, {
        rules.NOT_LISTED: ("scan.not_on_transfer", {"number": transfer.number}),
        rules.EXTRA: ("scan.extra_on_transfer", {"number": transfer.number})})


@unit_of_work
def ship_scanned_transfer(session: Session, transfer_id: int, tally: Mapping[str, int], actor: Actor) -> TransferResult:
    """Ship a draft whose every unit was scanned out: a transfer leaves whole, so a tally short
    of any line is refused naming each SKU and its scanned/asked units."""
    require(actor, "stock.transfer")
    _, lines = _transfer_lines(session, transfer_id, "out")
    units = _check_tally(lines, tally)
    diffs = rules.differences({sku: line.limit or 0 for sku, line in lines.items()}, units)
    if diffs:
        raise ValidationError([FieldIssue("tally", "scan_issue.short_out", value=d.sku,
                                          params={"sku": d.sku, "scanned": d.scanned, "qty": d.expected})
                               for d in diffs])
    return ship_transfer(transfer_id, actor, session=session)


@unit_of_work
def receive_scanned_transfer(session: Session, transfer_id: int, tally: Mapping[str, int], actor: Actor, *,
                             close_short: bool = False) -> TransferResult:
    """Book the units scanned in at the destination through
    :func:`core.services.transfers.receive_transfer` (``close_short``: the rest was lost)."""
    require(actor, "stock.receive")
    _, lines = _transfer_lines(session, transfer_id, "in")
    units = _check_tally(lines, tally)
    return receive_transfer(transfer_id, {lines[sku].id: n for sku, n in units.items()}, actor,
                            close_short=close_short, session=session)
