"""After-sales rules alone (core.domain.returns): what may be returned, the return window,
refund arithmetic and ceilings, the RMA state machine and inspection — no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from core.domain import returns
from core.domain.returns import RMAState
from core.errors import FieldIssue, IllegalTransition, Refused
from core.permissions import Actor

BOSS = Actor("boss", "manager")
CS1 = Actor("cs1", "service")
CS2 = Actor("cs2", "service")
WAREHOUSE = Actor("wh1", "warehouse")
DELIVERED = dt.datetime(2026, 11, 1, 10, 0)


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int
    qty_shipped: int
    qty_returned: int = 0


@dataclass(frozen=True)
class Claim:
    line_no: int
    qty: int
    replacement_sku: str | None = None


@dataclass(frozen=True)
class Product:
    sku: str
    active: bool
    unit_price: D


@dataclass(frozen=True)
class Result:
    line_no: int
    restock_qty: int
    warehouse: str
    damage_reason: str | None = None


LINES = {1: Line("TS-M", 3, 3, 1), 2: Line("CAP", 1, 1)}


def _issues(kind: str = "return", reason: str = "size", payment: str = "paid", claims: tuple[Claim, ...] = (),
            products: dict[str, Product] | None = None) -> list[tuple[str, str, int | None]]:
    _, issues = returns.request_issues("SO-1", kind, reason, payment, claims, LINES, products or {})
    return [(i.field, i.message, i.row) for i in issues]


# --- what may be returned --------------------------------------------------------------------------


def test_only_shipped_goods_can_be_returned_an_unshipped_order_is_cancelled_instead() -> None:
    for status in ("shipped", "delivered", "completed"):
        returns.check_returnable_order("SO-1", status)
    for status in ("pending_review", "confirmed", "picking", "packed", "on_hold", "backordered", "cancelled"):
        with pytest.raises(IllegalTransition):
            returns.check_returnable_order("SO-1", status)


def test_a_line_returns_at_most_what_shipped_less_what_is_already_under_an_rma() -> None:
    assert returns.returnable_units(LINES[1]) == 2
    assert _issues(claims=(Claim(1, 2),)) == []
    assert _issues(claims=(Claim(1, 3),)) == [("qty", "issue.rma_over_return", 1)]
    _, issues = returns.request_issues("SO-1", "return", "size", "paid", (Claim(1, 3),), LINES, {})
    assert [i.english() for i in issues] == ["at most 2 left to return (shipped 3, already returned 1)"]


def test_a_claim_is_a_whole_positive_number_of_units() -> None:
    assert _issues(claims=(Claim(2, 0),)) == [("qty", "issue.positive", 2)]
    assert _issues(claims=(Claim(2, 2_000_000),)) == [("qty", "rb.qty_at_most", 2)]


def test_a_request_names_known_kinds_reasons_and_lines_each_once() -> None:
    assert _issues(kind="swap", reason="bored", claims=(Claim(9, 1), Claim(2, 1), Claim(2, 1))) == [
        ("rma_kind", "issue.one_of", None), ("rma_reason", "issue.one_of", None),
        ("line_no", "issue.rma_no_such_line", 9), ("line_no", "issue.rma_listed_twice", 2)]
    _, issues = returns.request_issues("SO-1", "swap", "bored", "paid", (Claim(9, 1),), LINES, {})
    assert [i.english() for i in issues] == [
        "must be one of: return, exchange, refund_only",
        "must be one of: size, quality, damaged, wrong_item, not_as_described, no_reason_7d, other",
        "order SO-1 has no line 9"]
    assert _issues(claims=()) == [("lines", "issue.rma_no_lines", None)]


def test_money_back_without_goods_is_asked_only_of_a_paid_order() -> None:
    assert _issues(kind="refund_only", payment="unpaid", claims=(Claim(2, 1),)) == [
        ("rma_kind", "issue.rma_not_paid", None)]
    assert _issues(kind="refund_only", payment="partially_refunded", claims=(Claim(2, 1),)) == []


def test_only_an_exchange_has_a_replacement() -> None:
    assert _issues(claims=(Claim(2, 1, "CAP-RED"),)) == [
        ("rma_replacement_sku", "issue.rma_replacement_only_exchange", 2)]


def test_an_exchange_sends_the_same_sku_unless_another_is_asked_for() -> None:
    cap = Product("CAP", True, D("20.00"))
    shirt = Product("TS-L", True, D("90.00"))
    assert returns.replacement_sku(Claim(2, 1), LINES) == "CAP"
    assert returns.replacement_sku(Claim(1, 1, " TS-L "), LINES) == "TS-L"
    chosen, issues = returns.request_issues("SO-1", "exchange", "size", "paid", (Claim(2, 1), Claim(1, 1, "TS-L")),
                                            LINES, {"CAP": cap, "TS-L": shirt})
    assert (chosen, issues) == ({2: cap, 1: shirt}, [])


def test_an_exchange_for_an_unknown_or_discontinued_sku_is_refused() -> None:
    products = {"OLD": Product("OLD", False, D("1.00"))}
    assert _issues(kind="exchange", claims=(Claim(1, 1, "NOPE"), Claim(2, 1, "OLD")), products=products) == [
        ("rma_replacement_sku", "issue.unknown_sku", 1), ("rma_replacement_sku", "issue.discontinued", 2)]
    _, issues = returns.request_issues("SO-1", "exchange", "size", "paid", (Claim(1, 1, "NOPE"), Claim(2, 1, "OLD")),
                                       LINES, products)
    assert [i.english() for i in issues] == ["unknown SKU NOPE", "SKU OLD is discontinued"]


def test_the_rma_that_brings_the_last_units_back_completes_the_order() -> None:
    assert returns.completes_order(LINES.items(), {1: 2, 2: 1})
    assert not returns.completes_order(LINES.items(), {1: 2})


# --- the return window and the policy --------------------------------------------------------------


def test_the_window_starts_on_delivery_and_ends_its_days_later() -> None:
    deadline = returns.return_deadline(DELIVERED, 7)
    assert deadline == dt.datetime(2026, 11, 8, 10, 0)
    assert returns.within_window(deadline, deadline)
    assert not returns.within_window(deadline, deadline + dt.timedelta(seconds=1))


def test_an_order_not_delivered_yet_is_always_within_its_window() -> None:
    assert returns.return_deadline(None, 7) is None
    assert returns.within_window(None, dt.datetime(2099, 1, 1))


def test_a_request_outside_the_window_or_an_exchange_worth_more_than_was_paid_breaks_the_policy() -> None:
    assert returns.policy_breaches(in_window=True, kind="exchange", replacement_value=D("90"), paid=D("90")) == ()
    assert returns.policy_breaches(in_window=False, kind="return", replacement_value=D("0"), paid=D("90")) == (
        "window",)
    assert returns.policy_breaches(in_window=False, kind="exchange", replacement_value=D("90.01"),
                                   paid=D("90")) == ("window", "value")
    assert returns.policy_breaches(in_window=True, kind="return", replacement_value=D("999"), paid=D("1")) == ()


def test_an_exchange_is_worth_its_replacements_list_prices_times_the_units() -> None:
    value = returns.exchange_value({1: Product("TS-L", True, D("90.00")), 2: Product("CAP", True, D("20.50"))},
                                   (Claim(1, 2), Claim(2, 1)))
    assert value == D("200.50")


# --- refund arithmetic -----------------------------------------------------------------------------


def test_a_line_paid_270_for_3_units_refunds_90_a_unit() -> None:  # docs/aftersales.md's worked example
    assert returns.refund_for_units(D("270.00"), 3, 0, 1) == D("90.00")
    assert returns.refund_for_units(D("270.00"), 3, 1, 2) == D("180.00")


def test_refunding_a_line_unit_by_unit_adds_up_to_what_was_paid() -> None:
    parts = [returns.refund_for_units(D("91.66"), 3, before, 1) for before in range(3)]
    assert parts == [D("30.55"), D("30.56"), D("30.55")] and sum(parts) == D("91.66")


def test_no_units_or_an_empty_line_refund_nothing() -> None:
    assert returns.refund_for_units(D("10.00"), 0, 0, 1) == returns.ZERO
    assert returns.refund_for_units(D("10.00"), 2, 0, 0) == returns.ZERO


def test_shipping_is_refunded_with_the_last_units_when_the_shop_was_at_fault() -> None:
    fee = D("10.00")
    assert returns.shipping_refund("seller_fault", "quality", "return", True, fee) == fee
    assert returns.shipping_refund("seller_fault", "size", "return", True, fee) == returns.ZERO
    assert returns.shipping_refund("seller_fault", "quality", "return", False, fee) == returns.ZERO


def test_the_shipping_policy_can_always_or_never_refund_shipping_but_never_for_an_exchange() -> None:
    fee = D("10.00")
    assert returns.shipping_refund("always", "size", "refund_only", True, fee) == fee
    assert returns.shipping_refund("never", "quality", "return", True, fee) == returns.ZERO
    assert returns.shipping_refund("always", "quality", "exchange", True, fee) == returns.ZERO
    assert returns.shipping_refund("always", "quality", "return", True, returns.ZERO) == returns.ZERO


def test_an_exchange_refunds_no_money_for_the_goods() -> None:
    assert returns.computed_refund("return", [D("90.00"), D("45.00")], D("10.00")) == D("145.00")
    assert returns.computed_refund("exchange", [D("90.00")], returns.ZERO) == returns.ZERO
    assert not returns.refunds_goods("exchange") and returns.refunds_goods("refund_only")


def test_an_rma_is_refunded_once_at_its_kinds_statuses_on_a_paid_order() -> None:
    assert returns.refundable("return", "received", "paid", already_refunded=False)
    assert returns.refundable("refund_only", "approved", "partially_refunded", already_refunded=False)
    assert not returns.refundable("return", "approved", "paid", already_refunded=False)  # goods not back yet
    assert not returns.refundable("return", "closed", "paid", already_refunded=True)
    assert not returns.refundable("refund_only", "approved", "unpaid", already_refunded=False)
    assert not any(returns.refundable("exchange", s, "paid", already_refunded=False) for s in returns.STATUSES)


def test_refunding_an_exchange_or_an_rma_at_the_wrong_status_is_refused_saying_why() -> None:
    with pytest.raises(IllegalTransition, match="an exchange is settled by its replacement order") as err:
        returns.check_refundable_status("RMA-1", "exchange", "received")
    assert err.value.key == "rma_refusal.exchange_not_refunded"
    with pytest.raises(IllegalTransition, match="an RMA that is Requested cannot be refunded") as err:
        returns.check_refundable_status("RMA-1", "return", "requested")
    assert (err.value.key, err.value.params["status"]) == ("rma_refusal.not_refundable_now", {"key": "rma_status.requested"})
    returns.check_refundable_status("RMA-1", "return", "inspected")


def test_service_refunds_up_to_the_computed_amount_a_manager_up_to_what_is_left() -> None:
    assert returns.refund_limit(CS1, D("90.00"), D("325.00")) == D("90.00")
    assert returns.refund_limit(CS1, D("90.00"), D("50.00")) == D("50.00")
    assert returns.refund_limit(BOSS, D("90.00"), D("325.00")) == D("325.00")
    assert returns.refund_limit(WAREHOUSE, D("90.00"), D("325.00")) == returns.ZERO
    assert returns.refund_limit(BOSS, D("90.00"), D("-5.00")) == returns.ZERO


@pytest.mark.parametrize(("typed", "amount", "message"), [
    (None, D("90.00"), None), ("12.345", D("12.35"), None), ("abc", returns.ZERO, "issue.not_a_number"),
    ("NaN", returns.ZERO, "issue.not_a_number"), ("Infinity", returns.ZERO, "issue.not_a_number"),
    ("1e400", returns.ZERO, "hf.amount_out_of_range"), ("0", D("0.00"), "issue.positive"),
    ("-5", D("-5.00"), "issue.positive"),
])
def test_a_typed_refund_amount_is_money_to_the_cent_above_zero(typed: str | None, amount: D,
                                                               message: str | None) -> None:
    value, issues = returns.parse_refund_amount(typed, D("90.00"))
    assert value == amount and [i.message for i in issues] == ([message] if message else [])


def _refund_issues(value: str, actor: Actor | None, note: str | None = None, payment: str = "paid",
                   prior: list[FieldIssue] | None = None) -> list[str]:
    """The refusals as their English text (the ``en`` catalog's, figures filled in)."""
    issues = list(prior or [])
    returns.check_refund(payment, D("90.00"), D("100.00"), D(value), actor, note, issues)
    return [i.english() for i in issues]


def test_a_refund_never_exceeds_what_is_left_of_the_order_total() -> None:
    assert _refund_issues("100.01", BOSS, "goodwill") == ["only 100.00 of the order total is left to refund"]


def test_above_the_computed_amount_only_a_manager_refunds_and_only_with_a_note() -> None:
    assert _refund_issues("95.00", CS1, "please") == [
        "at most 90.00 (the computed refund); a manager can refund more"]
    assert _refund_issues("95.00", BOSS) == ["required when refunding more than the computed amount"]
    assert _refund_issues("95.00", BOSS, "goodwill") == []
    assert _refund_issues("90.00", CS1) == []


def test_an_approved_request_above_the_computed_amount_still_needs_its_note() -> None:
    assert _refund_issues("95.00", None) == ["required when refunding more than the computed amount"]
    assert _refund_issues("95.00", None, "approved goodwill") == []


def test_only_a_paid_order_is_refunded_and_a_bad_amount_is_not_judged_twice() -> None:
    assert _refund_issues("10.00", BOSS, payment="unpaid") == ["the order is not paid: there is nothing to refund"]
    assert _refund_issues("500.00", CS1, prior=[FieldIssue("note", "issue.too_long", params={"n": 200})]) == [
        "at most 200 characters"]


def test_a_large_refund_or_one_on_an_imported_order_waits_for_a_second_person() -> None:
    assert returns.refund_approval_reason(D("1000.01"), D("1000.00"), None) == {
        "key": "rb.why_amount", "limit": "1000.00"}
    assert returns.refund_approval_reason(D("1000.00"), D("1000.00"), None) is None
    assert returns.refund_approval_reason(D("79.00"), D("1000.00"), "TM-1") == {"key": "rb.why_imported"}


def test_a_waiting_refund_is_approved_by_someone_other_than_its_requester() -> None:
    with pytest.raises(Refused) as caught:
        returns.check_refund_decision("RMA-1", "cs1", True, "cs1")
    assert caught.value.key == "rb.own_request"
    returns.check_refund_decision("RMA-1", "cs1", False, "cs1")  # withdrawing one's own request
    returns.check_refund_decision("RMA-1", "cs1", True, "boss")
    with pytest.raises(Refused) as caught:
        returns.check_refund_decision("RMA-1", None, False, "boss")
    assert caught.value.key == "rb.refund_no_request"


# --- the RMA state machine -------------------------------------------------------------------------


def test_a_request_is_approved_rejected_or_cancelled() -> None:
    for kind in returns.KINDS:
        assert returns.next_statuses(kind, "requested") == ("approved", "rejected", "cancelled")


def test_approved_goods_are_received_before_the_rma_closes() -> None:
    for kind in ("return", "exchange"):
        assert returns.next_statuses(kind, "approved") == ("received", "cancelled")
        assert returns.next_statuses(kind, "received") == ("inspected",)
        assert returns.next_statuses(kind, "inspected") == ("closed",)


def test_a_refund_without_goods_closes_straight_after_approval() -> None:
    assert returns.next_statuses("refund_only", "approved") == ("closed", "cancelled")
    assert returns.next_statuses("refund_only", "received") == ("inspected",)  # never reached: nothing is received


def test_closed_rejected_and_cancelled_rmas_go_nowhere() -> None:
    for status in ("closed", "rejected", "cancelled"):
        assert returns.next_statuses("return", status) == ()


def test_an_unknown_rma_status_is_refused_before_anything_else() -> None:
    with pytest.raises(IllegalTransition):
        returns.target_permission("lost")
    assert returns.target_permission("received") == "rma.receive"
    assert returns.target_permission("approved") == "rma.decide"


def test_inspection_has_its_own_door_and_illegal_edges_are_refused() -> None:
    with pytest.raises(IllegalTransition, match="inspection needs a result per line"):
        returns.check_rma_transition(RMAState("RMA-1", "return", "received"), "inspected", "boss")
    with pytest.raises(IllegalTransition, match=r"\(Return\) cannot go from Approved to Closed"):
        returns.check_rma_transition(RMAState("RMA-1", "return", "approved"), "closed", "boss")
    returns.check_rma_transition(RMAState("RMA-1", "refund_only", "approved"), "closed", "boss")


def test_whoever_opened_an_rma_does_not_approve_it() -> None:
    mine = RMAState("RMA-1", "return", "requested", created_by="cs1")
    with pytest.raises(Refused) as caught:
        returns.check_rma_transition(mine, "approved", "cs1")
    assert caught.value.params == {"reference": "RMA-1"}
    returns.check_rma_transition(mine, "approved", "cs2")
    returns.check_rma_transition(mine, "cancelled", "cs1")


def test_how_an_rma_ends() -> None:
    exchange, ret = RMAState("R", "exchange", "inspected"), RMAState("R", "return", "inspected")
    assert returns.resolution(ret, "rejected", refunded=False) == "rejected"
    assert returns.resolution(ret, "cancelled", refunded=False) == "cancelled"
    assert returns.resolution(exchange, "closed", refunded=False) == "replaced"
    assert returns.resolution(ret, "closed", refunded=True) == "refunded"
    assert returns.resolution(ret, "closed", refunded=False) == "no_refund"
    assert returns.resolution(ret, "received", refunded=False) is None


def test_the_desk_offers_the_opener_everything_but_approving_their_own_request() -> None:
    mine = RMAState("RMA-1", "return", "requested", created_by="cs1")
    assert returns.rma_actions(mine, CS1, can_refund=False, requested_by=None) == ("rejected", "cancelled")
    assert returns.rma_actions(mine, CS2, can_refund=False, requested_by=None) == (
        "approved", "rejected", "cancelled")
    assert returns.rma_actions(mine, WAREHOUSE, can_refund=False, requested_by=None) == ()


def test_the_desk_offers_a_refund_then_its_decision_to_someone_else() -> None:
    received = RMAState("RMA-1", "return", "received", created_by="cs1")
    assert returns.rma_actions(received, CS1, can_refund=True, requested_by=None) == ("inspected", "refund")
    assert returns.rma_actions(received, WAREHOUSE, can_refund=True, requested_by=None) == ("inspected",)
    assert returns.rma_actions(received, CS1, can_refund=True, requested_by="cs1") == ("inspected", "refund_reject")
    assert returns.rma_actions(received, CS2, can_refund=True, requested_by="cs1") == (
        "inspected", "refund_approve", "refund_reject")
    assert returns.rma_actions(received, CS2, can_refund=False, requested_by="cs1") == ("inspected",)


# --- inspection ------------------------------------------------------------------------------------


def test_every_returned_line_gets_exactly_one_result_into_a_known_warehouse() -> None:
    returned = [Claim(1, 2), Claim(2, 1)]
    by_line, issues = returns.inspection_issues(returned, [Result(1, 2, "SH"), Result(1, 2, "SH"),
                                                           Result(5, 1, "SH")], ["SH", "GZ"])
    assert set(by_line) == {1}
    assert [(i.field, i.message, i.row) for i in issues] == [
        ("line_no", "issue.rma_listed_twice", 1), ("line_no", "issue.rma_not_on_rma", 5),
        ("rma_restocked", "issue.rma_inspect_all", 2)]
    _, issues = returns.inspection_issues(returned, [Result(1, 2, "XX"), Result(2, 1, "GZ")], ["SH", "GZ"])
    assert [(i.field, i.row) for i in issues] == [("warehouse", 1)]


def test_restocking_is_a_whole_number_between_nothing_and_every_unit() -> None:
    returned = [Claim(1, 2)]
    for bad, message in ((3, "must be between 0 and 2"), (-1, "must be between 0 and 2"),
                         (1.5, "must be a whole number"), (True, "must be a whole number")):
        _, issues = returns.inspection_issues(returned, [Result(1, bad, "SH", "torn")], ["SH"])  # type: ignore[arg-type]
        assert [i.english() for i in issues] == [message], bad


def test_units_written_off_need_a_short_damage_reason() -> None:
    returned = [Claim(1, 2)]
    _, issues = returns.inspection_issues(returned, [Result(1, 1, "SH", "  ")], ["SH"])
    assert [i.message for i in issues] == ["issue.rma_damage_reason"]
    _, issues = returns.inspection_issues(returned, [Result(1, 0, "SH", "x" * 201)], ["SH"])
    assert [(i.message, i.params) for i in issues] == [("issue.too_long", {"n": 200})]
    assert returns.inspection_issues(returned, [Result(1, 2, "SH")], ["SH"])[1] == []


def test_a_returned_line_is_resellable_damaged_or_partly_each() -> None:
    assert (returns.condition(2, 2), returns.condition(2, 0), returns.condition(2, 1)) == (
        "resellable", "damaged", "partial")
    assert (returns.write_off_units(2, 2), returns.write_off_units(2, 0)) == (0, 2)
