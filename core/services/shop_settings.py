"""The shop's operating settings an admin may change without a developer: fulfilment SLA, due
time of new orders, when a delivery counts as overdue, the value above which a stock adjustment
waits for a manager, the size (units) above which it waits for a second person, the refund
above which a second person must approve, whether packing must be verified by scan, and when
scheduled backups run and how many are kept.

They live in the ``settings`` table (``{key: {name: value}}``) and are read everywhere through
the reference-data snapshot, so a change takes effect on the next action of every user once
:func:`core.refdata.bump` has moved the snapshot's version — done here in the same transaction.
Each change is validated as a whole (nothing is written if any value is wrong) and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, unit_of_work
from core.domain.gifts import DEFAULT_GIFTS_PER_ORDER, MAX_GIFTS_PER_ORDER
from core.domain.quantities import DEFAULT_APPROVAL_UNITS, MAX_ROW_QTY
from core.errors import FieldIssue, ValidationError
from core.models import Setting
from core.permissions import Actor, require
from core.timeutil import utcnow


@dataclass(frozen=True)
class SettingSpec:
    """One editable value: where it is stored (``key``/``name``), its type and range."""

    key: str
    name: str
    kind: type
    default: Any
    low: Decimal | None = None
    high: Decimal | None = None

    @property
    def field(self) -> str:
        return f"{self.key}.{self.name}"


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("fulfilment_sla", "hours", int, 24, Decimal(1), Decimal(720)),
    SettingSpec("order_due", "hours", int, 48, Decimal(1), Decimal(720)),
    SettingSpec("delivery_overdue", "days", int, 7, Decimal(1), Decimal(90)),
    SettingSpec("adjustment_approval", "amount", Decimal, Decimal("2000.00"), Decimal(0), Decimal(10_000_000)),
    SettingSpec("adjustment_approval", "units", int, DEFAULT_APPROVAL_UNITS, Decimal(1), Decimal(MAX_ROW_QTY)),
    SettingSpec("refund_approval", "amount", Decimal, Decimal("1000.00"), Decimal(0), Decimal(10_000_000)),
    SettingSpec("packing", "require_scan", bool, True),
    # gift rules (core.domain.gifts): at most this many gift lines per order
    SettingSpec("gifts", "max_per_order", int, DEFAULT_GIFTS_PER_ORDER, Decimal(0), Decimal(MAX_GIFTS_PER_ORDER)),
    # merged orders (合单, core.services.merging): the rule merges candidates by itself
    SettingSpec("merge_orders", "auto", bool, False),
    # a weighed parcel further than this from its expected weight ships only when confirmed
    SettingSpec("weighing", "tolerance_pct", int, 10, Decimal(1), Decimal(100)),
    # scheduled backups (core.services.backup_schedule): daily at 02:30 shop time, 7 generations
    SettingSpec("backup_schedule", "enabled", bool, True),
    SettingSpec("backup_schedule", "hour", int, 2, Decimal(0), Decimal(23)),
    SettingSpec("backup_schedule", "minute", int, 30, Decimal(0), Decimal(59)),
    SettingSpec("backup_schedule", "every_days", int, 1, Decimal(1), Decimal(30)),
    SettingSpec("backup_schedule", "keep", int, 7, Decimal(1), Decimal(365)),
)
BY_FIELD = {spec.field: spec for spec in SPECS}


class _NotValid(ValueError):
    """Why a raw value is not a setting's type: a message code and its parameters."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def _typed(spec: SettingSpec, raw: Any) -> Any:
    """``raw`` as the spec's type; raises :class:`_NotValid` with the reason when it is not one."""
    if spec.kind is bool:
        if not isinstance(raw, bool):
            raise _NotValid("issue.yes_no")
        return raw
    if isinstance(raw, bool):
        raise _NotValid("issue.not_a_number")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise _NotValid("issue.not_a_number") from None
    if not number.is_finite():
        raise _NotValid("issue.not_a_number")
    if spec.kind is int and number != number.to_integral_value():
        raise _NotValid("issue.whole_number")
    if (spec.low is not None and number < spec.low) or (spec.high is not None and number > spec.high):
        raise _NotValid("issue.between", low=spec.low, high=spec.high)
    return int(number) if spec.kind is int else number.quantize(Decimal("0.01"))


def _stored(spec: SettingSpec, value: Any) -> Any:
    """The JSON form kept in ``settings.value`` (money as a string, never a float)."""
    return str(value) if spec.kind is Decimal else value


def _current(session: Session) -> dict[str, Any]:
    ref = refdata.snapshot(session)
    return {spec.field: _typed(spec, ref.setting(spec.key, spec.name, spec.default)) for spec in SPECS}


def current_values(session: Session) -> dict[str, Any]:
    """The settings in force, for services that act on them (no permission: they are not shown)."""
    return _current(session)


@read_only
def shop_settings(session: Session, actor: Actor) -> dict[str, Any]:
    """Every editable setting by field (``"fulfilment_sla.hours"`` …), typed, defaults filled in."""
    require(actor, "settings.edit")
    return _current(session)


@unit_of_work
def update_settings(session: Session, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Apply ``values`` (field → new value) all or nothing; returns what actually changed.

    Unknown fields and bad values are reported together, each with its field and reason.
    """
    require(actor, "settings.edit")
    issues: list[FieldIssue] = []
    typed: dict[str, Any] = {}
    for field, raw in values.items():
        spec = BY_FIELD.get(field)
        if spec is None:
            issues.append(FieldIssue(field, "issue.unknown_setting", value=raw))
            continue
        try:
            typed[field] = _typed(spec, raw)
        except _NotValid as exc:
            issues.append(FieldIssue(field, exc.key, value=raw, params=exc.params))
    if issues:
        raise ValidationError(issues)
    before = _current(session)
    changed = {field: value for field, value in typed.items() if before[field] != value}
    if not changed:
        return {}
    now = utcnow()
    for field, value in changed.items():
        spec = BY_FIELD[field]
        row = session.get(Setting, spec.key)
        if row is None:
            session.add(Setting(key=spec.key, value={spec.name: _stored(spec, value)}, updated_at=now,
                                updated_by=actor.username))
        else:  # a new dict, so the JSON column sees the change
            row.value = {**row.value, spec.name: _stored(spec, value)}
            row.updated_at, row.updated_by = now, actor.username
        session.flush()
    refdata.bump(session)
    audit.record(session, actor, "settings.update", "settings", ",".join(sorted(changed)),
                 before={f: _stored(BY_FIELD[f], before[f]) for f in changed},
                 after={f: _stored(BY_FIELD[f], v) for f, v in changed.items()})
    return changed
