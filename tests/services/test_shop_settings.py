"""Shop settings (validated all or nothing, audited, effective at once) and the packing rule
they control: by default an order becomes packed only through pack-bench scans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import PackNotVerified, PermissionDenied, ValidationError
from core.i18n import translate
from core.models import AuditLog, Order, Setting
from core.services import fulfillment, orders
from core.services.shop_settings import shop_settings, update_settings
from tests.factories import ADMIN, CLERK, MANAGER, WAREHOUSE, make_product, order_input, pack_by_scan


def _settings_rows() -> dict[str, dict]:
    with db.transaction() as s:
        return {r.key: r.value for r in s.execute(select(Setting)).scalars()}


def test_defaults_are_read_typed(db_url: str) -> None:
    assert shop_settings(ADMIN) == {"fulfilment_sla.hours": 24, "order_due.hours": 48, "delivery_overdue.days": 7,
                                    "adjustment_approval.amount": Decimal("2000.00"), "adjustment_approval.units": 1000,
                                    "refund_approval.amount": Decimal("1000.00"), "packing.require_scan": True,
                                    "gifts.max_per_order": 2, "merge_orders.auto": False,
                                    "weighing.tolerance_pct": 10,
                                    "backup_schedule.enabled": True, "backup_schedule.hour": 2,
                                    "backup_schedule.minute": 30, "backup_schedule.every_days": 1,
                                    "backup_schedule.keep": 7}


def test_update_applies_at_once_and_is_audited(db_url: str) -> None:
    changed = update_settings({"order_due.hours": "12", "adjustment_approval.amount": Decimal("500.5"),
                               "fulfilment_sla.hours": 24}, ADMIN)
    assert changed == {"order_due.hours": 12, "adjustment_approval.amount": Decimal("500.50")}  # 24 was already so
    rows = _settings_rows()
    assert rows["order_due"] == {"hours": 12} and rows["adjustment_approval"] == {"amount": "500.50"}
    with db.transaction() as s:
        entry = s.execute(select(AuditLog).where(AuditLog.action == "settings.update")).scalar_one()
    assert (entry.actor, entry.before, entry.after) == (
        "admin", {"adjustment_approval.amount": "2000.00", "order_due.hours": 48},
        {"adjustment_approval.amount": "500.50", "order_due.hours": 12})
    # the very next order is due 12 h after it was placed
    make_product("SET-1", "10.00", {"SH": 5})
    placed = orders.create_order(order_input(("SET-1", 1)), CLERK)
    with db.transaction() as s:
        order = s.get(Order, placed.id)
        assert order.due_by - order.placed_at == dt.timedelta(hours=12)
    assert update_settings({"order_due.hours": 12}, ADMIN) == {}  # nothing new: no write, no audit
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(AuditLog)
                         .where(AuditLog.action == "settings.update")).scalar_one() == 1


@pytest.mark.parametrize(("values", "field", "reason"), [
    ({"fulfilment_sla.hours": 0}, "fulfilment_sla.hours", "must be between 1 and 720"),
    ({"order_due.hours": "1.5"}, "order_due.hours", "must be a whole number"),
    ({"delivery_overdue.days": "soon"}, "delivery_overdue.days", "not a number"),
    ({"adjustment_approval.amount": "-1"}, "adjustment_approval.amount", "must be between 0 and 10000000"),
    ({"packing.require_scan": "no"}, "packing.require_scan", "must be yes or no"),
    ({"order_due.days": 3}, "order_due.days", "no such setting"),
])
def test_a_bad_value_names_its_field_and_writes_nothing(db_url: str, values: dict, field: str, reason: str) -> None:
    before = _settings_rows()
    with pytest.raises(ValidationError) as caught:
        update_settings({"fulfilment_sla.hours": 36, **values}, ADMIN)  # the good value is not written either
    assert [(i.field, translate(i.message, "en", **(i.params or {}))) for i in caught.value.issues] == [
        (field, reason)]
    assert all(i.message.startswith("issue.") for i in caught.value.issues)  # a code, never English prose
    assert _settings_rows() == before


def test_only_the_admin_changes_settings(db_url: str) -> None:
    with pytest.raises(PermissionDenied):
        update_settings({"fulfilment_sla.hours": 36}, MANAGER)
    with pytest.raises(PermissionDenied):
        shop_settings(MANAGER)


@pytest.fixture
def picking_order(db_url: str) -> int:
    make_product("PK-1", "10.00", {"SH": 5})
    make_product("PK-2", "20.00", {"SH": 5})
    placed = orders.create_order(order_input(("PK-1", 2), ("PK-2", 1)), CLERK)
    orders.transition(placed.id, "picking", WAREHOUSE)
    return placed.id


def test_packing_by_hand_is_refused_until_every_unit_is_scanned(picking_order: int) -> None:
    assert "packed" not in orders.order_detail(picking_order, WAREHOUSE).allowed_transitions
    fulfillment.scan_item(picking_order, "PK-1", WAREHOUSE)
    with pytest.raises(PackNotVerified) as caught:
        orders.transition(picking_order, "packed", MANAGER)
    assert caught.value.params == {"number": caught.value.params["number"], "scanned": 1, "units": 3}
    assert "1 of 3 units verified by scan" in str(caught.value)
    assert orders.order_detail(picking_order, WAREHOUSE).header["status"] == "picking"
    pack_by_scan(picking_order)  # the remaining two scans; the last one packs
    detail = orders.order_detail(picking_order, WAREHOUSE)
    assert detail.header["status"] == "packed"
    assert detail.events["note"].iloc[-1] == "all items verified by scan"


def test_a_shop_without_scanners_may_pack_by_hand(picking_order: int) -> None:
    update_settings({"packing.require_scan": False}, ADMIN)
    assert "packed" in orders.order_detail(picking_order, WAREHOUSE).allowed_transitions
    orders.transition(picking_order, "packed", WAREHOUSE)
    assert orders.order_detail(picking_order, WAREHOUSE).header["status"] == "packed"


def test_the_backup_schedule_is_bounded(db_url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        update_settings({"backup_schedule.hour": 24, "backup_schedule.keep": 0, "backup_schedule.every_days": 1.5},
                        ADMIN)
    assert sorted(i.field for i in refused.value.issues) == [
        "backup_schedule.every_days", "backup_schedule.hour", "backup_schedule.keep"]
    assert shop_settings(ADMIN)["backup_schedule.hour"] == 2  # nothing written
