"""Channel stock figures: shares never promise more than is available unless a channel says
``oversell``; buffers and maximums only lower a figure; rounding is down to whole units; a
change is published when it matters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.channel_stock import (
    MAX_SHARE,
    Figure,
    Override,
    Policy,
    figures,
    overlap,
    share_issues,
    with_override,
    worth_publishing,
)

STOCK = st.integers(min_value=-5, max_value=10**9)
POLICY = st.builds(Policy, share_pct=st.integers(0, MAX_SHARE), buffer=st.integers(0, 10**6),
                   maximum=st.none() | st.integers(0, 10**6), delist_at_zero=st.booleans(), oversell=st.just(False))
POLICIES = st.dictionaries(st.text("ABCDEFGH", min_size=1, max_size=3), POLICY, max_size=8)


@settings(max_examples=300, deadline=None)
@given(available=STOCK, policies=POLICIES)
def test_pooled_channels_never_sum_past_what_is_available(available: int, policies: dict[str, Policy]) -> None:
    result = figures(available, policies)
    assert sum(f.ats for f in result.values()) <= max(available, 0)
    assert overlap(available, result) == 0
    for channel, policy in policies.items():
        figure = result[channel]
        assert figure.ats >= 0
        assert policy.maximum is None or figure.ats <= policy.maximum
        assert figure.ats <= max(available - policy.buffer, 0)
        if policy.delist_at_zero and figure.ats == 0:
            assert not figure.listed
        if figure.ats > 0:
            assert figure.listed


@settings(max_examples=200, deadline=None)
@given(available=st.integers(0, 10**6), policies=POLICIES)
def test_shares_within_100_percent_are_taken_exactly_rounded_down(available: int,
                                                                   policies: dict[str, Policy]) -> None:
    if sum(p.share_pct for p in policies.values()) > MAX_SHARE:
        assert share_issues(policies)[0].message == "cs.issue_shares_over"
        return
    assert share_issues(policies) == []
    for channel, policy in policies.items():
        uncapped = max(available - policy.buffer, 0) * policy.share_pct // 100
        expected = uncapped if policy.maximum is None else min(uncapped, policy.maximum)
        assert figures(available, policies)[channel].ats == expected


def test_sixty_and_forty_percent_of_ten_units() -> None:
    result = figures(10, {"TMALL": Policy(60), "JD": Policy(40)})
    assert result == {"TMALL": Figure(6, True), "JD": Figure(4, True)}
    assert figures(3, {"TMALL": Policy(60), "JD": Policy(40)}) == {"TMALL": Figure(1, True), "JD": Figure(1, True)}


def test_shares_past_100_percent_are_scaled_down_together() -> None:
    result = figures(10, {"TMALL": Policy(80), "JD": Policy(80)})
    assert result == {"TMALL": Figure(5, True), "JD": Figure(5, True)}
    assert share_issues({"TMALL": Policy(80), "JD": Policy(80)})[0].params == {"total": 160, "channels": "JD, TMALL"}
    assert share_issues({"TMALL": Policy(80), "JD": Policy(80)}, "A1")[0].message == "cs.issue_sku_shares_over"


def test_an_oversell_channel_overlaps_the_others_and_the_excess_is_reported() -> None:
    policies = {"POS": Policy(100, oversell=True), "TMALL": Policy(60), "JD": Policy(40)}
    result = figures(10, policies)
    assert [result[c].ats for c in ("POS", "TMALL", "JD")] == [10, 6, 4]
    assert overlap(10, result) == 10
    assert share_issues(policies) == []  # the oversell channel is not part of the pooled 100 %


def test_buffer_comes_off_the_top_maximum_caps_and_delist_at_zero() -> None:
    assert figures(100, {"T": Policy(60, buffer=5)})["T"] == Figure(57, True)
    assert figures(100, {"T": Policy(60, maximum=20)})["T"] == Figure(20, True)
    assert figures(4, {"T": Policy(60, buffer=5, delist_at_zero=True)})["T"] == Figure(0, False)
    assert figures(4, {"T": Policy(60, buffer=5)})["T"] == Figure(0, True)  # stays listed as sold out
    assert figures(-3, {"T": Policy(100)})["T"] == Figure(0, True)


def test_an_override_replaces_only_what_it_sets() -> None:
    base = Policy(60, buffer=5, maximum=50, delist_at_zero=True)
    assert with_override(base, None) == base
    assert with_override(base, Override(share_pct=20)) == Policy(20, 5, 50, True)
    assert with_override(base, Override(buffer=0, maximum=0)) == Policy(60, 0, 0, True)


def test_what_is_worth_publishing() -> None:
    assert worth_publishing(None, Figure(0, True), 10)
    assert not worth_publishing(Figure(50, True), Figure(45, True), 10)
    assert worth_publishing(Figure(50, True), Figure(40, True), 10)
    assert worth_publishing(Figure(5, True), Figure(0, True), 10)  # reaching zero always
    assert worth_publishing(Figure(0, True), Figure(1, True), 10)  # leaving zero always
    assert worth_publishing(Figure(0, True), Figure(0, False), 10)  # de-listed
    assert not worth_publishing(Figure(7, True), Figure(7, True), 1)
