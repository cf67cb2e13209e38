"""Master data a shop maintains itself: warehouses, sales channels, suppliers and carriers.

Each call checks the role, validates the whole input (every bad field is reported with its
name and reason, and nothing is written), writes, bumps the reference-data version
(:func:`core.refdata.bump`: the next order in every process sees the change) and writes one
audit row — in one transaction.

Identity and references:
- Warehouses and channels are known by their **code** (trimmed, upper-cased, letters, digits,
  ``-`` and ``_``, at most :data:`CODE_MAX`): rules, import profiles and files name them by
  code, so a code never changes. "Renaming" changes the name; orders, stock and rules keep
  pointing at the same row.
- Carriers are known by their code too; their **name** is what orders hold (``orders.carrier``
  is text: imports and carriers' CSVs write it), so it is unique as well. A carrier's
  ``tracking_url`` (``https://…{tracking_no}…``) is the tracking page a shipment message links
  to (:mod:`core.services.notification_messages`). Nothing refers to a carrier by key, so one
  can be deleted unless a carrier rule names it.
- Suppliers are known by their name (unique, case-insensitive) and may be renamed; products
  and purchase orders refer to them by id.
- A row something else refers to is **deactivated, never deleted**; deleting is allowed only
  for a row nothing refers to (a typo just entered).
- A warehouse an *active* allocation rule sends orders to cannot be deactivated: the refusal
  names the rule, which must be changed or deactivated first (:mod:`core.services.rules_admin`
  in turn refuses an active rule naming an unknown or inactive warehouse). Nor can one that
  still holds stock: the units would vanish from every availability figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, refdata
from core import product_rules as fr
from core.db import read_only, unit_of_work
from core.domain import parcels
from core.domain.rules import condition_values
from core.errors import FieldIssue, Refused, ValidationError
from core.geo import normalise_province, region_of
from core.models import Base, Carrier, Channel, Rule, StockLevel, Supplier, Warehouse
from core.permissions import Actor, require
from core.services.notification_messages import TRACKING_PLACEHOLDER

CODE_MAX = 16
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
CHANNEL_KINDS = ("store", "marketplace", "social", "mini_program", "group_buy", "b2b")
NAME_MAX = 64  # warehouse and channel names (column width)
SUPPLIER_NAME_MAX, CONTACT_MAX = 128, 128
REGION_MAX, PROVINCE_MAX, CITY_MAX, ADDRESS_MAX = 16, 32, 32, 200
LEAD_TIME_MAX, MOQ_MAX, RETURN_WINDOW_MAX = 365, 1_000_000, 365
SHIP_COST_MAX = Decimal("10000.00")
CARRIER_NAME_MAX, TRACKING_URL_MAX, CARRIER_TEXT_MAX = 32, 300, 200  # a carrier's name as orders.carrier holds it

WAREHOUSE_COLUMNS = ["code", "name", "region", "province", "city", "address", "is_store", "ship_cost", "active"]
CHANNEL_COLUMNS = ["code", "name", "kind", "return_window_days", "active"]
SUPPLIER_COLUMNS = ["id", "name", "contact", "supplier_lead_time_days", "moq", "active"]
CARRIER_COLUMNS = ["code", "name", "services", "tracking_pattern", "tracking_url", "active"]


@dataclass(frozen=True)
class WarehouseInput:
    code: str
    name: str
    region: str = ""  # blank: derived from the province (华东, 华南 …) where it is a Chinese one
    province: str = ""
    city: str = ""
    address: str = ""
    is_store: bool = False
    ship_cost: Decimal | str = "0.00"  # per parcel, used when allocation weighs cost


@dataclass(frozen=True)
class ChannelInput:
    code: str
    name: str
    kind: str
    return_window_days: int = 7


@dataclass(frozen=True)
class SupplierInput:
    name: str
    contact: str = ""
    lead_time_days: int = 7
    moq: int = 1


@dataclass(frozen=True)
class CarrierInput:
    code: str
    name: str
    tracking_url: str = ""  # blank: shipment messages carry no link
    services: str = ""  # what it sells, comma-separated ("标快, 特快"); the first is printed on labels
    tracking_pattern: str = ""  # regular expression every tracking number matches; blank: not checked


@dataclass(frozen=True)
class Saved:
    """What a save did: the row's key (code, or supplier name) and id, whether it was created,
    and each changed field as ``(before, after)`` (empty: nothing needed changing)."""

    key: str
    id: int
    created: bool
    changes: dict[str, tuple[Any, Any]]


# --- validation ------------------------------------------------------------------------------


def normalise_code(raw: object) -> str:
    """``" hz-01 "`` → ``"HZ-01"``: how codes are stored and looked up."""
    return str(raw or "").strip().upper()


def _code(raw: object, issues: list[FieldIssue]) -> str:
    code = normalise_code(raw)
    if not code:
        issues.append(FieldIssue("code", "issue.required"))
    elif len(code) > CODE_MAX:
        issues.append(FieldIssue("code", "md.issue_code_length", value=code, params={"code": code, "n": CODE_MAX}))
    elif not CODE_PATTERN.fullmatch(code):
        issues.append(FieldIssue("code", "md.issue_code_chars", value=code, params={"code": code}))
    return code


def _raise(issues: list[FieldIssue]) -> None:
    if issues:
        raise ValidationError(issues)


def warehouse_values(data: WarehouseInput) -> dict[str, Any]:
    """The row values of ``data``, checked; raises ValidationError naming every bad field."""
    issues: list[FieldIssue] = []
    values: dict[str, Any] = {
        "code": _code(data.code, issues),
        "name": fr.bounded_text(data.name, "name", NAME_MAX, issues, required=True),
        "region": fr.bounded_text(data.region, "region", REGION_MAX, issues),
        "province": fr.bounded_text(data.province, "province", PROVINCE_MAX, issues),
        "city": fr.bounded_text(data.city, "city", CITY_MAX, issues),
        "address": fr.bounded_text(data.address, "address", ADDRESS_MAX, issues) or None,
        "is_store": bool(data.is_store),
        "ship_cost": fr.decimal(data.ship_cost, "ship_cost", issues, places=fr.CENT, high=SHIP_COST_MAX,
                                required=False) or Decimal("0.00"),
    }
    _raise(issues)
    if not values["region"]:
        values["region"] = region_of(normalise_province(values["province"])) or ""
    return values


def channel_values(data: ChannelInput) -> dict[str, Any]:
    issues: list[FieldIssue] = []
    kind = str(data.kind or "").strip().lower()
    if kind not in CHANNEL_KINDS:
        issues.append(FieldIssue("kind", "issue.one_of", value=data.kind, params={"choices": ", ".join(CHANNEL_KINDS)}))
    values = {
        "code": _code(data.code, issues),
        "name": fr.bounded_text(data.name, "name", NAME_MAX, issues, required=True),
        "kind": kind,
        "return_window_days": fr.whole(data.return_window_days, "return_window_days", issues, low=0,
                                       high=RETURN_WINDOW_MAX, required=True),
    }
    _raise(issues)
    return values


def supplier_values(data: SupplierInput) -> dict[str, Any]:
    issues: list[FieldIssue] = []
    values = {
        "name": fr.bounded_text(data.name, "name", SUPPLIER_NAME_MAX, issues, required=True),
        "contact": fr.bounded_text(data.contact, "contact", CONTACT_MAX, issues) or None,
        "lead_time_days": fr.whole(data.lead_time_days, "supplier_lead_time_days", issues, low=0,
                                   high=LEAD_TIME_MAX, required=True),
        "moq": fr.whole(data.moq, "moq", issues, low=1, high=MOQ_MAX, required=True),
    }
    _raise(issues)
    return values


def carrier_values(data: CarrierInput) -> dict[str, Any]:
    """A carrier's row values, checked: the tracking page must be an http(s) address holding
    ``{tracking_no}`` once (where the parcel's number goes) and no other ``{…}``."""
    issues: list[FieldIssue] = []
    values = {
        "code": _code(data.code, issues),
        "name": fr.bounded_text(data.name, "name", CARRIER_NAME_MAX, issues, required=True),
        "tracking_url": fr.bounded_text(data.tracking_url, "tracking_url", TRACKING_URL_MAX, issues) or None,
        "services": ", ".join(p.strip() for p in fr.bounded_text(data.services, "services", CARRIER_TEXT_MAX,
                                                                 issues).replace("，", ",").split(",")
                              if p.strip()) or None,
        "tracking_pattern": fr.bounded_text(data.tracking_pattern, "tracking_pattern", CARRIER_TEXT_MAX,
                                            issues) or None,
    }
    if values["tracking_pattern"] and (why := parcels.pattern_error(values["tracking_pattern"])):
        issues.append(FieldIssue("tracking_pattern", "md.issue_tracking_pattern", value=values["tracking_pattern"],
                                 params={"why": why}))
    url = values["tracking_url"]
    if url is not None and not any(i.field == "tracking_url" for i in issues):
        rest = url.replace(TRACKING_PLACEHOLDER, "", 1)
        if not url.lower().startswith(("https://", "http://")) or any(c.isspace() for c in url):
            issues.append(FieldIssue("tracking_url", "md.issue_tracking_url_scheme", value=url))
        elif TRACKING_PLACEHOLDER not in url or "{" in rest or "}" in rest:
            issues.append(FieldIssue("tracking_url", "md.issue_tracking_url_placeholder", value=url))
    _raise(issues)
    return values


# --- one write path for the master tables -----------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """How one master table is written: its model, audit entity, key column and permission."""

    model: type[Warehouse | Channel | Supplier | Carrier]
    entity: str
    key: str  # "code" or "name"
    permission: str


WAREHOUSES = _Table(Warehouse, "warehouse", "code", "masterdata.edit")
CHANNELS = _Table(Channel, "channel", "code", "masterdata.edit")
SUPPLIERS = _Table(Supplier, "supplier", "name", "supplier.edit")
CARRIERS = _Table(Carrier, "carrier", "code", "masterdata.edit")


def _key_taken(session: Session, table: _Table, key: str, except_id: int | None = None) -> bool:
    column = getattr(table.model, table.key)
    where = func.lower(column) == key.lower() if table.key == "name" else column == key
    stmt = select(table.model.id).where(where)
    if except_id is not None:
        stmt = stmt.where(table.model.id != except_id)
    return session.execute(stmt).first() is not None


def _taken(table: _Table, key: str) -> ValidationError:
    return ValidationError([FieldIssue(table.key, f"md.issue_{table.key}_taken", value=key, params={table.key: key})])


def create_row(session: Session, table: _Table, values: dict[str, Any], actor: Actor) -> Saved:
    """Insert a new row (active); refuses a key already in use. A step of a service: the caller
    checked the permission and owns the transaction."""
    key = values[table.key]
    if _key_taken(session, table, key):
        raise _taken(table, key)
    row = table.model(**values, active=True)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # taken between the check and the insert by a concurrent save
        raise _taken(table, key) from None
    refdata.bump(session)
    audit.record(session, actor, f"{table.entity}.create", table.entity, row.id, after={**values, "active": True})
    return Saved(key, row.id, True, {f: (None, v) for f, v in values.items()})


def update_row(session: Session, table: _Table, row: Any, values: dict[str, Any], actor: Actor) -> Saved:
    """Change the fields in ``values`` that differ; an unchanged save writes nothing. A step of a
    service: the caller checked the permission and owns the transaction."""
    if table.key in values and _key_taken(session, table, values[table.key], except_id=row.id):
        raise _taken(table, values[table.key])
    changes = {f: (getattr(row, f), v) for f, v in values.items() if getattr(row, f) != v}
    if changes:
        for field, (_, new) in changes.items():
            setattr(row, field, new)
        session.flush()
        refdata.bump(session)
        audit.record(session, actor, f"{table.entity}.update", table.entity, row.id,
                     before={f: old for f, (old, _) in changes.items()},
                     after={f: new for f, (_, new) in changes.items()})
    return Saved(getattr(row, table.key), row.id, False, changes)


def _by_code(session: Session, table: _Table, code: str) -> Any:
    code = normalise_code(code)
    row = session.execute(select(table.model).where(getattr(table.model, table.key) == code)).scalar_one_or_none()
    if row is None:
        raise Refused(f"md.unknown_{table.entity}", code=code)
    return row


def _supplier(session: Session, supplier_id: int) -> Supplier:
    row = session.get(Supplier, supplier_id)
    if row is None:
        raise Refused("md.unknown_supplier", id=supplier_id)
    return row


def _set_active(session: Session, table: _Table, row: Any, active: bool, actor: Actor,
                check: Callable[[], None] | None = None) -> bool:
    """Flip ``active``; False when it already was. ``check`` may refuse a deactivation."""
    if bool(row.active) == active:
        return False
    if not active and check is not None:
        check()
    row.active = active
    session.flush()
    refdata.bump(session)
    audit.record(session, actor, f"{table.entity}.{'activate' if active else 'deactivate'}", table.entity, row.id,
                 before={"active": not active}, after={"active": active})
    return True


def references(session: Session, table: _Table, row_id: int) -> dict[str, int]:
    """Rows of other tables that point at this one, per table (foreign keys only)."""
    target = table.model.__table__
    counts: dict[str, int] = {}
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is target:
                n = session.execute(select(func.count()).select_from(other).where(fk.parent == row_id)).scalar_one()
                if n:
                    counts[other.name] = counts.get(other.name, 0) + int(n)
    return counts


def _rules_naming(session: Session, kind: str, test: Callable[[Rule], bool]) -> list[Rule]:
    return [r for r in session.execute(select(Rule).where(Rule.kind == kind).order_by(Rule.id)).scalars() if test(r)]


def _delete(session: Session, table: _Table, row: Any, actor: Actor, rule_uses: list[Rule]) -> None:
    """Delete a row nothing refers to; otherwise refuse and say what uses it."""
    uses = references(session, table, row.id)
    uses |= {"rules": len(rule_uses)} if rule_uses else {}
    key = getattr(row, table.key)
    if uses:
        raise Refused("md.in_use", item=key, uses=", ".join(f"{name} {n}" for name, n in sorted(uses.items())))
    before = {c.name: getattr(row, c.name) for c in table.model.__table__.columns if c.name != "id"}
    session.delete(row)
    session.flush()
    refdata.bump(session)
    audit.record(session, actor, f"{table.entity}.delete", table.entity, row.id, before=before)


# --- warehouses ------------------------------------------------------------------------------


@read_only
def list_warehouses(session: Session, actor: Actor) -> pd.DataFrame:
    """Every warehouse, active or not (``WAREHOUSE_COLUMNS``), by code."""
    require(actor, "masterdata.view")
    rows = session.execute(select(*(getattr(Warehouse, c) for c in WAREHOUSE_COLUMNS)).order_by(Warehouse.code)).all()
    return pd.DataFrame(rows, columns=WAREHOUSE_COLUMNS)


@unit_of_work
def create_warehouse(session: Session, data: WarehouseInput, actor: Actor) -> Saved:
    require(actor, WAREHOUSES.permission)
    return create_row(session, WAREHOUSES, warehouse_values(data), actor)


@unit_of_work
def update_warehouse(session: Session, data: WarehouseInput, actor: Actor) -> Saved:
    """Change the warehouse ``data.code`` (name, place, store flag, shipping cost)."""
    require(actor, WAREHOUSES.permission)
    values = warehouse_values(data)
    return update_row(session, WAREHOUSES, _by_code(session, WAREHOUSES, values["code"]), values, actor)


def _allocation_rules_to(session: Session, code: str, *, active_only: bool) -> list[Rule]:
    return _rules_naming(session, "allocation", lambda r: (r.active or not active_only)
                         and isinstance(r.action, dict) and r.action.get("warehouse") == code)


@unit_of_work
def set_warehouse_active(session: Session, code: str, active: bool, actor: Actor) -> bool:
    """(De)activate a warehouse; False when nothing changed. Refused while an active allocation
    rule sends orders there (the rule is named) or while it holds stock."""
    require(actor, WAREHOUSES.permission)
    row = _by_code(session, WAREHOUSES, code)

    def check() -> None:
        rules = _allocation_rules_to(session, row.code, active_only=True)
        if rules:
            raise Refused("md.warehouse_in_rule", code=row.code, rule=rules[0].name)
        units = session.execute(select(func.coalesce(func.sum(StockLevel.on_hand), 0))
                                .where(StockLevel.warehouse_id == row.id)).scalar_one()
        if units:
            raise Refused("md.warehouse_has_stock", code=row.code, units=int(units))

    return _set_active(session, WAREHOUSES, row, active, actor, check)


@unit_of_work
def delete_warehouse(session: Session, code: str, actor: Actor) -> None:
    """Delete a warehouse nothing refers to (no stock rows, orders, rules …)."""
    require(actor, WAREHOUSES.permission)
    row = _by_code(session, WAREHOUSES, code)
    _delete(session, WAREHOUSES, row, actor, _allocation_rules_to(session, row.code, active_only=False))


# --- channels --------------------------------------------------------------------------------


@read_only
def list_channels(session: Session, actor: Actor) -> pd.DataFrame:
    """Every sales channel, active or not (``CHANNEL_COLUMNS``), by code."""
    require(actor, "masterdata.view")
    rows = session.execute(select(*(getattr(Channel, c) for c in CHANNEL_COLUMNS)).order_by(Channel.code)).all()
    return pd.DataFrame(rows, columns=CHANNEL_COLUMNS)


@unit_of_work
def create_channel(session: Session, data: ChannelInput, actor: Actor) -> Saved:
    require(actor, CHANNELS.permission)
    return create_row(session, CHANNELS, channel_values(data), actor)


@unit_of_work
def update_channel(session: Session, data: ChannelInput, actor: Actor) -> Saved:
    """Change the channel ``data.code`` (name, kind, return window)."""
    require(actor, CHANNELS.permission)
    values = channel_values(data)
    return update_row(session, CHANNELS, _by_code(session, CHANNELS, values["code"]), values, actor)


@unit_of_work
def set_channel_active(session: Session, code: str, active: bool, actor: Actor) -> bool:
    """(De)activate a channel: an inactive one takes no new orders; its history stays."""
    require(actor, CHANNELS.permission)
    return _set_active(session, CHANNELS, _by_code(session, CHANNELS, code), active, actor)


@unit_of_work
def delete_channel(session: Session, code: str, actor: Actor) -> None:
    """Delete a channel nothing refers to (no orders, identities, imports, rules testing it)."""
    require(actor, CHANNELS.permission)
    row = _by_code(session, CHANNELS, code)
    rules = [r for kind in ("review", "allocation", "carrier")
             for r in _rules_naming(session, kind, lambda r: row.code in condition_values(r.condition, "channel"))]
    _delete(session, CHANNELS, row, actor, rules)


# --- suppliers -------------------------------------------------------------------------------


@read_only
def list_suppliers(session: Session, actor: Actor) -> pd.DataFrame:
    """Every supplier, active or not (``SUPPLIER_COLUMNS``), by name."""
    require(actor, "masterdata.view")
    rows = session.execute(select(Supplier.id, Supplier.name, Supplier.contact, Supplier.lead_time_days, Supplier.moq,
                                  Supplier.active).order_by(Supplier.name)).all()
    return pd.DataFrame(rows, columns=SUPPLIER_COLUMNS)


@unit_of_work
def create_supplier(session: Session, data: SupplierInput, actor: Actor) -> Saved:
    require(actor, SUPPLIERS.permission)
    return create_row(session, SUPPLIERS, supplier_values(data), actor)


@unit_of_work
def update_supplier(session: Session, supplier_id: int, data: SupplierInput, actor: Actor) -> Saved:
    """Change a supplier, renaming included (products and purchase orders follow by id)."""
    require(actor, SUPPLIERS.permission)
    return update_row(session, SUPPLIERS, _supplier(session, supplier_id), supplier_values(data), actor)


@unit_of_work
def set_supplier_active(session: Session, supplier_id: int, active: bool, actor: Actor) -> bool:
    """(De)activate a supplier: an inactive one is not offered for new purchase orders."""
    require(actor, SUPPLIERS.permission)
    return _set_active(session, SUPPLIERS, _supplier(session, supplier_id), active, actor)


@unit_of_work
def delete_supplier(session: Session, supplier_id: int, actor: Actor) -> None:
    """Delete a supplier no product or purchase order refers to."""
    require(actor, SUPPLIERS.permission)
    _delete(session, SUPPLIERS, _supplier(session, supplier_id), actor, [])


# --- carriers --------------------------------------------------------------------------------


@read_only
def list_carriers(session: Session, actor: Actor) -> pd.DataFrame:
    """Every carrier, active or not (``CARRIER_COLUMNS``), by code."""
    require(actor, "masterdata.view")
    rows = session.execute(select(*(getattr(Carrier, c) for c in CARRIER_COLUMNS)).order_by(Carrier.code)).all()
    return pd.DataFrame(rows, columns=CARRIER_COLUMNS)


def _carrier_name_free(session: Session, name: str, except_id: int | None = None) -> None:
    stmt = select(Carrier.id).where(func.lower(Carrier.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Carrier.id != except_id)
    if session.execute(stmt).first() is not None:
        raise ValidationError([FieldIssue("name", "md.issue_name_taken", value=name, params={"name": name})])


@unit_of_work
def create_carrier(session: Session, data: CarrierInput, actor: Actor) -> Saved:
    require(actor, CARRIERS.permission)
    values = carrier_values(data)
    _carrier_name_free(session, values["name"])
    return create_row(session, CARRIERS, values, actor)


@unit_of_work
def update_carrier(session: Session, data: CarrierInput, actor: Actor) -> Saved:
    """Change the carrier ``data.code`` (name, tracking page)."""
    require(actor, CARRIERS.permission)
    values = carrier_values(data)
    row = _by_code(session, CARRIERS, values["code"])
    _carrier_name_free(session, values["name"], except_id=row.id)
    return update_row(session, CARRIERS, row, values, actor)


@unit_of_work
def set_carrier_active(session: Session, code: str, active: bool, actor: Actor) -> bool:
    """(De)activate a carrier: an inactive one's tracking page is no longer linked."""
    require(actor, CARRIERS.permission)
    return _set_active(session, CARRIERS, _by_code(session, CARRIERS, code), active, actor)


@unit_of_work
def delete_carrier(session: Session, code: str, actor: Actor) -> None:
    """Delete a carrier no carrier rule names (orders keep its name as text)."""
    require(actor, CARRIERS.permission)
    row = _by_code(session, CARRIERS, code)
    _delete(session, CARRIERS, row, actor, _rules_naming(
        session, "carrier", lambda r: isinstance(r.action, dict) and r.action.get("carrier") == row.name))
