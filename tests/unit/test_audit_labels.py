"""Every action and record kind the audit log can hold has a label in Chinese and English: the
audit page shows "发送采购单", never the raw code "po.send". The codes are read from the source
(every ``audit.record(session, actor, ACTION, ENTITY, …)`` call); a code built at run time is
expanded from the values it can take, listed here — a new one fails until it is listed."""

from __future__ import annotations

import ast
from pathlib import Path

from core import i18n
from core.domain import returns, rulebook
from core.importing.fields import KINDS as IMPORT_KINDS
from core.services.planning_calendar import KINDS as CALENDAR_KINDS

ROOT = Path(__file__).resolve().parents[2]
MASTER_TABLES = ("warehouse", "channel", "supplier", "carrier")
DYNAMIC: dict[str, tuple[str, ...]] = {
    "f'import.{options.kind}'": tuple(f"import.{k}" for k in IMPORT_KINDS),
    "f'{table.entity}.create'": tuple(f"{e}.create" for e in MASTER_TABLES),
    "f'{table.entity}.update'": tuple(f"{e}.update" for e in MASTER_TABLES),
    "f'{table.entity}.delete'": tuple(f"{e}.delete" for e in MASTER_TABLES),
    "f\"{table.entity}.{('activate' if active else 'deactivate')}\"": tuple(
        f"{e}.{a}" for e in MASTER_TABLES for a in ("activate", "deactivate")),
    "f'stock.adjust_{status}'": ("stock.adjust_approved", "stock.adjust_rejected"),
    "f'rma.{event}'": tuple(f"rma.{e}" for e in returns.EVENTS),
    "f'replenish.{suggestion.status}'": ("replenish.accepted", "replenish.edited"),
    "f'order.{to_status}'": tuple(f"order.{s}" for s in rulebook.STATUSES),
    "f'calendar.add_{kind}'": tuple(f"calendar.add_{k}" for k in CALENDAR_KINDS),
    "action": ("backup.create", "backup.restore"),  # core.services.backup._record
    "table.entity": MASTER_TABLES,
}


def _values(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.IfExp):
        return _values(node.body) + _values(node.orelse)
    source = ast.unparse(node)
    assert source in DYNAMIC, f"an audit code built at run time, {source}: list its values in DYNAMIC"
    return DYNAMIC[source]


def audit_codes() -> tuple[set[str], set[str]]:
    """(actions, entities) of every ``audit.record`` call in core/."""
    actions: set[str] = set()
    entities: set[str] = set()
    for path in sorted((ROOT / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit"):
                actions.update(_values(node.args[2]))
                entities.update(_values(node.args[3]))
    return actions, entities


def test_every_audit_action_and_record_kind_has_a_label_in_both_languages() -> None:
    actions, entities = audit_codes()
    assert len(actions) > 60 and "po.send" in actions and "user" in entities
    missing = sorted(f"{prefix}.{code} ({lang})" for prefix, codes in (("action", actions), ("entity", entities))
                     for code in codes for lang in i18n.LANGUAGES if not i18n.has_key(f"{prefix}.{code}", lang))
    assert missing == []
