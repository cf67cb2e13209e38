"""Warehouses, channels and suppliers kept by the shop: codes unique and normalised, bad input
named and nothing written, referenced rows deactivated (never deleted), and the allocation
rules and the warehouses they name kept consistent in both directions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db, refdata
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import AuditLog, Channel, PurchaseOrder, Rule, Supplier, Warehouse
from core.services import master_data as md
from core.services import orders
from core.services.rules_admin import RuleInput, save_rule
from core.timeutil import utcnow
from tests.factories import ADMIN, BUYER, CLERK, MANAGER, make_product, order_input

HZ = md.WarehouseInput(code=" hz-01 ", name="杭州门店", province="浙江省", city="杭州", address="西湖区 1 号",
                       is_store=True, ship_cost="6.5")


def _count(model: type, *where: object) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _audits(action: str) -> int:
    return _count(AuditLog, AuditLog.action == action)


def test_a_warehouse_is_created_normalised_and_audited(db_url: str) -> None:
    saved = md.create_warehouse(HZ, MANAGER)
    assert (saved.key, saved.created) == ("HZ-01", True)
    row = md.list_warehouses(MANAGER).set_index("code").loc["HZ-01"]
    assert (row["name"], row["region"], row["province"], row["address"], row["is_store"], row["active"]) == (
        "杭州门店", "华东", "浙江省", "西湖区 1 号", True, True)  # region derived from the province
    assert Decimal(str(row["ship_cost"])) == Decimal("6.50")
    assert _audits("warehouse.create") == 1
    with db.transaction() as s:  # in force for the next order in every process
        assert "HZ-01" in refdata.snapshot(s).warehouses


def test_a_taken_code_is_refused_naming_it(db_url: str) -> None:
    with pytest.raises(ValidationError) as err:
        md.create_warehouse(md.WarehouseInput(code="sh", name="另一个上海仓"), ADMIN)
    assert [(i.field, i.message, i.params) for i in err.value.issues] == [
        ("code", "md.issue_code_taken", {"code": "SH"})]
    assert "code SH is already in use" in str(err.value)
    assert _count(Warehouse) == 4


@pytest.mark.parametrize(("data", "field", "message"), [
    (md.WarehouseInput(code="", name="x"), "code", "issue.required"),
    (md.WarehouseInput(code="HZ 1", name="x"), "code", "md.issue_code_chars"),
    (md.WarehouseInput(code="X" * 17, name="x"), "code", "md.issue_code_length"),
    (md.WarehouseInput(code="HZ", name="  "), "name", "issue.required"),
    (md.WarehouseInput(code="HZ", name="x" * 65), "name", "issue.too_long"),
    (md.WarehouseInput(code="HZ", name="x", city="杭\x00州"), "city", "issue.bad_text"),
    (md.WarehouseInput(code="HZ", name="x", ship_cost="-1"), "ship_cost", "issue.negative"),
    (md.WarehouseInput(code="HZ", name="x", ship_cost="abc"), "ship_cost", "issue.not_a_number"),
])
def test_bad_warehouse_input_names_the_field_and_writes_nothing(db_url: str, data: md.WarehouseInput, field: str,
                                                                message: str) -> None:
    with pytest.raises(ValidationError) as err:
        md.create_warehouse(data, ADMIN)
    assert [(i.field, i.message) for i in err.value.issues] == [(field, message)]
    assert _count(Warehouse) == 4
    assert _audits("warehouse.create") == 0


def test_rename_keeps_references_and_an_unchanged_save_writes_nothing(db_url: str) -> None:
    make_product("TEA", "20.00", {"SH": 5})
    placed = orders.create_order(order_input(("TEA", 1), warehouse="SH"), CLERK)
    saved = md.update_warehouse(md.WarehouseInput(code="sh", name="上海总仓", region="华东", province="上海",
                                                  city="上海", ship_cost="8.00"), ADMIN)
    assert saved.changes == {"name": ("上海仓", "上海总仓")}
    assert orders.order_detail(placed.id, CLERK).header["warehouse"] == "SH"
    again = md.update_warehouse(md.WarehouseInput(code="SH", name="上海总仓", region="华东", province="上海",
                                                  city="上海", ship_cost="8"), ADMIN)
    assert again.changes == {}
    assert _audits("warehouse.update") == 1


def test_deactivating_a_warehouse_an_active_rule_uses_is_refused_naming_the_rule(db_url: str) -> None:
    with pytest.raises(Refused) as err:
        md.set_warehouse_active("gz", False, MANAGER)
    assert err.value.key == "md.warehouse_in_rule"
    assert err.value.params == {"code": "GZ", "rule": "华南 → 广州仓"}
    with db.transaction() as s:
        rule = s.execute(select(Rule).where(Rule.name == "华南 → 广州仓")).scalar_one()
        assert s.execute(select(Warehouse.active).where(Warehouse.code == "GZ")).scalar_one() is True
    save_rule(rule.id, RuleInput(rule.name, "allocation", rule.priority, rule.condition, rule.action, active=False),
              MANAGER)
    assert md.set_warehouse_active("GZ", False, MANAGER) is True
    assert md.set_warehouse_active("GZ", False, MANAGER) is False  # already inactive: nothing written
    assert _audits("warehouse.deactivate") == 1
    # the inactive rule may keep naming the inactive warehouse, but cannot be switched back on
    save_rule(rule.id, RuleInput(rule.name, "allocation", 20, rule.condition, rule.action, active=False), MANAGER)
    with pytest.raises(ValidationError) as refused:
        save_rule(rule.id, RuleInput(rule.name, "allocation", 20, rule.condition, rule.action), MANAGER)
    assert [(i.field, i.params) for i in refused.value.issues] == [("warehouse", {"value": "GZ"})]


def test_a_warehouse_holding_stock_stays_active(db_url: str) -> None:
    md.create_warehouse(md.WarehouseInput(code="HZ", name="杭州门店"), ADMIN)
    make_product("TEA", "20.00", {"HZ": 3})
    with pytest.raises(Refused) as err:
        md.set_warehouse_active("HZ", False, ADMIN)
    assert (err.value.key, err.value.params) == ("md.warehouse_has_stock", {"code": "HZ", "units": 3})


def test_rules_must_name_existing_warehouses_and_channels(db_url: str) -> None:
    cond = {"field": "region", "op": "==", "value": "华东"}
    with pytest.raises(ValidationError) as err:
        save_rule(None, RuleInput("华东 → 杭州", "allocation", 5, cond, {"warehouse": "HZ"}), MANAGER)
    assert [(i.field, i.message, i.params) for i in err.value.issues] == [
        ("warehouse", "issue.unknown_value", {"value": "HZ"})]
    channel_cond = {"field": "channel", "op": "in", "value": ["TMALL", "KUAISHOU"]}
    with pytest.raises(ValidationError) as err:
        save_rule(None, RuleInput("快手审核", "review", 5, channel_cond, {"status": "pending_review"}), MANAGER)
    assert [(i.field, i.params) for i in err.value.issues] == [("condition", {"value": "KUAISHOU"})]
    md.create_warehouse(md.WarehouseInput(code="HZ", name="杭州门店"), MANAGER)
    md.create_channel(md.ChannelInput(code="KUAISHOU", name="快手", kind="social"), MANAGER)
    save_rule(None, RuleInput("华东 → 杭州", "allocation", 5, cond, {"warehouse": "HZ"}), MANAGER)
    save_rule(None, RuleInput("快手审核", "review", 5, channel_cond, {"status": "pending_review"}), MANAGER)


def test_only_unreferenced_rows_can_be_deleted(db_url: str) -> None:
    md.create_channel(md.ChannelInput(code="typo", name="打错了", kind="store"), ADMIN)
    md.delete_channel("TYPO", ADMIN)
    assert _count(Channel, Channel.code == "TYPO") == 0
    assert _audits("channel.delete") == 1
    make_product("TEA", "20.00", {"SH": 5})
    orders.create_order(order_input(("TEA", 1)), CLERK)
    with pytest.raises(Refused) as err:
        md.delete_channel("PHONE", ADMIN)
    assert err.value.key == "md.in_use" and "orders 1" in err.value.params["uses"]
    with pytest.raises(Refused) as err:
        md.delete_warehouse("CD", ADMIN)  # no stock, no orders, but an allocation rule names it
    assert err.value.params == {"item": "CD", "uses": "rules 1"}
    assert _count(Warehouse, Warehouse.code == "CD") == 1


def test_channels_validate_kind_and_window(db_url: str) -> None:
    with pytest.raises(ValidationError) as err:
        md.create_channel(md.ChannelInput(code="DY", name="抖音小店", kind="tv", return_window_days=-1), ADMIN)
    assert sorted(i.field for i in err.value.issues) == ["kind", "return_window_days"]
    saved = md.create_channel(md.ChannelInput(code="dy", name="抖音小店", kind="Social"), ADMIN)
    assert saved.key == "DY"
    md.update_channel(md.ChannelInput(code="DY", name="抖音旗舰店", kind="social", return_window_days=15), ADMIN)
    assert md.set_channel_active("DY", False, ADMIN) is True
    row = md.list_channels(ADMIN).set_index("code").loc["DY"]
    assert (row["name"], row["return_window_days"], row["active"]) == ("抖音旗舰店", 15, False)
    with db.transaction() as s:
        assert "DY" not in refdata.snapshot(s).channels  # no new orders from an inactive channel
    with pytest.raises(ValidationError):
        orders.create_order(order_input(("TEA", 1), channel="DY"), CLERK)


def test_suppliers_rename_deactivate_and_stay_when_referenced(db_url: str) -> None:
    saved = md.create_supplier(md.SupplierInput(name=" 西湖茶厂 ", contact="0571-8888", lead_time_days=10, moq=24),
                               BUYER)
    with pytest.raises(ValidationError) as err:
        md.create_supplier(md.SupplierInput(name="西湖茶厂"), BUYER)
    assert [(i.field, i.message) for i in err.value.issues] == [("name", "md.issue_name_taken")]
    with pytest.raises(ValidationError) as err:
        md.create_supplier(md.SupplierInput(name="新厂", lead_time_days="2.5", moq=0), BUYER)
    assert [(i.field, i.message) for i in err.value.issues] == [("supplier_lead_time_days", "issue.whole_number"),
                                                                ("moq", "mdp.between")]
    renamed = md.update_supplier(saved.id, md.SupplierInput(name="西湖茶业", contact="0571-8888", lead_time_days=10,
                                                            moq=24), BUYER)
    assert renamed.changes == {"name": ("西湖茶厂", "西湖茶业")}
    with db.transaction() as s:
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        s.add(PurchaseOrder(number="PO-T-1", supplier_id=saved.id, warehouse_id=wh, status="draft",
                            created_at=utcnow(), created_by="buyer1"))
    with pytest.raises(Refused) as refused:
        md.delete_supplier(saved.id, BUYER)
    assert refused.value.params == {"item": "西湖茶业", "uses": "purchase_orders 1"}
    assert md.set_supplier_active(saved.id, False, BUYER) is True
    assert _count(Supplier, Supplier.active.is_(False)) == 1


def test_roles(db_url: str) -> None:
    assert not md.list_warehouses(BUYER).empty  # buyers see the warehouses …
    with pytest.raises(PermissionDenied):
        md.create_warehouse(md.WarehouseInput(code="HZ", name="杭州"), BUYER)  # … but do not change them
    with pytest.raises(PermissionDenied):
        md.list_channels(CLERK)
    md.create_supplier(md.SupplierInput(name="西湖茶厂"), MANAGER)


def test_a_shop_with_one_warehouse_and_one_channel_takes_orders(db_url: str) -> None:
    """No rules, one warehouse, one channel: an order without a warehouse goes to the only one."""
    with db.transaction() as s:
        s.execute(Rule.__table__.delete())
        s.execute(Warehouse.__table__.update().values(active=False))
        s.execute(Channel.__table__.update().values(active=False))
        refdata.bump(s)
    md.create_warehouse(md.WarehouseInput(code="HZ", name="杭州门店", province="浙江"), ADMIN)
    md.create_channel(md.ChannelInput(code="POS1", name="门店收银", kind="store"), ADMIN)
    make_product("TEA", "20.00", {"HZ": 5})
    placed = orders.create_order(order_input(("TEA", 2), channel="POS1", province="广东", city="广州市"), CLERK)
    header = orders.order_detail(placed.id, CLERK).header
    assert (header["warehouse"], header["channel"], header["status"]) == ("HZ", "门店收银", "confirmed")


@pytest.mark.parametrize(("url", "code"), [
    ("www.example.com/{tracking_no}", "md.issue_tracking_url_scheme"),
    ("https://example.com/track {tracking_no}", "md.issue_tracking_url_scheme"),
    ("https://example.com/track", "md.issue_tracking_url_placeholder"),
    ("https://example.com/{tracking_no}/{other}", "md.issue_tracking_url_placeholder"),
    ("https://example.com/" + "x" * 300 + "{tracking_no}", "issue.too_long"),
])
def test_a_carrier_tracking_page_must_be_a_web_address_with_the_number_s_place(db_url: str, url: str,
                                                                                 code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        md.create_carrier(md.CarrierInput("EMS", "中国邮政 EMS", url), MANAGER)
    assert [(i.field, i.message) for i in refused.value.issues] == [("tracking_url", code)]
    assert "EMS" not in set(md.list_carriers(MANAGER)["code"])


def test_carriers_are_kept_by_code_with_unique_names_and_audited(db_url: str) -> None:
    saved = md.create_carrier(md.CarrierInput(" ems ", "中国邮政 EMS", "https://t.example.com/{tracking_no}"), MANAGER)
    assert (saved.key, saved.created, _audits("carrier.create")) == ("EMS", True, 1)
    with pytest.raises(ValidationError) as taken:
        md.create_carrier(md.CarrierInput("EMS2", "中国邮政 ems"), MANAGER)
    assert [(i.field, i.message) for i in taken.value.issues] == [("name", "md.issue_name_taken")]
    changed = md.update_carrier(md.CarrierInput("EMS", "中国邮政 EMS", ""), MANAGER)
    assert changed.changes == {"tracking_url": ("https://t.example.com/{tracking_no}", None)}
    assert md.set_carrier_active("EMS", False, MANAGER) is True
    with pytest.raises(PermissionDenied):
        md.create_carrier(md.CarrierInput("X", "X"), CLERK)
    md.delete_carrier("EMS", MANAGER)
    with pytest.raises(Refused):  # the demo's cold-chain rule names 顺丰冷运
        md.delete_carrier("SF-COLD", MANAGER)
