"""Loading the configurable business rules (review, allocation, carrier, tagging) from the
``rules`` table. Conditions and their evaluation are pure: :mod:`core.domain.rules`, whose
names are re-exported here for the callers that load and evaluate in one place.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.domain.rules import OPERATORS, RuleSpec, condition_values, first_action, matches, order_facts
from core.models import Rule

__all__ = ["OPERATORS", "RuleSpec", "active_rules", "condition_values", "first_action", "matches", "order_facts"]


def active_rules(session: Session, kind: str) -> list[RuleSpec]:
    """The active rules of ``kind`` in the order they are tried (priority, then age)."""
    rows = session.execute(
        select(Rule).where(Rule.kind == kind, Rule.active.is_(True)).order_by(Rule.priority, Rule.id)
    ).scalars()
    return [RuleSpec(r.id, r.name, r.kind, r.priority, r.condition, r.action) for r in rows]
