"""Returns analytics on a small hand-built history: cohort return rates by SKU, category and
channel, reasons, time to resolve, backlog, refunds, and the outlier flag."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import update

from core import db
from core.analytics import returns as ra
from core.models import Order, Product, Return
from core.services import aftersales as rma
from core.services.aftersales import Inspection, RMALine, RMARequest
from core.timeutil import utcnow
from tests.aftersales_data import delivered_order
from tests.factories import MANAGER, SERVICE, WAREHOUSE, make_product


def _open(order_id: int, reason: str, *lines: tuple[int, int]) -> int:
    return rma.open_rma(RMARequest(order_id, "return", reason, tuple(RMALine(n, q) for n, q in lines)), SERVICE).id


@pytest.fixture
def history(db_url: str) -> dict[str, int]:
    """Apparel T1 comes back far more often than T2/T3; homeware H1 only via a rejected RMA."""
    ids = {sku: make_product(sku, "10.00", {"SH": 100}) for sku in ("T1", "T2", "T3", "H1")}
    with db.transaction() as s:
        s.execute(update(Product).where(Product.sku.in_(["T1", "T2", "T3"])).values(category="服装"))
        s.execute(update(Product).where(Product.sku == "H1").values(category="家居"))
    basket = (("T1", 10), ("T2", 10), ("T3", 10), ("H1", 5))
    phone = delivered_order(*basket)
    tmall = delivered_order(*basket, channel="TMALL")
    old = delivered_order(("T3", 10))
    with db.transaction() as s:  # placed 40 days ago: outside a 30-day cohort
        s.execute(update(Order).where(Order.id == old.id).values(placed_at=utcnow() - dt.timedelta(days=40)))
    _open(phone.id, "size", (1, 4))
    _open(phone.id, "quality", (2, 1))
    _open(old.id, "size", (1, 5))
    done = _open(tmall.id, "quality", (1, 2))
    rma.transition_rma(done, "approved", MANAGER)  # not the opener
    rma.transition_rma(done, "received", WAREHOUSE)
    rma.inspect_rma(done, [Inspection(1, 2, "SH")], WAREHOUSE)
    rma.refund_rma(done, SERVICE)
    rma.transition_rma(done, "closed", SERVICE)
    rejected = _open(tmall.id, "no_reason_7d", (4, 1))
    rma.transition_rma(rejected, "rejected", SERVICE, note="used")
    with db.transaction() as s:  # the closed one took two days
        s.execute(update(Return).where(Return.id == done).values(created_at=utcnow() - dt.timedelta(days=2)))
    return ids


def _rates(frame: pd.DataFrame, key: str) -> dict[str, tuple[int, int, float]]:
    return {r[key]: (r["rma_shipped"], r["rma_returned"], round(r["rma_return_rate"], 4)) for _, r in frame.iterrows()}


def test_return_rates_by_sku_category_and_channel(history: dict[str, int]) -> None:
    by_sku = ra.return_rates("sku", 30)
    assert _rates(by_sku, "sku") == {"T1": (20, 6, 0.3), "T2": (20, 1, 0.05), "T3": (20, 0, 0.0),
                                     "H1": (10, 0, 0.0)}
    assert by_sku["sku"].tolist()[:2] == ["T1", "T2"]  # highest rate first
    assert _rates(ra.return_rates("category", 30), "category") == {"服装": (60, 7, round(7 / 60, 4)),
                                                                   "家居": (10, 0, 0.0)}
    assert _rates(ra.return_rates("channel", 30), "channel") == {"电话/批发": (35, 5, round(5 / 35, 4)),
                                                                 "天猫": (35, 2, round(2 / 35, 4))}
    assert _rates(ra.return_rates("sku", 90), "sku")["T3"] == (30, 5, round(5 / 30, 4))  # the old order counts
    with pytest.raises(ValueError):
        ra.return_rates("colour", 30)


def test_reasons_mix_and_refunds(history: dict[str, int]) -> None:
    reasons = ra.return_reasons(30)
    assert reasons["rma_reason"].tolist() == ["size", "quality"]  # the rejected one does not count
    size, quality = reasons.to_dict("records")
    assert (size["rma_count"], size["rma_returned"], size["rma_refunded"]) == (1, 4, Decimal("0.00"))
    assert (quality["rma_count"], quality["rma_returned"], quality["rma_refunded"]) == (2, 3, Decimal("20.00"))
    assert quality["rma_unit_share"] == pytest.approx(3 / 7) and quality["rma_return_rate"] == pytest.approx(3 / 70)
    mix = ra.reason_mix("category", 30)
    assert mix.values.tolist() == [["服装", "size", 4], ["服装", "quality", 3]]
    assert ra.refunds_paid(30) == Decimal("20.00")
    assert ra.shipped_units(30) == 70


def test_resolution_times_and_backlog(history: dict[str, int]) -> None:
    times = ra.resolution_times(30)
    (row,) = times.to_dict("records")
    assert (row["rma_kind"], row["rma_resolved"]) == ("return", 2)  # closed + rejected
    assert row["rma_median_days"] == pytest.approx(1.0, abs=0.01)
    assert row["rma_mean_days"] == pytest.approx(1.0, abs=0.01)
    backlog = ra.open_backlog()
    assert backlog[["rma_status", "rma_count"]].values.tolist() == [["requested", 3]]
    assert ra.median_resolution_days(30) == pytest.approx(1.0, abs=0.01)
    assert ra.resolution_times(1, now=utcnow() + dt.timedelta(days=5)).empty
    assert ra.median_resolution_days(1, now=utcnow() + dt.timedelta(days=5)) is None


def test_the_outlier_sku_is_flagged(history: dict[str, int]) -> None:
    flags = ra.flag_outliers(ra.return_rates("sku", 30))
    assert flags.loc[flags["rma_flagged"], "sku"].tolist() == ["T1"]
    t1 = flags.set_index("sku").loc["T1"]
    assert t1["rma_category_rate"] == pytest.approx(1 / 40) and t1["rma_rate_ratio"] == pytest.approx(12.0)
    assert t1["rma_z_score"] == pytest.approx((0.3 - 0.025) / (0.025 * 0.975 / 20) ** 0.5)
    assert "H1" not in flags["sku"].tolist()  # alone in its category: nothing to compare with


def test_flag_rules_need_evidence() -> None:
    frame = pd.DataFrame([
        ("A", "a", "c", 10, 5, 0.5),  # a high rate on too few units
        ("B", "b", "c", 400, 2, 0.005),
        ("C", "c", "c", 40, 4, 0.1),  # rest of c: 7 of 410; ratio 5.9, z 4.0
        ("D", "d", "d", 40, 4, 0.1),  # alone in its category
    ], columns=["sku", "name", "category", "rma_shipped", "rma_returned", "rma_return_rate"])
    flags = ra.flag_outliers(frame).set_index("sku")
    assert flags["rma_flagged"].to_dict() == {"C": True, "A": False, "B": False}
    assert flags.loc["C", "rma_category_rate"] == pytest.approx(7 / 410)
    assert flags.loc["C", "rma_z_score"] == pytest.approx((0.1 - 7 / 410) / (7 / 410 * (1 - 7 / 410) / 40) ** 0.5)
    assert ra.flag_outliers(frame.iloc[:0]).empty
