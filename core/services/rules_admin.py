"""Admin → Rules: list, create, edit, delete the review / allocation / carrier / tagging rules,
preview what a rule would catch, and apply the tagging rules to customers.

A rule is validated before it is stored — every field it tests must be a fact that kind of rule
actually sees (a typo would otherwise make a rule that silently never fires), every operator
known, every value of the right shape, and the action must make sense for the kind (an
allocation rule names an active warehouse, a rule names only existing channels). Each write bumps the reference-data version
(:func:`core.refdata.bump`) so the very next order, in every process, uses the new rule.

The preview rebuilds the facts of the last orders with :func:`core.rules.order_facts` — the same
function order creation uses — so "would catch 37 of the last 1,000 orders" is what would have
happened had the rule been active when they were placed (customer tier as it is today).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, unit_of_work
from core.domain.gifts import MAX_GIFT_QTY
from core.domain.rules import OPERATORS as OPERATORS  # the rule editor page offers them
from core.domain.rules import condition_values, matches, order_facts
from core.errors import (
    FieldIssue,
    Message,
    NotFound,
    ValidationError,
    stored,
)
from core.geo import region_of
from core.models import Channel, Customer, Order, OrderEvent, OrderLine, Product, Rule, Warehouse
from core.permissions import Actor, require
from core.services.orders import OPEN_STATUSES
from core.timeutil import utcnow

KINDS = ("review", "allocation", "carrier", "tagging", "gift")
COMBINATORS = ("all", "any")
ORDER_FIELDS = ("total", "channel", "province", "region", "address_complete", "item_count", "line_count",
                "delivery_method", "has_cold_chain", "has_bulky", "customer_tier", "skus")
CUSTOMER_FIELDS = ("lifetime_spend", "order_count", "customer_tier", "province", "region")
# Allocation runs before the customer is looked up, so it cannot test the tier.
FIELDS: dict[str, tuple[str, ...]] = {
    "review": ORDER_FIELDS,
    "allocation": tuple(f for f in ORDER_FIELDS if f != "customer_tier"),
    "carrier": ORDER_FIELDS,
    "tagging": CUSTOMER_FIELDS,
    "gift": ORDER_FIELDS,
}
NUMERIC_FIELDS = frozenset({"total", "item_count", "line_count", "lifetime_spend", "order_count"})
BOOLEAN_FIELDS = frozenset({"address_complete", "has_cold_chain", "has_bulky"})
LIST_FIELDS = frozenset({"skus"})  # tested with ``contains`` (the order contains SKU Y)
ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "review": ("status", "priority"),
    "allocation": ("warehouse",),
    "carrier": ("carrier",),
    "tagging": ("tag", "tier", "priority"),
    "gift": ("gift", "qty", "fallback"),
}
REVIEW_STATUSES = ("confirmed", "pending_review", "on_hold")
TIERS = ("normal", "vip")
PREVIEW_ORDERS = 1000
MAX_NAME = 100


@dataclass(frozen=True)
class RuleInput:
    name: str
    kind: str
    priority: int
    condition: dict[str, Any]
    action: dict[str, Any]
    active: bool = True


@dataclass(frozen=True)
class RuleInfo:
    id: int
    name: str
    kind: str
    priority: int
    condition: dict[str, Any]
    action: dict[str, Any]
    active: bool


@dataclass(frozen=True)
class Preview:
    """How many of the last ``checked`` orders the condition catches, with the matches."""

    checked: int
    matched: int
    orders: pd.DataFrame  # number, placed_at, channel, province, total, status


@dataclass(frozen=True)
class TaggingResult:
    customers: int
    tagged: tuple[str, ...]  # customer codes whose tier or tags changed
    orders_prioritised: int


# --- building and checking conditions --------------------------------------------------------


def parse_value(op: str, text: str) -> Any:
    """A value typed in the rule editor → JSON: numbers for comparisons, a list for in/not_in,
    nothing for is_true/is_false, else the text."""
    text = (text or "").strip()
    if op in ("is_true", "is_false"):
        return None
    if op in ("in", "not_in"):
        return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return int(number) if number == number.to_integral_value() else float(number)


def condition_from_clauses(combine: str, clauses: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The editor's table of (field, operator, value text) rows → a condition.

    One row is the condition itself; several are joined with ``all`` or ``any``. Empty rows are
    skipped; rows are checked when the rule is saved or previewed.
    """
    parts = [{"field": (f or "").strip(), "op": (op or "").strip(), "value": parse_value(op or "", v or "")}
             for f, op, v in clauses if (f or "").strip() or (op or "").strip()]
    for part in parts:
        if part["value"] is None:
            del part["value"]
    if len(parts) == 1:
        return parts[0]
    return {combine if combine in COMBINATORS else "all": parts}


def clauses_of(condition: dict[str, Any]) -> tuple[str, list[tuple[str, str, str]]] | None:
    """The editor's view of a condition (combinator, rows), or None when it is nested deeper than
    one all/any level (then it is edited as JSON)."""
    def row(c: dict[str, Any]) -> tuple[str, str, str] | None:
        if not {"field", "op"} <= set(c) or set(c) - {"field", "op", "value"}:
            return None
        value = c.get("value")
        text = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
        return str(c["field"]), str(c["op"]), text

    for combine in COMBINATORS:
        if combine in condition and len(condition) == 1 and isinstance(condition[combine], list):
            rows = [row(c) if isinstance(c, dict) else None for c in condition[combine]]
            clauses = [r for r in rows if r is not None]
            return (combine, clauses) if len(clauses) == len(rows) else None
    single = row(condition)
    return None if single is None else ("all", [single])


def _condition_issues(condition: Any, kind: str, issues: list[FieldIssue], path: str = "condition") -> None:
    fields = FIELDS.get(kind, ())
    if not isinstance(condition, dict) or not condition:
        issues.append(FieldIssue(path, "inv_issue.empty_condition"))
        return
    for combine in ("all", "any"):
        if combine in condition:
            items = condition[combine]
            if len(condition) != 1 or not isinstance(items, list) or not items:
                issues.append(FieldIssue(path, "inv_issue.combine_list", params={"combine": combine}))
                return
            for i, item in enumerate(items, start=1):
                _condition_issues(item, kind, issues, f"{path}.{combine}[{i}]")
            return
    if "not" in condition:
        if len(condition) != 1:
            issues.append(FieldIssue(path, "inv_issue.not_alone"))
            return
        _condition_issues(condition["not"], kind, issues, f"{path}.not")
        return
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    row = _row_of(path)
    where = "condition" if row is not None else path
    if field not in fields:
        issues.append(FieldIssue(where, "inv_issue.unknown_fact", row, field,
                                 params={"field": field, "kind": kind, "fields": ", ".join(fields)}))
        return
    if op not in OPERATORS:
        issues.append(FieldIssue(where, "inv_issue.unknown_op", row, op,
                                 params={"op": op, "operators": ", ".join(OPERATORS)}))
        return
    if op in (">", ">=", "<", "<=") and (field not in NUMERIC_FIELDS or isinstance(value, bool)
                                         or not isinstance(value, int | float)):
        issues.append(FieldIssue(where, "inv_issue.needs_number", row, value, params={"op": op}))
    elif op in ("in", "not_in") and (not isinstance(value, list) or not value):
        issues.append(FieldIssue(where, "inv_issue.needs_list", row, value, params={"op": op}))
    elif op in ("is_true", "is_false") and field not in BOOLEAN_FIELDS:
        issues.append(FieldIssue(where, "inv_issue.needs_yes_no", row, field,
                                 params={"op": op, "fields": ", ".join(sorted(BOOLEAN_FIELDS))}))
    elif op in ("==", "!=") and value in (None, ""):
        issues.append(FieldIssue(where, "inv_issue.needs_value", row, value, params={"op": op}))
    elif op == "contains" and field not in LIST_FIELDS:
        issues.append(FieldIssue(where, "inv_issue.contains_lists", row, op,
                                 params={"fields": ", ".join(sorted(LIST_FIELDS))}))
    elif op == "contains" and not str(value or "").strip():
        issues.append(FieldIssue(where, "inv_issue.needs_value", row, value, params={"op": "contains"}))
    elif field in LIST_FIELDS and op != "contains":
        issues.append(FieldIssue(where, "inv_issue.list_needs_contains", row, op, params={"field": field}))


def _row_of(path: str) -> int | None:
    """``condition.all[3]`` → 3 (the editor's row) for a flat condition; None when nested."""
    if path.count("[") == 1 and path.endswith("]"):
        return int(path[path.index("[") + 1:-1])
    return 1 if path == "condition" else None


def _reference_issues(session: Session, data: RuleInput, issues: list[FieldIssue]) -> None:
    """A rule names only what exists: its channels must be known, and the warehouse of an
    allocation rule known and — while the rule is active — active (a rule saved inactive may
    keep naming a deactivated warehouse). :mod:`core.services.master_data` in turn refuses to
    deactivate a warehouse an active rule sends orders to."""
    channels = set(session.execute(select(Channel.code)).scalars())
    for code in sorted(condition_values(data.condition, "channel") - channels):
        issues.append(FieldIssue("condition", "issue.unknown_value", value=code, params={"value": code}))
    if data.kind == "gift" and isinstance(data.action, dict):
        named = {str(data.action.get(k) or "").strip() for k in ("gift", "fallback")} - {""}
        known = set(session.execute(select(Product.sku).where(Product.sku.in_(named), Product.active.is_(True))).scalars())
        for sku in sorted(named - known):
            issues.append(FieldIssue("gift", "issue.unknown_value", value=sku, params={"value": sku}))
    if isinstance(data.action, dict) and "warehouse" in data.action:
        code = data.action["warehouse"]
        active = session.execute(select(Warehouse.active).where(Warehouse.code == str(code))).scalar_one_or_none()
        if active is None or (data.active and not active):
            issues.append(FieldIssue("warehouse", "issue.unknown_value", value=code, params={"value": code}))


def _action_issues(kind: str, action: Any, issues: list[FieldIssue]) -> None:
    allowed = ACTION_KEYS.get(kind, ())
    if not isinstance(action, dict) or not action:
        issues.append(FieldIssue("action", "inv_issue.no_action"))
        return
    for key in sorted(set(action) - set(allowed)):
        issues.append(FieldIssue("action", "inv_issue.unknown_action", value=key,
                                 params={"action": key, "kind": kind, "allowed": ", ".join(allowed)}))
    if "status" in action and action["status"] not in REVIEW_STATUSES:
        issues.append(FieldIssue("status", "issue.one_of", value=action["status"],
                                 params={"choices": ", ".join(REVIEW_STATUSES)}))
    if "priority" in action and (isinstance(action["priority"], bool) or not isinstance(action["priority"], int)
                                 or not -1000 <= action["priority"] <= 1000):
        issues.append(FieldIssue("priority", "inv_issue.priority_range", value=action["priority"],
                                 params={"low": -1000, "high": 1000}))
    for key in ("carrier", "tag"):
        if key in action and not str(action[key] or "").strip():
            issues.append(FieldIssue(key, "issue.required"))
    if kind == "gift":
        _gift_issues(action, issues)
    if "tier" in action and action["tier"] not in TIERS:
        issues.append(FieldIssue("tier", "issue.one_of", value=action["tier"], params={"choices": ", ".join(TIERS)}))


def _gift_issues(action: dict[str, Any], issues: list[FieldIssue]) -> None:
    """A gift rule names its gift SKU, whole units 1…MAX_GIFT_QTY and optionally a fallback SKU
    (whether they exist is checked against the catalog in :func:`_reference_issues`)."""
    if not str(action.get("gift") or "").strip():
        issues.append(FieldIssue("gift", "issue.required"))
    qty = action.get("qty", 1)
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_GIFT_QTY:
        issues.append(FieldIssue("qty", "inv_issue.priority_range", value=qty, params={"low": 1, "high": MAX_GIFT_QTY}))


def _validate(session: Session, data: RuleInput) -> RuleInput:
    issues: list[FieldIssue] = []
    name = (data.name or "").strip()
    if not name:
        issues.append(FieldIssue("name", "issue.required"))
    elif len(name) > MAX_NAME:
        issues.append(FieldIssue("name", "issue.too_long", params={"n": MAX_NAME}))
    if data.kind not in KINDS:
        issues.append(FieldIssue("kind", "issue.one_of", value=data.kind, params={"choices": ", ".join(KINDS)}))
    if isinstance(data.priority, bool) or not isinstance(data.priority, int) or not 0 <= data.priority <= 10000:
        issues.append(FieldIssue("priority", "inv_issue.priority_range", value=data.priority,
                                 params={"low": 0, "high": 10000}))
    if data.kind in KINDS:
        _condition_issues(data.condition, data.kind, issues)
        _action_issues(data.kind, data.action, issues)
        _reference_issues(session, data, issues)
    if issues:
        raise ValidationError(issues)
    return RuleInput(name, data.kind, data.priority, data.condition, data.action, bool(data.active))


def _info(rule: Rule) -> RuleInfo:
    return RuleInfo(rule.id, rule.name, rule.kind, rule.priority, rule.condition, rule.action, rule.active)


# --- CRUD ------------------------------------------------------------------------------------


RULE_COLUMNS = ["id", "kind", "priority", "name", "condition", "action", "active", "updated_at", "updated_by"]


@read_only
def list_rules(session: Session, actor: Actor, kind: str | None = None) -> pd.DataFrame:
    """Rules in the order they are evaluated (kind, priority, id); JSON shown as text."""
    require(actor, "rules.edit")
    stmt = select(Rule).order_by(Rule.kind, Rule.priority, Rule.id)
    if kind:
        stmt = stmt.where(Rule.kind == kind)
    rows = [(r.id, r.kind, r.priority, r.name, json.dumps(r.condition, ensure_ascii=False),
             json.dumps(r.action, ensure_ascii=False), r.active, r.updated_at, r.updated_by)
            for r in session.execute(stmt).scalars()]
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


@read_only
def get_rule(session: Session, rule_id: int, actor: Actor) -> RuleInfo:
    require(actor, "rules.edit")
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}", rule_id=rule_id)
    return _info(rule)


@unit_of_work
def save_rule(session: Session, rule_id: int | None, data: RuleInput, actor: Actor) -> RuleInfo:
    """Create (``rule_id`` None) or replace a rule; in force for the next order."""
    require(actor, "rules.edit")
    clean = _validate(session, data)
    values = dict(name=clean.name, kind=clean.kind, priority=clean.priority, condition=clean.condition,
                  action=clean.action, active=clean.active, updated_at=utcnow(), updated_by=actor.username)
    if rule_id is None:
        rule_id = session.execute(insert(Rule).values(**values).returning(Rule.id)).scalar_one()
        before = None
    else:
        current = session.get(Rule, rule_id)
        if current is None:
            raise NotFound(f"no rule {rule_id}", rule_id=rule_id)
        before = {k: getattr(current, k) for k in ("name", "kind", "priority", "condition", "action", "active")}
        session.execute(update(Rule).where(Rule.id == rule_id).values(**values))
    refdata.bump(session)
    audit.record(session, actor, "rule.save", "rule", rule_id, before=before,
                 after={k: v for k, v in values.items() if k not in ("updated_at", "updated_by")})
    session.expire_all()
    rule = session.get(Rule, rule_id)
    assert rule is not None
    return _info(rule)


@unit_of_work
def delete_rule(session: Session, rule_id: int, actor: Actor) -> None:
    """Remove a rule for good (deactivating keeps it for later; the audit row keeps its text)."""
    require(actor, "rules.edit")
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"no rule {rule_id}", rule_id=rule_id)
    before = {k: getattr(rule, k) for k in ("name", "kind", "priority", "condition", "action", "active")}
    session.execute(delete(Rule).where(Rule.id == rule_id))
    refdata.bump(session)
    audit.record(session, actor, "rule.delete", "rule", rule_id, before=before)


# --- preview ---------------------------------------------------------------------------------


def _customer_facts(session: Session, customer_ids: list[int] | None) -> dict[int, dict[str, Any]]:
    """Facts tagging rules see per customer: lifetime spend and orders (not cancelled), tier,
    province and region. ``None`` = every customer."""
    spend = (select(Order.customer_id, func.sum(Order.total).label("spend"), func.count().label("n"))
             .where(Order.status != "cancelled", Order.customer_id.is_not(None)).group_by(Order.customer_id))
    people = select(Customer.id, Customer.tier, Customer.province)
    if customer_ids is not None:
        spend = spend.where(Order.customer_id.in_(customer_ids))
        people = people.where(Customer.id.in_(customer_ids))
    totals = {cid: (Decimal(str(total or 0)), int(n)) for cid, total, n in session.execute(spend)}
    return {cid: {"lifetime_spend": totals.get(cid, (Decimal("0"), 0))[0],
                  "order_count": totals.get(cid, (Decimal("0"), 0))[1],
                  "customer_tier": tier, "province": province, "region": region_of(province)}
            for cid, tier, province in session.execute(people)}


@read_only
def preview_rule(session: Session, kind: str, condition: dict[str, Any], actor: Actor,
                 limit: int = PREVIEW_ORDERS) -> Preview:
    """Which of the last ``limit`` orders this condition would catch (tagging rules: orders
    whose customer it would tag). The condition is validated like a saved rule's."""
    require(actor, "rules.edit")
    issues: list[FieldIssue] = []
    if kind not in KINDS:
        issues.append(FieldIssue("kind", "issue.one_of", value=kind, params={"choices": ", ".join(KINDS)}))
    else:
        _condition_issues(condition, kind, issues)
    if issues:
        raise ValidationError(issues)
    recent = session.execute(
        select(Order.id, Order.number, Order.placed_at, Channel.code, Order.ship_province, Order.ship_city,
               Order.ship_district, Order.ship_address, Order.delivery_method, Order.total, Order.status,
               Order.customer_id)
        .join(Channel, Channel.id == Order.channel_id)
        .order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
    ).all()
    ids = [r.id for r in recent]
    customer_ids = sorted({r.customer_id for r in recent if r.customer_id is not None})
    people = _customer_facts(session, customer_ids)
    lines: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    skus: dict[int, list[str]] = defaultdict(list)
    for order_id, qty, attrs, sku in session.execute(
        select(OrderLine.order_id, OrderLine.qty, Product.attributes, Product.sku)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_(ids), OrderLine.is_gift.is_(False))  # the order as placed
    ):
        lines[order_id].append((qty, attrs or {}))
        skus[order_id].append(sku)
    caught = []
    for r in recent:
        person = people.get(r.customer_id, {})
        if kind == "tagging":
            facts = person
        else:
            complete = all((r.ship_province, (r.ship_city or "").strip(), (r.ship_district or "").strip(),
                            (r.ship_address or "").strip()))
            facts = order_facts(total=r.total, channel=r.code, province=r.ship_province, address_complete=complete,
                                delivery_method=r.delivery_method, lines=lines[r.id], skus=skus[r.id],
                                customer_tier=None if kind == "allocation" else person.get("customer_tier"))
        if matches(condition, facts):
            caught.append((r.number, r.placed_at, r.code, r.ship_province, r.total, r.status))
    frame = pd.DataFrame(caught, columns=["number", "placed_at", "channel", "province", "total", "status"])
    return Preview(len(recent), len(caught), frame)


# --- tagging ---------------------------------------------------------------------------------


@unit_of_work
def apply_tagging(session: Session, actor: Actor) -> TaggingResult:
    """Evaluate the active tagging rules for every customer (priority order, every matching rule
    applies): set the tier, add the tag, and raise the priority of the customer's open orders
    to the rule's ``priority``. Idempotent: a customer already tagged is left alone."""
    require(actor, "rules.edit")
    rules = refdata.snapshot(session).rules["tagging"]
    facts = _customer_facts(session, None) if rules else {}
    current = {cid: (tier, list(tags or [])) for cid, tier, tags in session.execute(
        select(Customer.id, Customer.tier, Customer.tags))} if rules else {}
    changed: list[int] = []
    boosts: dict[int, int] = {}
    for cid, person in facts.items():
        tier, tags = current[cid]
        new_tier, new_tags = tier, list(tags)
        for rule in rules:
            if not matches(rule.condition, person):
                continue
            new_tier = rule.action.get("tier", new_tier)
            tag = rule.action.get("tag")
            if tag and tag not in new_tags:
                new_tags.append(tag)
            if "priority" in rule.action:
                boosts[cid] = max(boosts.get(cid, -1000), int(rule.action["priority"]))
        if (new_tier, new_tags) != (tier, tags):
            session.execute(update(Customer).where(Customer.id == cid).values(tier=new_tier, tags=new_tags))
            changed.append(cid)
    raised: list[int] = []
    now = utcnow()
    for cid in changed:  # only newly tagged customers: their waiting orders move up the queue
        if cid not in boosts:
            continue
        waiting = list(session.execute(select(Order.id, Order.status).where(
            Order.customer_id == cid, Order.status.in_(OPEN_STATUSES), Order.priority < boosts[cid])))
        if not waiting:
            continue
        session.execute(update(Order).where(Order.id.in_([o.id for o in waiting]))
                        .values(priority=boosts[cid], version=Order.version + 1, updated_at=now))
        session.execute(insert(OrderEvent), [
            dict(order_id=o.id, at=now, actor=actor.username, from_status=o.status, to_status=o.status,
                 **stored("note", Message("note.customer_tagged", {"priority": boosts[cid]})))
            for o in waiting])
        raised.extend(o.id for o in waiting)
    codes = tuple(session.execute(select(Customer.code).where(Customer.id.in_(changed))
                                  .order_by(Customer.code)).scalars()) if changed else ()
    audit.record(session, actor, "customer.tagging", "customer", None,
                 after={"tagged": list(codes), "orders_prioritised": len(raised)})
    return TaggingResult(len(facts), codes, len(raised))
