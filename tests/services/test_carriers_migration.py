"""Migration 0020 adds the carriers table (with the tracking page shipment messages link to), and
its downgrade takes it away again — on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from core.schema import upgrade
from tests.migration_support import downgrade

BEFORE, AFTER = "0026_order_holds", "0020_notification_templates"


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_carriers_come_with_0020_and_go_with_its_downgrade(empty_engine: Engine) -> None:
    upgrade(empty_engine, (BEFORE,))
    assert "carriers" not in _tables(empty_engine)
    upgrade(empty_engine, (AFTER,))
    columns = {c["name"]: c for c in inspect(empty_engine).get_columns("carriers")}
    assert set(columns) == {"id", "code", "name", "tracking_url", "active"}
    assert columns["tracking_url"]["nullable"] and not columns["name"]["nullable"]
    downgrade(empty_engine, BEFORE)
    assert "carriers" not in _tables(empty_engine)
    upgrade(empty_engine)
    assert "carriers" in _tables(empty_engine)


def test_rates_ranges_and_parcel_weight_come_with_0027_and_go_with_its_downgrade(empty_engine: Engine) -> None:
    upgrade(empty_engine, ("0027_merge_groups",))
    upgrade(empty_engine, ("0027_carrier_rates",))
    assert {"carrier_rates", "tracking_ranges"} <= _tables(empty_engine)
    assert {"services", "tracking_pattern"} <= {c["name"] for c in inspect(empty_engine).get_columns("carriers")}
    assert "parcel_weight_kg" in {c["name"] for c in inspect(empty_engine).get_columns("orders")}
    downgrade(empty_engine, "0027_merge_groups")
    assert not {"carrier_rates", "tracking_ranges"} & _tables(empty_engine)
    assert "parcel_weight_kg" not in {c["name"] for c in inspect(empty_engine).get_columns("orders")}
