"""Merged orders (合单): when two open orders go to the same door, and why one may not join.

Pure rules, no I/O. :func:`normalise_address` turns a ship-to address as platforms and clerks
type it into one canonical text, so that "浙江省 杭州市 西湖区 文三路１号" and
"浙江杭州西湖区文三路1号" are the same door; the services keep only an HMAC digest of that text
(the address itself is encrypted at rest). :func:`why_not` says why an order cannot be merged,
as a message code — the refusal names the order and this reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Open and not yet on a pick list or wave: the only status in which orders may be merged or a
# merge undone (picking starts the parcel).
MERGEABLE_STATUS = "confirmed"
MAX_GROUP_ORDERS = 50  # one parcel; more is a data error, not a shipment

# administrative suffixes dropped from province / city / district (longest first)
_REGION_SUFFIXES = (
    "维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "自治县",
    "地区", "新区", "盟", "省", "市", "区", "县", "旗",
)
# spellings of the same thing in the street part (after NFKC and case folding)
_ABBREVIATIONS = (
    ("号楼", "栋"), ("幢", "栋"), ("座", "栋"), ("大厦", "厦"), ("房间", "室"), ("房", "室"),
    ("road", "rd"), ("street", "st"), ("avenue", "ave"), ("building", "bldg"), ("room", "rm"),
    ("floor", "fl"), ("number", "no"),
)
# whitespace, punctuation and symbols: "1-2-301", "1 2 301" and "1号2栋301" differ only here
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")


def _fold(text: str | None) -> str:
    """Full-width to half-width (NFKC), case folded, noise dropped."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").casefold())


def normalise_region(name: str | None) -> str:
    """A province, city or district without its administrative suffix: 浙江省 → 浙江,
    广西壮族自治区 → 广西, 杭州市 → 杭州; a name that is only a suffix stays as it is."""
    text = _fold(name)
    for suffix in _REGION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _street(address: str | None, regions: list[str]) -> str:
    text = _fold(address)
    for region in regions:  # platforms repeat "浙江省杭州市西湖区" in front of the street
        if not region:
            continue
        for suffix in (*_REGION_SUFFIXES, ""):  # 浙江省 before 浙江
            if text.startswith(region + suffix):
                text = text[len(region + suffix):]
                break
    for long, short in _ABBREVIATIONS:
        text = text.replace(long, short)
    return text.translate(_CN_DIGITS)


def normalise_address(province: str | None, city: str | None, district: str | None,
                      address: str | None) -> str | None:
    """The canonical ship-to text (None when there is no street address: nothing to match)."""
    regions = [normalise_region(province), normalise_region(city), normalise_region(district)]
    street = _street(address, regions)
    if not street:
        return None
    return "|".join([*regions, street])


@dataclass(frozen=True)
class MergeFacts:
    """What decides whether one order may join a merged shipment."""

    number: str
    status: str
    do_not_merge: bool
    held: bool
    split: bool  # its lines ship from more than one warehouse: already more than one parcel


def why_not(order: MergeFacts) -> str | None:
    """The message code of the reason ``order`` cannot be merged, None when it can."""
    if order.status != MERGEABLE_STATUS:
        return "merge.not_open"
    if order.do_not_merge:
        return "merge.do_not_merge"
    if order.held:
        return "merge.held"
    if order.split:
        return "merge.split"
    return None


@dataclass(frozen=True)
class Destination:
    """Where an order goes: same customer, same shop (channel), same warehouse, same door."""

    customer_id: int | None
    channel_id: int
    warehouse_id: int | None
    address_key: str | None


def why_apart(first: Destination, other: Destination) -> str | None:
    """The message code of why ``other`` cannot share ``first``'s parcel, None when it can."""
    if other.customer_id is None or other.customer_id != first.customer_id:
        return "merge.other_customer"
    if other.channel_id != first.channel_id:
        return "merge.other_shop"
    if other.address_key is None or other.address_key != first.address_key:
        return "merge.other_address"
    if other.warehouse_id != first.warehouse_id:
        return "merge.other_warehouse"
    return None
