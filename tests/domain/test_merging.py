"""Address normalisation for merged orders: the same door typed different ways is one text,
different doors stay different; why an order may not join, and why two stay apart."""

from __future__ import annotations

import pytest

from core.domain.merging import (
    Destination,
    MergeFacts,
    normalise_address,
    normalise_region,
    why_apart,
    why_not,
)


@pytest.mark.parametrize(("name", "expected"), [
    ("浙江省", "浙江"), ("广西壮族自治区", "广西"), ("新疆维吾尔自治区", "新疆"), ("上海市", "上海"),
    ("浦东新区", "浦东"), ("朝阳区", "朝阳"), ("香港特别行政区", "香港"), ("  杭州 市 ", "杭州"),
    ("区", "区"), (None, ""),
])
def test_regions_lose_their_administrative_suffix(name: str | None, expected: str) -> None:
    assert normalise_region(name) == expected


SAME_DOOR = [
    ("浙江省", "杭州市", "西湖区", "文三路 1 号 3 号楼 501 室"),
    ("浙江", "杭州", "西湖", "文三路1号3幢501房"),
    ("浙江省", "杭州市", "西湖区", "浙江省杭州市西湖区文三路１号３号楼５０１室"),  # full-width, region repeated
    ("浙江", "杭州市", "西湖区", "  文三路-1号, 3号楼 501室 "),
]


def test_the_same_door_typed_four_ways_is_one_text() -> None:
    texts = {normalise_address(*parts) for parts in SAME_DOOR}
    assert len(texts) == 1 and None not in texts


def test_latin_addresses_fold_case_width_and_abbreviations() -> None:
    assert normalise_address("上海", "上海", "浦东", "Room 5, 88 Century AVENUE") == normalise_address(
        "上海市", "上海市", "浦东新区", "ＲＭ 5 88 century ave.")


@pytest.mark.parametrize("other", [
    ("浙江省", "杭州市", "西湖区", "文三路 1 号 3 号楼 502 室"),  # another flat
    ("浙江省", "杭州市", "滨江区", "文三路 1 号 3 号楼 501 室"),  # another district
    ("江苏省", "杭州市", "西湖区", "文三路 1 号 3 号楼 501 室"),  # another province
])
def test_different_doors_stay_different(other: tuple[str, str, str, str]) -> None:
    assert normalise_address(*other) != normalise_address(*SAME_DOOR[0])


def test_no_street_means_nothing_to_match() -> None:
    assert normalise_address("浙江", "杭州", "西湖", " ，。 ") is None
    assert normalise_address("浙江", "杭州", "西湖", None) is None


def test_why_an_order_may_not_join() -> None:
    ok = MergeFacts("SO1", "confirmed", False, False, False)
    assert why_not(ok) is None
    assert why_not(MergeFacts("SO1", "picking", False, False, False)) == "merge.not_open"
    assert why_not(MergeFacts("SO1", "confirmed", True, False, False)) == "merge.do_not_merge"
    assert why_not(MergeFacts("SO1", "confirmed", False, True, False)) == "merge.held"
    assert why_not(MergeFacts("SO1", "confirmed", False, False, True)) == "merge.split"


def test_why_two_orders_stay_apart() -> None:
    here = Destination(1, 1, 1, "k")
    assert why_apart(here, Destination(1, 1, 1, "k")) is None
    assert why_apart(here, Destination(2, 1, 1, "k")) == "merge.other_customer"
    assert why_apart(here, Destination(None, 1, 1, "k")) == "merge.other_customer"
    assert why_apart(here, Destination(1, 2, 1, "k")) == "merge.other_shop"
    assert why_apart(here, Destination(1, 1, 1, "j")) == "merge.other_address"
    assert why_apart(here, Destination(1, 1, 2, "k")) == "merge.other_warehouse"
