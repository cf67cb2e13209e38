"""Reference rows every database needs: the numbering sequences and the default settings.

Nothing the shop did not define: no warehouses, channels, suppliers, products or rules. A new
shop describes itself with ``oms setup`` or the Shop setup page; the demo brings its own
(:mod:`data.demo_reference`). Idempotent: `oms init` runs it on every upgrade and only inserts
what is missing, never overwriting a manager's edits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import refdata
from core.models import Sequence, Setting
from core.numbering import SEQUENCES, align_pg_counters
from core.timeutil import utcnow

DEFAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "fulfilment_sla": {"hours": 24},
    "delivery_overdue": {"days": 7},
    "adjustment_approval": {"amount": "2000.00"},
    "order_due": {"hours": 48},
}


def seed_reference(session: Session) -> None:
    """Insert the missing reference rows (never updates existing ones)."""
    now = utcnow()
    have = set(session.execute(select(Sequence.name)).scalars())
    for name in SEQUENCES:
        if name not in have:
            session.add(Sequence(name=name, value=0))
    have = set(session.execute(select(Setting.key)).scalars())
    for key, value in DEFAULT_SETTINGS.items():
        if key not in have:
            session.add(Setting(key=key, value=value, updated_at=now, updated_by="system"))
    session.flush()
    align_pg_counters(session.connection())
    refdata.bump(session)
