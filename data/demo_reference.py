"""The demo retailer's own reference data: its seven channels, four warehouses, the carriers it
ships with (and their tracking pages) and the review, allocation, carrier and tagging rules that
name them.

None of this belongs to a real shop: ``oms init`` creates only the schema, sequences and
default settings (:mod:`core.reference`); the demo loader and the test fixtures call
:func:`seed_demo_reference` to describe the demo shop. Idempotent: only missing rows are
inserted, an edited row is never overwritten.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import refdata
from core.models import Carrier, Channel, Customer, Rule, Setting, Warehouse
from core.timeutil import utcnow

CHANNELS: list[tuple[str, str, str, int]] = [
    # code, name, kind, return window (days)
    ("POS", "门店POS", "store", 7),
    ("TMALL", "天猫", "marketplace", 7),
    ("JD", "京东", "marketplace", 7),
    ("DOUYIN", "抖音直播", "social", 7),
    ("WECHAT", "微信小程序", "mini_program", 7),
    ("GROUPBUY", "社区团购", "group_buy", 3),
    ("PHONE", "电话/批发", "b2b", 15),
]

WAREHOUSES: list[tuple[str, str, str, str, str, bool, str]] = [
    # code, name, region, province, city, is_store, ship cost per order
    ("SH", "上海仓", "华东", "上海", "上海", False, "8.00"),
    ("GZ", "广州仓", "华南", "广东", "广州", False, "9.00"),
    ("BJ", "北京仓", "华北", "北京", "北京", False, "9.00"),
    ("CD", "成都仓", "西南", "四川", "成都", False, "10.00"),
]

_KUAIDI100 = "https://www.kuaidi100.com/chaxun?com={com}&nu={{tracking_no}}"
CARRIERS: list[tuple[str, str, str]] = [
    # code, name (as the demo's orders carry it), tracking page (kuaidi100's company code)
    (code, name, _KUAIDI100.format(com=com)) for code, name, com in (
        ("ZTO", "中通快递", "zhongtong"), ("YTO", "圆通速递", "yuantong"), ("YUNDA", "韵达快递", "yunda"),
        ("SF", "顺丰速运", "shunfeng"), ("STO", "申通快递", "shentong"), ("JD", "京东物流", "jd"),
        ("SF-COLD", "顺丰冷运", "shunfenglengyun"), ("DEPPON", "德邦物流", "debangwuliu"))
]

RULES: list[tuple[str, str, int, dict[str, Any], dict[str, Any]]] = [
    ("大额订单人工审核 / Large order → manual review", "review", 10,
     {"field": "total", "op": ">", "value": 5000}, {"status": "pending_review"}),
    ("地址不完整 → 挂起 / Incomplete address → hold", "review", 5,
     {"field": "address_complete", "op": "is_false"}, {"status": "on_hold"}),
    ("VIP 优先 / VIP → priority", "review", 20,
     {"field": "customer_tier", "op": "==", "value": "vip"}, {"priority": 10}),
    ("华东 → 上海仓", "allocation", 10, {"field": "region", "op": "==", "value": "华东"}, {"warehouse": "SH"}),
    ("华南 → 广州仓", "allocation", 10, {"field": "region", "op": "==", "value": "华南"}, {"warehouse": "GZ"}),
    ("华北 → 北京仓", "allocation", 10, {"field": "region", "op": "==", "value": "华北"}, {"warehouse": "BJ"}),
    ("西南 → 成都仓", "allocation", 10, {"field": "region", "op": "==", "value": "西南"}, {"warehouse": "CD"}),
    ("冷链商品 → 冷链承运商 / Cold chain → cold-chain carrier", "carrier", 10,
     {"field": "has_cold_chain", "op": "is_true"}, {"carrier": "顺丰冷运"}),
    ("大件 → 物流承运商 / Bulky → freight", "carrier", 20,
     {"field": "has_bulky", "op": "is_true"}, {"carrier": "德邦物流"}),
    ("累计消费 > 5000 → VIP", "tagging", 10,
     {"field": "lifetime_spend", "op": ">", "value": 5000}, {"tag": "VIP", "tier": "vip", "priority": 10}),
]


def seed_demo_reference(session: Session) -> None:
    """Insert the demo's missing channels, warehouses and carriers, and its rules when there are
    none; on a shop without customers, switch the encryption of customers' names on (the demo
    and the tests run with every name encrypted; docs/security.md)."""
    have = set(session.execute(select(Channel.code)).scalars())
    for code, name, kind, window in CHANNELS:
        if code not in have:
            session.add(Channel(code=code, name=name, kind=kind, return_window_days=window, active=True))
    have = set(session.execute(select(Warehouse.code)).scalars())
    for code, name, region, province, city, is_store, cost in WAREHOUSES:
        if code not in have:
            session.add(Warehouse(code=code, name=name, region=region, province=province, city=city,
                                  is_store=is_store, ship_cost=Decimal(cost), active=True))
    have = set(session.execute(select(Carrier.code)).scalars())
    for code, name, url in CARRIERS:
        if code not in have:
            session.add(Carrier(code=code, name=name, tracking_url=url, active=True))
    if session.execute(select(Rule.id).limit(1)).first() is None:
        now = utcnow()
        for name, kind, prio, cond, action in RULES:
            session.add(Rule(name=name, kind=kind, priority=prio, condition=cond, action=action,
                             active=True, updated_at=now, updated_by="system"))
    if session.get(Setting, refdata.NAMES_KEY) is None and session.execute(select(Customer.id).limit(1)).first() is None:
        # nothing to convert yet, so no job: the names are written encrypted from the first one
        session.add(Setting(key=refdata.NAMES_KEY, value={refdata.NAMES_ENCRYPT: True}, updated_at=utcnow(),
                            updated_by="system"))
    session.flush()
    refdata.bump(session)
