"""Property tests: random orders and random sequences of actions never break the rules.

* Order validation: any input is either stored whole (totals add up, stock reserved for every
  line or none) or refused with issues that name the field and, for lines, the line number —
  and then nothing at all is written.
* The state machine: random valid and invalid transitions by random roles, interleaved with
  new orders and goods arriving, keep reserved ≤ on_hand, Σ ledger = on_hand and reserved =
  Σ open lines' reservations; every refusal leaves the order as it was.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from core import db, invariants, stock
from core.domain.order_flow import edge_permission
from core.errors import (
    Conflict,
    IllegalTransition,
    InsufficientStock,
    PackNotVerified,
    PermissionDenied,
    ValidationError,
)
from core.models import AuditLog, Customer, Order, OrderLine, Product, StockLevel, Warehouse
from core.permissions import PERMISSIONS, ROLES, SYSTEM, Actor
from core.services import fulfillment, orders
from core.services.orders import LineInput, OrderInput
from tests.conftest import BACKEND
from tests.factories import CLERK, make_product, pack_by_scan

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _snapshot() -> tuple:
    with db.transaction() as s:
        counts = tuple(s.execute(select(func.count()).select_from(m)).scalar_one()
                       for m in (Order, OrderLine, Customer, AuditLog))
        reserved = s.execute(select(func.coalesce(func.sum(StockLevel.reserved), 0))).scalar_one()
    return (*counts, reserved)


long_text = st.text(min_size=33, max_size=400)
money = st.one_of(st.decimals(min_value=-20, max_value=500, places=2, allow_nan=False),
                  st.sampled_from(["abc", "NaN", "Infinity", "1e400", "12.345", ""]))
VALID_HEADER: dict[str, object] = dict(
    channel="PHONE", customer_name="张三", phone="13800138000", province="上海", city="上海市", district="浦东新区",
    address="世纪大道 100 号", payment_method="wechat_pay", payment_status="paid",
)
# One way to get each header field wrong (or merely unusual); an example breaks 0–3 of them.
HEADER_FAULTS: dict[str, st.SearchStrategy] = {
    "channel": st.sampled_from(["TMALL", "POS", "BOGUS", ""]),
    "customer_name": st.one_of(st.just(""), st.text(max_size=200)),
    "phone": st.sampled_from([None, "", "+86 139-0013-9000", "12", "abcdefg", "021-55551234", "1" * 40]),
    "email": st.sampled_from(["a@b.cn", "not-an-email", "x" * 250 + "@b.cn"]),
    "province": st.sampled_from([None, "", "广东省", "火星", "省" * 40]),
    "city": st.one_of(st.none(), st.just(""), long_text),
    "district": st.one_of(st.none(), long_text),
    "address": st.one_of(st.none(), st.text(min_size=290, max_size=500)),
    "payment_method": st.sampled_from([None, "cash", "bitcoin"]),
    "payment_status": st.sampled_from(["unpaid", "stolen"]),
    "delivery_method": st.sampled_from(["pickup", "teleport"]),
    "shipping_fee": money,
    "discount": money,
    "expected_total": st.decimals(min_value=0, max_value=2000, places=2),
    "external_ref": st.one_of(st.sampled_from(["EXT-1", "EXT-2"]), st.text(min_size=95, max_size=140)),
    "note": st.text(max_size=2000),
    "priority": st.integers(min_value=-2000, max_value=2000),
}
LINE_FAULTS: dict[str, st.SearchStrategy] = {
    "sku": st.sampled_from(["PROP-OLD", "NOPE", "", "  PROP-A  ", "x" * 100]),
    "qty": st.one_of(st.integers(min_value=-3, max_value=40), st.sampled_from([2.5, "x", None, 10**12])),
    "unit_price": money,
    "discount": money,
}


@st.composite
def order_line(draw: st.DrawFn) -> LineInput:
    fields: dict[str, object] = {"sku": draw(st.sampled_from(["PROP-A", "PROP-B"])),
                                 "qty": draw(st.integers(min_value=1, max_value=4))}
    for name in draw(st.lists(st.sampled_from(sorted(LINE_FAULTS)), max_size=2, unique=True)):
        fields[name] = draw(LINE_FAULTS[name])
    return LineInput(**fields)  # type: ignore[arg-type]


@st.composite
def order_inputs(draw: st.DrawFn) -> OrderInput:
    """A valid phone order with 0–3 header fields and any of its lines made wrong or odd."""
    fields = dict(VALID_HEADER)
    for name in draw(st.lists(st.sampled_from(sorted(HEADER_FAULTS)), max_size=3, unique=True)):
        fields[name] = draw(HEADER_FAULTS[name])
    lines = draw(st.lists(order_line(), min_size=0, max_size=4))
    return OrderInput(lines=lines, allow_backorder=draw(st.booleans()), **fields)  # type: ignore[arg-type]


@pytest.fixture
def catalogue(db_url: str) -> None:
    make_product("PROP-A", "25.00", {"SH": 30, "BJ": 5})
    make_product("PROP-B", "99.90", {"SH": 2})
    old = make_product("PROP-OLD", "10.00", {"SH": 5})
    with db.transaction() as s:
        s.get(Product, old).active = False


@SETTINGS
@given(data=order_inputs())
@example(data=OrderInput(lines=[LineInput("PROP-A", 1)], **(VALID_HEADER | {"city": "城" * 40})))
@example(data=OrderInput(lines=[LineInput("PROP-A", 1)], **(VALID_HEADER | {"customer_name": "名" * 101})))
@example(data=OrderInput(lines=[LineInput("PROP-A", 1)], **(VALID_HEADER | {"address": "路" * 301})))
def test_an_order_is_stored_whole_or_refused_with_reasons(catalogue: None, data: OrderInput) -> None:
    before = _snapshot()
    try:
        result = orders.create_order(data, CLERK)
    except ValidationError as exc:
        event("refused: " + ",".join(sorted({i.field for i in exc.issues})))
        assert exc.issues
        for issue in exc.issues:
            assert issue.field and issue.message
            assert issue.row is None or 1 <= issue.row <= len(data.lines)
        assert _snapshot() == before  # refused: nothing written, nothing reserved
        return
    except (InsufficientStock, Conflict):
        assert _snapshot() == before
        return
    event("stored")
    detail = orders.order_detail(result.id, SYSTEM)
    lines_total = sum(detail.lines["line_total"], Decimal("0"))
    assert result.total == lines_total - detail.header["discount"] + detail.header["shipping_fee"] >= 0
    reserved = int(detail.lines["qty_reserved"].sum())
    assert reserved == (0 if result.backordered else int(detail.lines["qty"].sum()))
    assert _snapshot()[-1] == before[-1] + reserved
    assert invariants.check() == []


class OrderLifecycle(RuleBasedStateMachine):
    """Random orders, transitions (by any role, to any status) and stock arrivals."""

    placed = Bundle("orders")

    @initialize()
    def stock_up(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.skus = [f"SM-{tag}-{i}" for i in range(3)]
        for sku, qty in zip(self.skus, (6, 3, 1), strict=True):
            make_product(sku, "10.00", {"SH": qty})
        with db.transaction() as s:
            self.sh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
            self.ids = dict(s.execute(select(Product.sku, Product.id).where(Product.sku.in_(self.skus))).all())
        self.status: dict[int, str] = {}

    @rule(target=placed, picks=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3),
          backorder=st.booleans())
    def create(self, picks: list[tuple[int, int]], backorder: bool) -> int:
        data = OrderInput(channel="PHONE", lines=[LineInput(self.skus[i], q) for i, q in picks], customer_name="李四",
                          phone="13900139000", province="上海", city="上海市", district="黄浦区", address="南京东路 1 号",
                          warehouse="SH", allow_backorder=backorder)
        try:
            result = orders.create_order(data, CLERK)
        except InsufficientStock:
            assert not backorder
            return -1
        self.status[result.id] = result.status
        return result.id

    @rule(order_id=placed, to_status=st.sampled_from(orders.STATUSES), role=st.sampled_from(ROLES),
          tracking=st.booleans())
    def move(self, order_id: int, to_status: str, role: str, tracking: bool) -> None:
        if order_id < 0:
            return
        before = self.status[order_id]
        try:
            orders.transition(order_id, to_status, Actor("prop", role), tracking_no="SF123" if tracking else None)
        except PermissionDenied:
            assert role not in PERMISSIONS[edge_permission(before, to_status)]
        except PackNotVerified:  # by hand, never scanned: only the pack bench packs
            assert (before, to_status) == ("picking", "packed")
        except IllegalTransition:
            assert to_status not in orders.TRANSITIONS[before] or to_status == "shipped"
        except ValidationError:
            assert to_status == "shipped" and not tracking
        except InsufficientStock:
            assert to_status == "confirmed"
        else:
            # a picker hands a picking order back (picking → confirmed) under its own permission
            assert to_status in orders.TRANSITIONS[before] and role in PERMISSIONS[edge_permission(before, to_status)]
            self.status[order_id] = to_status
        with db.transaction() as s:
            assert s.execute(select(Order.status).where(Order.id == order_id)).scalar_one() == self.status[order_id]

    @rule(order_id=placed)
    def pack(self, order_id: int) -> None:
        """The warehouse scans every unit at the pack bench (allowed from confirmed or picking)."""
        if order_id < 0:
            return
        before = self.status[order_id]
        progress = fulfillment.pack_progress(order_id, SYSTEM)
        unscanned = int((progress["qty"] - progress["scanned"]).sum())
        try:
            pack_by_scan(order_id)
        except IllegalTransition:
            assert before not in ("confirmed", "picking") and unscanned > 0
        else:  # nothing left to scan (e.g. packed, then sent back to picking) changes nothing
            packs = before in ("confirmed", "picking") and unscanned > 0
            assert packs or unscanned == 0
            self.status[order_id] = "packed" if packs else before

    @rule(index=st.integers(0, 2), qty=st.integers(1, 4))
    def goods_arrive(self, index: int, qty: int) -> None:
        """A receipt in one transaction with the backorders it releases (as receive_po does)."""
        product_id = self.ids[self.skus[index]]
        with db.transaction() as s:
            stock.post_movement(s, product_id=product_id, warehouse_id=self.sh, qty_delta=qty, kind="receipt",
                                actor="prop")
            released = orders.reserve_backorders(s, [product_id], self.sh, Actor("prop", "warehouse"))
        for number in released:
            order_id = orders.order_id_by_number(number)
            assert self.status[order_id] == "backordered"
            self.status[order_id] = "confirmed"

    @invariant()
    def stock_is_sound(self) -> None:
        assert invariants.check() == []


def test_random_action_sequences_keep_the_invariants(db_url: str) -> None:
    # fewer runs on PostgreSQL, where every step is a server round trip (same rules, same checks)
    runs = 6 if BACKEND == "postgres" else 15
    run_state_machine_as_test(OrderLifecycle, settings=settings(max_examples=runs, stateful_step_count=25,
                                                                deadline=None))
