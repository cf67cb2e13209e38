"""``oms setup`` (first run: the shop's profile, first warehouses and channels) and
``oms warehouses|channels|suppliers list|add|update|activate|deactivate|delete``.

They run as the system account through the same services as the Shop setup and Master data
pages. Bad input exits non-zero with one line naming the field and the reason; nothing is
written then.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pandas as pd

from core.errors import FieldIssue, Refused, ValidationError, english
from core.permissions import SYSTEM
from core.services import master_data as md
from core.services.shop_setup import SetupRequest, SetupResult, parse_spec, set_up_shop


def _report(result: SetupResult) -> None:
    """One line per change, in the en catalog's words (the page shows the same in zh or en)."""
    if not result.changed_anything:
        print(english("setup.nothing_changed"))
    for field, (_, new) in result.profile.items():
        print(english("setup.profile_set", {"field": english(f"field.{field}"), "value": new}))
    for entity, code in result.created:
        print(english(f"setup.created_{entity}", {"code": code}))
    for entity, code, old, new in result.renamed:
        print(english(f"setup.renamed_{entity}", {"code": code, "old": old, "new": new}))
    for entity, code in result.unchanged:
        print(english(f"setup.unchanged_{entity}", {"code": code}))


def _specs(values: list[str] | None, with_kind: bool, field: str, issues: list[FieldIssue]) -> tuple:
    """Parsed ``--warehouse``/``--channel`` values; every malformed one is added to ``issues``."""
    parsed = []
    for row, text in enumerate(values or [], start=1):
        try:
            parsed.append(parse_spec(text, with_kind, field, row))
        except ValidationError as exc:
            issues.extend(exc.issues)
    return tuple(parsed)


def cmd_setup(args: argparse.Namespace) -> int:
    issues: list[FieldIssue] = []
    warehouses = _specs(args.warehouse, False, "warehouse", issues)
    channels = _specs(args.channel, True, "channel", issues)
    if issues:
        raise ValidationError(issues)
    request = SetupRequest(shop_name=args.shop_name, timezone=args.timezone, currency=args.currency,
                           language=args.language, warehouses=warehouses, channels=channels)
    _report(set_up_shop(request, SYSTEM))
    return 0


def _print_table(frame: pd.DataFrame) -> None:
    print(frame.to_string(index=False) if not frame.empty else "(none)")


def _saved(saved: md.Saved) -> None:
    if saved.created:
        print(english("md.created", {"item": saved.key}))
    elif saved.changes:
        changes = ", ".join(f"{f}: {old} → {new}" for f, (old, new) in saved.changes.items())
        print(f"{english('md.saved', {'item': saved.key})} {changes}")
    else:
        print(english("setup.nothing_changed"))


def _current(frame: pd.DataFrame, column: str, key: str | int) -> pd.Series | None:
    """The existing row an update starts from (options left out keep their value)."""
    match = frame[frame[column] == key]
    return None if match.empty else match.iloc[0]


def _option(args: argparse.Namespace, name: str, current: pd.Series | None, column: str, default: Any) -> Any:
    """The option as typed, else the current value, else ``default`` (untyped: argparse and pandas values)."""
    value = getattr(args, name)
    if value is not None:
        return value
    if current is not None and not pd.isna(current[column]):
        return current[column]
    return default


def _warehouse(args: argparse.Namespace) -> md.WarehouseInput:
    row = _current(md.list_warehouses(SYSTEM), "code", md.normalise_code(args.code)) if args.update else None

    def get(name: str, column: str, default: Any = "") -> Any:
        return _option(args, name, row, column, default)

    return md.WarehouseInput(code=args.code, name=get("name", "name"), region=get("region", "region"),
                             province=get("province", "province"), city=get("city", "city"),
                             address=get("address", "address"), is_store=bool(get("store", "is_store", False)),
                             ship_cost=get("ship_cost", "ship_cost", Decimal("0.00")))


def _channel(args: argparse.Namespace) -> md.ChannelInput:
    row = _current(md.list_channels(SYSTEM), "code", md.normalise_code(args.code)) if args.update else None
    return md.ChannelInput(code=args.code, name=_option(args, "name", row, "name", ""),
                           kind=_option(args, "kind", row, "kind", ""),
                           return_window_days=_option(args, "return_window", row, "return_window_days", 7))


def _supplier(args: argparse.Namespace, row: pd.Series | None) -> md.SupplierInput:
    return md.SupplierInput(name=args.new_name or args.name, contact=_option(args, "contact", row, "contact", ""),
                            lead_time_days=_option(args, "lead_time", row, "supplier_lead_time_days", 7),
                            moq=_option(args, "moq", row, "moq", 1))


def _supplier_id(name: str) -> int:
    """The id of the supplier called ``name`` (case-insensitive); refuses an unknown name."""
    frame = md.list_suppliers(SYSTEM)
    match = frame[frame["name"].str.lower() == name.strip().lower()]
    if match.empty:
        raise Refused("md.unknown_supplier", id=name)
    return int(match["id"].iloc[0])


def _register_crud(subparsers: argparse._SubParsersAction, noun: str, *,
                   fields: Callable[[argparse.ArgumentParser], None], by: str,
                   func: Callable[[argparse.Namespace], int]) -> None:
    """``oms <noun> list|add|update|activate|deactivate|delete`` with the noun's fields."""
    parser = subparsers.add_parser(noun, help=f"maintain {noun}")
    parser.set_defaults(func=func, update=False)
    group = parser.add_subparsers(dest=f"{noun}_command", required=True)
    group.add_parser("list", help=f"every {noun[:-1]}, active or not")
    fields(group.add_parser("add", help=f"add a {noun[:-1]}"))
    update = group.add_parser("update", help=f"change a {noun[:-1]}; options left out keep their value")
    fields(update)
    update.set_defaults(update=True)
    for verb in ("activate", "deactivate", "delete"):
        group.add_parser(verb, help=f"{verb} a {noun[:-1]}").add_argument(by)


def _warehouse_fields(p: argparse.ArgumentParser) -> None:
    p.add_argument("code")
    p.add_argument("--name")
    p.add_argument("--region")
    p.add_argument("--province")
    p.add_argument("--city")
    p.add_argument("--address")
    p.add_argument("--store", action=argparse.BooleanOptionalAction, help="a shop floor, not a DC")
    p.add_argument("--ship-cost", help="cost of one parcel from here (default 0.00)")


def _channel_fields(p: argparse.ArgumentParser) -> None:
    p.add_argument("code")
    p.add_argument("--name")
    p.add_argument("--kind", help=", ".join(md.CHANNEL_KINDS))
    p.add_argument("--return-window", help="days a customer may return (default 7)")


def _supplier_fields(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--new-name", help="update: rename the supplier")
    p.add_argument("--contact")
    p.add_argument("--lead-time", help="days from order to receipt (default 7)")
    p.add_argument("--moq", help="minimum order quantity (default 1)")


def cmd_warehouses(args: argparse.Namespace) -> int:
    verb = args.warehouses_command
    if verb == "list":
        _print_table(md.list_warehouses(SYSTEM))
    elif verb in ("add", "update"):
        _saved((md.create_warehouse if verb == "add" else md.update_warehouse)(_warehouse(args), SYSTEM))
    elif verb == "delete":
        md.delete_warehouse(args.code, SYSTEM)
        print(english("md.deleted", {"item": md.normalise_code(args.code)}))
    else:
        active = verb == "activate"
        md.set_warehouse_active(args.code, active, SYSTEM)
        print(english("md.activated" if active else "md.deactivated", {"item": md.normalise_code(args.code)}))
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    verb = args.channels_command
    if verb == "list":
        _print_table(md.list_channels(SYSTEM))
    elif verb in ("add", "update"):
        _saved((md.create_channel if verb == "add" else md.update_channel)(_channel(args), SYSTEM))
    elif verb == "delete":
        md.delete_channel(args.code, SYSTEM)
        print(english("md.deleted", {"item": md.normalise_code(args.code)}))
    else:
        active = verb == "activate"
        md.set_channel_active(args.code, active, SYSTEM)
        print(english("md.activated" if active else "md.deactivated", {"item": md.normalise_code(args.code)}))
    return 0


def cmd_suppliers(args: argparse.Namespace) -> int:
    verb = args.suppliers_command
    if verb == "list":
        _print_table(md.list_suppliers(SYSTEM).drop(columns=["id"]))
    elif verb == "add":
        _saved(md.create_supplier(_supplier(args, None), SYSTEM))
    elif verb == "update":
        supplier_id = _supplier_id(args.name)
        row = _current(md.list_suppliers(SYSTEM), "id", supplier_id)
        _saved(md.update_supplier(supplier_id, _supplier(args, row), SYSTEM))
    elif verb == "delete":
        md.delete_supplier(_supplier_id(args.name), SYSTEM)
        print(english("md.deleted", {"item": args.name}))
    else:
        active = verb == "activate"
        md.set_supplier_active(_supplier_id(args.name), active, SYSTEM)
        print(english("md.activated" if active else "md.deactivated", {"item": args.name}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("setup", help="first run: the shop's profile and its first warehouses and channels "
                                            "(idempotent)")
    p.add_argument("--shop-name")
    p.add_argument("--timezone", help="IANA name, e.g. Asia/Shanghai")
    p.add_argument("--currency", help="ISO 4217 code, e.g. CNY")
    p.add_argument("--language", help="zh or en: the default UI language")
    p.add_argument("--warehouse", action="append", metavar="CODE:NAME", help="repeatable")
    p.add_argument("--channel", action="append", metavar="CODE:NAME:KIND",
                   help=f"repeatable; KIND one of {', '.join(md.CHANNEL_KINDS)}")
    p.set_defaults(func=cmd_setup)

    for noun, fields, by, func in (("warehouses", _warehouse_fields, "code", cmd_warehouses),
                                   ("channels", _channel_fields, "code", cmd_channels),
                                   ("suppliers", _supplier_fields, "name", cmd_suppliers)):
        _register_crud(subparsers, noun, fields=fields, by=by, func=func)
