"""Parsing source text strictly (money, dates, phones, addresses) and mapping profiles
(YAML round trip, validation of a hand-edited profile)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.errors import ValidationError
from core.importing import parse, profile
from core.importing.fields import guess_column


def _s(*values: object) -> pd.Series:
    return parse.blank_to_none(pd.Series(list(values), dtype=object))


def test_money_is_read_to_the_cent_and_never_guessed() -> None:
    cents = parse.cents(_s("129.00", "1,234.50", "¥59.90", "￥ 8", "", None, "1,5", "abc", "12.345", "-3.10"))
    assert cents.tolist()[:4] == [12900, 123450, 5990, 800]
    assert cents.iloc[4:8].isna().all()  # empty, missing, "1,5" (not 15 and not 1.5), text
    assert cents.tolist()[8:] == [1235, -310]  # half up, like order entry
    brazil = parse.cents(_s("1.234,50", "59,9"), decimal=",", thousands=".")
    assert brazil.tolist() == [123450, 5990]


def test_dates_follow_the_profile_formats_and_timezone() -> None:
    us = parse.dates(_s("4/15/2018 22:11", "10/2/2017 10:56", "2018-04-15 22:11", ""), ["%m/%d/%Y %H:%M"],
                     "America/Sao_Paulo")
    assert us.tolist()[:2] == [pd.Timestamp("2018-04-16 01:11"), pd.Timestamp("2017-10-02 13:56")]
    assert us.iloc[2:].isna().all()  # an ISO date is not one of this profile's formats
    shop = parse.dates(_s("2026-11-24 21:30:00", "2026/11/24 21:30"), ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"],
                       "Asia/Shanghai")
    assert shop.tolist() == [pd.Timestamp("2026-11-24 13:30")] * 2


def test_phones_masked_numbers_are_not_identities() -> None:
    norm, masked, bad = parse.phones(_s("+86 138-0013-8000", "135****2288", "12", None, "021-6888 1234"))
    assert norm.tolist() == ["13800138000", None, None, None, "02168881234"]
    assert masked.tolist() == [False, True, False, False, False]
    assert bad.tolist() == [False, False, True, False, False]


@pytest.mark.parametrize("text, parts", [
    ("浙江省 杭州市 西湖区 文三路 100号", ("浙江省", "杭州市", "西湖区", "文三路 100号")),
    ("浙江省 杭州市 余杭区 文一西路998号 (311121)", ("浙江省", "杭州市", "余杭区", "文一西路998号")),
    ("广东省广州市天河区体育西路88号", ("广东省", "广州市", "天河区", "体育西路88号")),
    ("上海浦东新区张杨路500号12楼", ("上海", "上海市", "浦东新区", "张杨路500号12楼")),
    ("北京朝阳区建国路1号", ("北京", "北京市", "朝阳区", "建国路1号")),
    ("Rua Augusta 100", (None, None, None, "Rua Augusta 100")),
])
def test_one_cell_addresses_are_split(text: str, parts: tuple[str | None, ...]) -> None:
    assert parse.split_address(text) == parts


def test_shipped_profiles_load_and_round_trip() -> None:
    shipped = profile.shipped()
    assert {"generic-orders", "generic-products", "generic-stock", "generic-customers", "tmall", "jd",
            "olist"} <= set(shipped)
    for p in shipped.values():
        assert p.missing_required() == []
        assert profile.from_yaml(profile.to_yaml(p)) == p
    olist = shipped["olist"]
    assert [j.role for j in olist.joins] == ["items", "customers", "payments", "products"]
    assert olist.joins[0].lines and olist.joins[0].on == ("order_id",)  # the YAML "on:" key survives


def test_a_hand_edited_profile_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nkind: orders\ncolumns: {sku: 商品编码, colour: 颜色}\n"
        "dates: {timezone: Mars/Olympus}\nstatuses: {交易成功: finished}\nread: {encoding: klingon}\n",
        encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        profile.load_file(path)
    problems = {(i.field, str(i.value)) for i in caught.value.issues}
    assert ("profile.columns", "colour") in problems
    assert ("profile.dates.timezone", "Mars/Olympus") in problems
    assert ("profile.statuses", "交易成功: finished") in problems
    assert ("profile.read.encoding", "klingon") in problems
    ok = profile.from_dict({"name": "x", "kind": "stock", "columns": {"sku": "sku"}})
    assert ok.missing_required() == ["warehouse", "qty"]


def test_headers_are_recognised_for_a_new_profile() -> None:
    columns = ["订单编号", "收货人姓名", "联系手机", "商品编码", "购买数量", "实付金额", "订单创建时间", "备注"]
    draft = profile.default_for("orders", pd.DataFrame(columns=columns))
    assert draft.columns == {"external_ref": "订单编号", "customer_name": "收货人姓名", "phone": "联系手机",
                             "sku": "商品编码", "qty": "购买数量", "line_total": "实付金额",
                             "placed_at": "订单创建时间", "note": "备注"}
    assert guess_column("stock", "qty", ["SKU", "盘点数量"]) == "盘点数量"


def test_bulk_same_value_is_converted_once_per_column() -> None:
    """``bulk.Same`` stands for one value on every row, converted like a per-row value."""
    import datetime as dt

    from sqlalchemy import create_engine

    from core.importing import bulk
    from core.models import Customer

    dialect = create_engine("sqlite://").dialect
    table = Customer.__table__
    when = dt.datetime(2025, 1, 2, 3, 4, 5)
    assert bulk._column(table, "created_at", bulk.Same(when), dialect, 3) == \
        bulk._column(table, "created_at", [when] * 3, dialect, 3)
    assert bulk._column(table, "tags", bulk.Same([]), dialect, 2) == ["[]", "[]"]
    assert bulk._column(table, "email", bulk.Same(None), dialect, 2) == [None, None]


def test_roomy_cache_is_restored_after_the_import_writes() -> None:
    from sqlalchemy import create_engine

    from core.importing import bulk

    with create_engine("sqlite://").connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with bulk.roomy_cache(conn):
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -bulk.IMPORT_CACHE_KIB
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == before
