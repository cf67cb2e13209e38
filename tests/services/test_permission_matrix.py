"""Every public service function, called as every role, refuses (PermissionDenied) exactly
where the matrix in core.permissions says — and checks a permission at all.

Functions are discovered, not listed: every public function of ``core.services.*``,
``core.analytics.*`` and ``core.services.forecast_pipeline`` that takes an ``actor``. Each module's
``require`` is wrapped to record which action a call checked; a call is then right when it
raised PermissionDenied iff the checked action's roles exclude the caller. A new service that
forgets its check fails here (unless listed in ``NO_CHECK`` with the reason).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import os
import pkgutil
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import core.analytics
import core.db
import core.permissions
import core.services
from core.errors import PermissionDenied
from core.permissions import PERMISSIONS, ROLES, Actor

# Functions taking an actor that deliberately check no permission themselves, and why.
NO_CHECK: dict[str, str] = {
    "core.services.orders.backorders.reserve_backorders": "runs inside the arrival's transaction as the system's rule; the "
                                               "receiving service checked its own permission",
    "core.services.master_data.create_row": "write step inside a caller's transaction (create_warehouse … and "
                                            "set_up_shop checked masterdata.edit / supplier.edit first)",
    "core.services.master_data.update_row": "write step inside a caller's transaction (update_warehouse … and "
                                            "set_up_shop checked masterdata.edit / supplier.edit first)",
    "core.services.orders.holds.place": "write step inside intercept's and update_order's transactions, which "
                                         "checked order.edit first",
    "core.services.merging.leave_on_change": "write step inside transition's and update_order's transactions, "
                                              "which checked the move's own permission first",
    "core.services.forecast_runs.fail_run": "bookkeeping called by run_forecast for the run it started under "
                                            "forecast.run (records why the run stopped)",
    **{f"core.services.import_{name}": "write step inside run_import's transaction, which checked the kind's "
                                       "import permission first" for name in (
        "master.write_customers", "master.write_products", "master.write_stock",
        "orders.write_history", "orders.write_open")},
}


def _order_options() -> Any:
    from core.services import imports

    return imports.ImportOptions(kind="orders", profile=imports.default_profile("orders"))


def _order_files() -> Any:
    from core.services import imports

    return [imports.SourceFile("orders.csv", b"external_ref,placed_at,sku,qty\nM-1,2026-01-01 10:00,NOPE,1\n")]


def _saved_profile() -> str:
    """A saved order profile to delete (its kind decides the permission, so it must exist)."""
    from core.permissions import SYSTEM
    from core.services import imports

    shipped = imports.default_profile("orders")
    profile = type(shipped)(**(vars(shipped) | {"name": "matrix-orders"}))
    imports.save_profile(profile, SYSTEM)
    return profile.name


def _an_order() -> int:
    """A confirmed order (the permission of a move depends on where the order is)."""
    from sqlalchemy import select

    from core import db
    from core.models import Product
    from core.permissions import SYSTEM
    from core.services.orders import create_order
    from tests.factories import make_product, order_input

    with db.transaction(readonly=True) as s:
        missing = s.execute(select(Product.id).where(Product.sku == "MATRIX-1")).first() is None
    if missing:
        make_product("MATRIX-1", "10.00", {"SH": 1000})
    return create_order(order_input(("MATRIX-1", 1)), SYSTEM).id


def _a_job() -> int:
    """A queued forecast job (cancelling it needs forecast.run, so it must exist)."""
    from core.jobs import kinds, records
    from core.permissions import SYSTEM

    with core.db.transaction() as s:
        return records.create(s, kinds.FORECAST, {"permission": "forecast.run"}, SYSTEM)


def _a_failed_job() -> int:
    from sqlalchemy import update

    from core.models import Job

    job_id = _a_job()
    with core.db.transaction() as s:
        s.execute(update(Job).where(Job.id == job_id).values(status="failed"))
    return job_id


# The permission areas (action prefixes) each module's services may check: a service checking an
# action of another area (list_users checking "order.view") is a wrong check even if it is
# consistent with the matrix. A new module declares its areas here.
AREAS: dict[str, set[str]] = {
    "core.analytics.audit": {"audit"},
    "core.services.aftersales": {"rma"},
    "core.services.alerts": {"alert"},
    "core.services.api_orders": {"order"},
    "core.services.api_returns": {"rma"},
    "core.services.api_tokens": {"user"},
    "core.services.backup": {"backup"},
    "core.services.backup_schedule": {"backup"},
    "core.services.bins": {"stock"},
    "core.services.data_keys": {"keys"},
    "core.services.customer_names": {"keys"},
    "core.services.carriers": {"order", "masterdata"},
    "core.services.catalog": {"order", "stock"},
    "core.services.channel_stock": {"stock", "allocation"},
    "core.services.customers": {"customer"},
    "core.services.customer_profiles": {"customer"},
    "core.services.data_quality": {"dq"},
    "core.services.forecast_runs": {"forecast"},
    "core.services.fulfillment": {"order"},
    "core.services.imports": {"order", "stock", "finance"},
    "core.services.inventory": {"stock"},
    "core.services.kits": {"product", "stock", "dashboard"},
    "core.services.labels": {"order"},
    "core.services.jobs": {"forecast", "replenish", "order", "stock", "dashboard"},
    "core.services.master_data": {"masterdata", "supplier"},
    "core.services.merging": {"order"},
    "core.services.orders": {"order"},
    "core.services.outbox": {"notification"},
    "core.services.tracking_numbers": {"masterdata"},
    "core.services.payments": {"finance"},
    "core.services.scanning": {"stock"},
    "core.services.settlements": {"finance"},
    "core.services.finance_views": {"finance"},
    "core.services.accounting_export": {"finance"},
    "core.services.planning_calendar": {"forecast"},
    "core.services.product_master": {"product"},
    "core.services.purchasing": {"purchase", "stock"},
    "core.services.reconciliation": {"dq"},
    "core.services.replenishment": {"purchase", "replenish"},
    "core.services.return_policy": {"rma", "rules"},
    "core.services.rma_views": {"rma"},
    "core.services.rules_admin": {"rules"},
    "core.services.shop_settings": {"settings"},
    "core.services.shop_setup": {"settings", "masterdata"},
    "core.services.stock_allocation": {"allocation", "forecast"},
    "core.services.transfers": {"stock"},
    "core.services.users": {"user"},
    "core.services.waves": {"order"},
    "core.services.webhooks": {"webhook"},
    "core.services.forecast_pipeline": {"forecast"},
}
# Arguments a permission check depends on (the action follows from them), per function; a
# callable is called afresh for every call.
ARGUMENTS: dict[str, dict[str, Any]] = {
    "core.services.orders.lifecycle.transition": {"to_status": "confirmed", "order_id": lambda: _an_order()},
    "core.services.aftersales.transition_rma": {"to_status": "approved"},
    "core.services.imports.check_import": {"files": _order_files, "options": _order_options},
    "core.services.imports.run_import": {"files": _order_files, "options": _order_options},
    "core.services.imports.save_profile": {"profile": lambda: _order_options().profile},
    "core.services.imports.delete_profile": {"name": _saved_profile},
    "core.services.imports.start_import": {"files": _order_files, "options": _order_options},
    "core.services.jobs.submit": {"kind": "forecast.run", "params": {}, "action": "forecast.run"},
    "core.services.jobs.latest_job": {"kind": "forecast.run"},
    "core.services.jobs.get_job": {"job_id": _a_job},
    "core.services.jobs.cancel_job": {"job_id": _a_job},
    "core.services.jobs.retry_job": {"job_id": _a_failed_job},
    "core.services.scanning.scan_transfer": {"direction": "out"},
}


def module_areas(module: str) -> set[str]:
    """The areas of ``module`` or of the package it sits in (``core.services.orders.entry``)."""
    while module and module not in AREAS:
        module = module.rpartition(".")[0]
    return AREAS.get(module, set())


def service_modules() -> list[types.ModuleType]:
    found = []
    for package in (core.services, core.analytics):
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            found.append(importlib.import_module(info.name))
    return found


def service_functions() -> dict[str, Callable[..., Any]]:
    """``{qualified name: function}`` for every public function that takes an ``actor``."""
    functions = {}
    for module in service_modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and fn.__module__ == module.__name__ \
                    and "actor" in inspect.signature(fn).parameters:
                functions[f"{module.__name__}.{name}"] = fn
    return dict(sorted(functions.items()))


def _dummy(annotation: Any, tmp: Path) -> Any:
    """A harmless value of the annotated type (the check comes before any use of it)."""
    hint = annotation if not isinstance(annotation, str) else annotation.replace(" ", "")
    text = str(hint)
    for prefix, value in (("int", 1), ("bool", False), ("float", 1.0), ("Decimal", Decimal("1")), ("bytes", b""),
                          ("list", []), ("dict", {}), ("tuple", ()), ("dt.date", dt.date(2026, 1, 1)),
                          ("pd.DataFrame", pd.DataFrame()), ("str|Path", str(tmp / "missing")), ("str", "x")):
        if text.startswith(prefix) or text.startswith(f"<class '{prefix}"):
            return value
    origin = typing.get_origin(hint)
    return [] if origin is list else {} if origin is dict else None


def _arguments(name: str, fn: Callable[..., Any], actor: Actor, tmp: Path) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.name == "actor":
            kwargs["actor"] = actor
        elif param.name == "session" or param.default is not inspect.Parameter.empty \
                or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        else:
            kwargs[param.name] = _dummy(param.annotation, tmp)
    fixed = {key: value() if callable(value) else value for key, value in ARGUMENTS.get(name, {}).items()}
    return kwargs | fixed


CHECKS_FILE = Path(__file__).with_name("permission_checks.json")


def matrix_findings(tmp_path: Path, checked: list[str]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Call every service as every role: (wrong refusals, services checking nothing, the
    actions each service checked when called as admin)."""
    functions = service_functions()
    assert len(functions) > 40, "discovery should find the services"
    wrong: list[str] = []
    unchecked: list[str] = []
    actions: dict[str, list[str]] = {}
    for name, fn in functions.items():
        if name in NO_CHECK:
            continue
        saw_check = False
        for role in ROLES:
            kwargs = _arguments(name, fn, Actor(f"matrix-{role}", role), tmp_path)
            checked.clear()
            try:
                fn(**kwargs)
                denied = False
            except PermissionDenied:
                denied = True
            except Exception:  # noqa: BLE001 - past the permission check, the dummy arguments may fail
                denied = False
            if role == "admin":
                actions[name] = sorted(set(checked))
            if not checked:
                if denied:
                    saw_check = True  # refused by a check of its own (actor.can); nothing to compare
                continue
            saw_check = True
            areas = module_areas(name.rsplit(".", 1)[0])
            wrong += [f"{name} checks {a!r}, outside its module's areas {sorted(areas)}" for a in checked
                      if a.split(".")[0] not in areas]
            *passed, last = checked
            if any(role not in PERMISSIONS[a] for a in passed):
                wrong.append(f"{name} as {role}: went on after {passed} should have refused")
            expected = role not in PERMISSIONS[last]
            if denied != expected:
                wrong.append(f"{name} as {role}: checked {last!r}, {'refused' if denied else 'allowed'} "
                             f"but the matrix says {'refuse' if expected else 'allow'}")
        if not saw_check:
            unchecked.append(name)
    return wrong, unchecked, actions


def test_every_service_refuses_exactly_as_the_matrix_says(db_url: str, tmp_path: Path, checked: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusals follow the matrix for the action each service checks, and each service checks
    the action recorded in ``permission_checks.json`` (reviewed like code: a service that starts
    checking a weaker action of its own area fails here; ``OMS_UPDATE_PERMISSION_CHECKS=1``
    rewrites the file after a deliberate change)."""
    monkeypatch.setenv("OMS_BACKUP_DIR", str(tmp_path / "backups"))
    wrong, unchecked, actions = matrix_findings(tmp_path, checked)
    assert wrong == []
    assert unchecked == [], f"services that check no permission (add the check, or NO_CHECK with a reason): {unchecked}"
    if os.environ.get("OMS_UPDATE_PERMISSION_CHECKS") == "1":
        CHECKS_FILE.write_text(json.dumps(actions, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(CHECKS_FILE.read_text(encoding="utf-8"))
    changed = {name: (recorded.get(name), got) for name, got in actions.items() if recorded.get(name) != got}
    assert changed == {}, "services check other actions than recorded (recorded, now)"


def test_the_matrix_keeps_the_shops_rules() -> None:
    """The roles as the shops described them (docs/permissions.md)."""
    def roles(action: str) -> frozenset[str]:
        return PERMISSIONS[action]

    everything = set(PERMISSIONS)
    admin_only = {"user.manage", "settings.edit", "backup.run", "keys.manage"}
    assert all("admin" in roles(a) for a in everything)  # the owner's account can do all
    assert {a for a in everything if "manager" not in roles(a)} == admin_only  # manager: all but users/settings
    assert {"order.create", "order.view"} <= {a for a in everything if "clerk" in roles(a)}
    assert not {a for a in everything if "clerk" in roles(a) and a.split(".")[0] in ("stock", "rma", "cost")} - {
        "stock.view"}
    stock_changes = {"stock.adjust", "stock.transfer", "stock.receive", "stock.import", "stock.approve"}
    assert not {a for a in stock_changes if "service" in roles(a)}  # service: no stock changes
    assert {"order.view", "customer.view", "rma.create", "rma.decide"} <= {a for a in everything
                                                                          if "service" in roles(a)}
    assert "warehouse" not in roles("cost.view")  # warehouse: no costs or margins
    assert {"order.fulfil", "stock.adjust", "stock.transfer"} <= {a for a in everything if "warehouse" in roles(a)}
    assert {"replenish.decide", "purchase.edit", "stock.receive", "forecast.run"} <= {
        a for a in everything if "buyer" in roles(a)}
    pii = roles("customer.pii")
    assert "warehouse" not in pii and "buyer" not in pii  # masked phones and addresses for them
