"""Customer profiles by hand (core.services.customer_profiles): edit with the order service's
normalisation, merge two profiles (orders, identities and later lookups move to the survivor,
the analytics summaries count the survivor once), refusals that write nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import db
from core.analytics import customers as customer_analytics
from core.analytics import summary
from core.analytics.filters import Filters
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import AuditLog, Channel, Customer, CustomerIdentity, Order
from core.services import customer_profiles, customers, product_master
from core.services.customer_profiles import CustomerEdit
from core.services.orders import create_order
from core.timeutil import local_today, utcnow
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input


@pytest.fixture
def shop(db_url: str) -> dict[str, int]:
    """Two profiles of one person: 张三 by phone, and a Tmall buyer with a second number."""
    make_product("TEA-1", "10.00", {"SH": 100})
    first = create_order(order_input(("TEA-1", 1)), CLERK)
    second = create_order(order_input(("TEA-1", 2), phone="13900139000", customer_name="张三 (天猫)",
                                      email="Zhang@Example.com", channel="TMALL"), CLERK)
    with db.transaction() as s:
        tmall = s.execute(select(Channel.id).where(Channel.code == "TMALL")).scalar_one()
        s.add(CustomerIdentity(customer_id=second.customer_id, channel_id=tmall, external_id="zhang_tb"))
    return {"survivor": first.customer_id, "merged": second.customer_id}


def _audit_count() -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(AuditLog)).scalar_one()


def _edit(**kw: object) -> CustomerEdit:
    base: dict[str, object] = dict(name="张三", phone="+86 138-0013-8000", email=None, province="上海市",
                                   city="上海市", district="浦东新区", address="世纪大道 100 号")
    base.update(kw)
    return CustomerEdit(**base)  # type: ignore[arg-type]


def test_edit_normalises_like_order_entry_and_audits(shop: dict[str, int]) -> None:
    profile = customer_profiles.update_customer(shop["survivor"], _edit(
        name=" 张三丰 ", email=" ZS@Example.COM ", province="浙江省", city="杭州市", district="西湖区",
        address="文三路 1 号", tier="vip", tags="VIP, 老客户，VIP"), SERVICE)
    assert (profile.name, profile.phone, profile.email) == ("张三丰", "13800138000", "zs@example.com")
    assert profile.province == "浙江" and profile.tier == "vip" and profile.tags == ("VIP", "老客户")
    with db.transaction() as s:
        row = s.execute(select(AuditLog).where(AuditLog.action == "customer.update")).scalar_one()
    # names are encrypted in the tests: the audit row says the name changed, masked like a phone
    assert row.before["name"] == row.after["name"] == "张****" and "phone" not in row.after


def test_bad_edit_names_every_field_and_writes_nothing(shop: dict[str, int]) -> None:
    before = _audit_count()
    with pytest.raises(ValidationError) as exc:
        customer_profiles.update_customer(shop["survivor"], _edit(
            name=" ", phone="12-34", email="not-an-email", tier="gold", address="x" * 301, tags=["t" * 33]), SERVICE)
    assert {i.field: i.message for i in exc.value.issues} == {
        "customer_name": "issue.required", "phone": "issue.bad_phone", "email": "mdp.bad_email",
        "tier": "issue.one_of", "address": "issue.too_long", "tags": "issue.too_long"}
    assert _audit_count() == before
    assert customer_profiles.customer_profile(shop["survivor"], SERVICE).name == "张三"


def test_a_phone_of_another_profile_is_refused_and_named(shop: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as exc:
        customer_profiles.update_customer(shop["survivor"], _edit(phone="139 0013 9000"), SERVICE)
    issue = exc.value.issues[0]
    merged = customer_profiles.customer_profile(shop["merged"], SERVICE)
    assert (issue.field, issue.message, issue.params["code"]) == ("phone", "mdp.contact_taken", merged.code)


def test_a_merged_profiles_phone_is_refused_and_names_the_survivor(shop: dict[str, int]) -> None:
    customer_profiles.merge_customers(shop["survivor"], shop["merged"], SERVICE)
    other = create_order(order_input(("TEA-1", 1), phone="13700137000", customer_name="王五"), CLERK).customer_id
    with pytest.raises(ValidationError) as exc:  # 139… is the merged profile's: it leads to the survivor
        customer_profiles.update_customer(other, _edit(name="王五", phone="13900139000"), SERVICE)
    survivor = customer_profiles.customer_profile(shop["survivor"], SERVICE)
    assert exc.value.issues[0].params == {"code": survivor.code, "name": survivor.name}
    # the survivor itself may take its merged profile's number
    assert customer_profiles.update_customer(shop["survivor"], _edit(phone="13900139000"), SERVICE).phone \
        == "13900139000"


def test_merge_moves_orders_identities_and_lookups_to_the_survivor(shop: dict[str, int]) -> None:
    result = customer_profiles.merge_customers(shop["survivor"], shop["merged"], SERVICE)
    assert (result.orders_moved, result.identities_moved) == (1, 1)
    survivor = result.survivor
    assert survivor.orders == 2 and survivor.identities == (("TMALL", "zhang_tb"),)
    assert survivor.email == "zhang@example.com"  # a blank field filled from the merged profile
    merged = customer_profiles.customer_profile(shop["merged"], SERVICE)
    assert merged.merged_into == survivor.code and merged.orders == 0 and merged.merged_at is not None
    with db.transaction() as s:
        assert set(s.execute(select(Order.customer_id)).scalars()) == {shop["survivor"]}
        row = s.execute(select(AuditLog).where(AuditLog.action == "customer.merge")).scalar_one()
    assert row.entity_id == result.merged_code and row.after["merged_into"] == survivor.code
    # the audit trail keeps personal data masked (it is encrypted everywhere else)
    assert row.before["merged"]["phone"] == "139****9000" and len(row.after["orders"]) == 1
    # the merged profile's old phone (order entry) and e-mail (imports) now find the survivor
    again = create_order(order_input(("TEA-1", 1), phone="13900139000", customer_name="张三"), CLERK)
    assert again.customer_id == shop["survivor"] and not again.customer_created
    assert customers.search_customers("13900139000", SERVICE)["id"].tolist() == []  # merged rows are hidden
    assert customer_profiles.list_customers(SERVICE)["id"].tolist() == [shop["survivor"]]
    assert len(customer_profiles.list_customers(SERVICE, include_merged=True)) == 2


def test_refused_merges_write_nothing(shop: dict[str, int]) -> None:
    before = _audit_count()
    with pytest.raises(Refused) as exc:
        customer_profiles.merge_customers(shop["survivor"], shop["survivor"], SERVICE)
    assert exc.value.key == "mdp.merge_self"
    customer_profiles.merge_customers(shop["survivor"], shop["merged"], SERVICE)
    after_merge = _audit_count()
    assert after_merge == before + 1
    for survivor, merged in ((shop["survivor"], shop["merged"]), (shop["merged"], shop["survivor"])):
        with pytest.raises(Refused) as exc:
            customer_profiles.merge_customers(survivor, merged, SERVICE)
        assert exc.value.key == "mdp.customer_merged"
    with pytest.raises(Refused):
        customer_profiles.update_customer(shop["merged"], _edit(phone=None), SERVICE)
    assert _audit_count() == after_merge


def test_a_chain_of_merges_points_every_old_profile_at_the_last_survivor(shop: dict[str, int]) -> None:
    third = create_order(order_input(("TEA-1", 1), phone="13700137000", customer_name="张三"), CLERK).customer_id
    customer_profiles.merge_customers(shop["merged"], third, SERVICE)  # third → merged
    customer_profiles.merge_customers(shop["survivor"], shop["merged"], SERVICE)  # merged → survivor
    with db.transaction() as s:
        pointers = dict(s.execute(select(Customer.id, Customer.merged_into_id)).all())
    assert pointers == {shop["survivor"]: None, shop["merged"]: shop["survivor"], third: shop["survivor"]}
    assert create_order(order_input(("TEA-1", 1), phone="13700137000"), CLERK).customer_id == shop["survivor"]


def _an_hour_later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refreshes run an hour after the writes (the test clock is pinned: every write is "now"),
    so the next refresh's look-back no longer covers them: it rebuilds only what the new
    writes themselves signal."""
    real_utcnow = summary.utcnow
    monkeypatch.setattr(summary, "utcnow", lambda: real_utcnow() + dt.timedelta(hours=1))


def test_customer_analytics_count_the_survivor_once_after_a_merge(shop: dict[str, int],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    today = local_today()
    window = Filters.last(365, today)
    _an_hour_later(monkeypatch)
    summary.refresh()
    assert customer_analytics.rfm_profile(window, today)["customers"].sum() == 2
    customer_profiles.merge_customers(shop["survivor"], shop["merged"], SERVICE)
    result = summary.refresh_if_stale()
    assert result is not None and not result.full  # an incremental refresh is enough
    profile = customer_analytics.rfm_profile(window, today)
    assert profile["customers"].sum() == 1 and profile["orders"].sum() == 2
    assert profile["net_sales"].sum() == Decimal("30.00")
    with summary.raw_source():  # the summaries say what the raw tables say
        assert customer_analytics.rfm_profile(window, today)["customers"].sum() == 1
    incremental = _summary_rows()
    summary.refresh(full=True)
    assert incremental == _summary_rows()


def test_a_profile_edit_moves_the_customer_to_its_new_region(shop: dict[str, int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _an_hour_later(monkeypatch)
    summary.refresh()
    customer_profiles.update_customer(shop["survivor"], _edit(province="广东", city="广州市", district="天河区"),
                                      SERVICE)
    assert not summary.refresh().full
    incremental = _summary_rows()
    summary.refresh(full=True)
    assert incremental == _summary_rows()


def test_a_product_category_change_rebuilds_the_summaries(shop: dict[str, int]) -> None:
    summary.refresh()
    with db.transaction() as s:
        from core.models import Product
        pid = s.execute(select(Product.id).where(Product.sku == "TEA-1")).scalar_one()
    rec = product_master.product_record(pid, MANAGER)
    product_master.update_product(pid, product_master.ProductDraft(
        sku=rec.sku, name=rec.name, unit_price=rec.unit_price, unit_cost=rec.unit_cost, category="绿茶",
        barcodes=rec.barcodes), MANAGER)
    assert summary.refresh().full


def _summary_rows() -> dict[str, list[tuple]]:
    out = {}
    with db.transaction() as s:
        for table in summary.SUMMARY_TABLES:
            rows = s.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(round(float(v), 4) if isinstance(v, Decimal | float) else v for v in r)
                               for r in rows]
    return out


@pytest.mark.parametrize(("actor", "call"), [
    (WAREHOUSE, lambda ids: customer_profiles.list_customers(WAREHOUSE)),
    (WAREHOUSE, lambda ids: customer_profiles.update_customer(ids["survivor"], _edit(), WAREHOUSE)),
    (CLERK, lambda ids: customer_profiles.merge_customers(ids["survivor"], ids["merged"], CLERK)),
])
def test_permissions(shop: dict[str, int], actor: object, call: object) -> None:
    with pytest.raises(PermissionDenied):
        call(shop)  # type: ignore[operator]


def test_merged_at_comes_from_the_shop_clock(shop: dict[str, int]) -> None:
    before = utcnow()  # the test clock is pinned to a fixed start and ticks on from there
    customer_profiles.merge_customers(shop["survivor"], shop["merged"], MANAGER)
    merged_at = customer_profiles.customer_profile(shop["merged"], MANAGER).merged_at
    assert isinstance(merged_at, dt.datetime) and before <= merged_at <= utcnow()
