"""Import page: upload → import with the shipped profile; failing rows reported and offered
for download; a new profile built by picking columns, checked live, saved and used; history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import ImportProfile, Order
from core.services import imports
from tests.factories import make_product

PAGE = "pages/import_data.py"
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
SKUS = {"TS-001-BK-M": "79.00", "TS-001-WH-L": "79.00", "HD-001-GY-L": "199.00", "SH-002-WH-40": "199.00",
        "HM-001": "129.00", "BT-001-RD": "89.00", "SN-001-YW": "59.90", "DG-001": "49.00"}


def _catalogue() -> None:
    for sku, price in SKUS.items():
        make_product(sku, price, {"SH": 50, "GZ": 30})


def _orders() -> int:
    with db.transaction() as s:
        return s.execute(select(func.count(Order.id))).scalar_one()


def _en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="imp_files").set_value((name, data, "text/csv"))
    return at.run()


def test_import_a_sample_with_the_shipped_profile(logged_in: Callable[..., AppTest]) -> None:
    _catalogue()
    at = logged_in("manager", page=PAGE)
    assert _en("imp.need_files") in [i.value for i in at.tabs[0].info]
    _upload(at, "generic-orders.csv", (SAMPLES / "generic-orders.csv").read_bytes())
    assert not at.exception
    assert at.selectbox(key="imp_profile_orders").value == "generic-orders"
    at.button(key="imp_check").click().run()
    assert _orders() == 0 and at.metric[1].value == "8"  # a dry run: would import 8 rows
    at.button(key="imp_run").click().run()
    assert not at.exception
    assert _orders() == 6
    assert _en("imp.done", summary=_en("imp.status.imported")) in [s.value for s in at.success]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[_en("imp.metric.accepted")] == "8" and metrics[_en("imp.metric.errors")] == "0"


def test_failing_rows_are_reported_and_offered_for_download(logged_in: Callable[..., AppTest]) -> None:
    _catalogue()
    at = logged_in("manager", page=PAGE)
    body = ("external_ref,channel,placed_at,status,customer_name,phone,sku,qty,unit_price\n"
            "A-1,WECHAT,2026-11-01 10:00,completed,王芳,13800138001,DG-001,1,49.00\n"
            "A-2,WECHAT,2026-11-01 11:00,completed,张伟,13900139002,NOPE-1,1,10.00\n")
    _upload(at, "day.csv", body.encode())
    at.radio(key="imp_on_error").set_value("quarantine").run()
    at.button(key="imp_run").click().run()
    assert not at.exception
    assert _orders() == 1
    assert [w.value for w in at.warning] == [_en("imp.quarantine_note")]
    issues = at.tabs[0].dataframe[-1].value
    bad = issues[issues[_en("imp.col.row")] == 3]
    assert bad[_en("imp.col.reason")].tolist() == [_en("imp.reason.unknown_sku", value="NOPE-1")]
    assert _en("imp.download_quarantine") in [b.label for b in at.download_button]


def test_an_unreadable_file_is_explained(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("service", page=PAGE, lang="zh")
    assert at.segmented_control(key="imp_kind").options == [translate("imp.kind.orders", "zh"),
                                                            translate("imp.kind.customers", "zh")]
    _upload(at, "empty.csv", b"")
    assert translate("imp.file.empty", "zh", file="empty.csv") in [e.value for e in at.error]


def test_build_a_profile_by_picking_columns(logged_in: Callable[..., AppTest]) -> None:
    _catalogue()
    body = ("单据号,下单日,收货人,手机号码,货号,件数,成交价\n"
            "K-1,2026/11/01,王芳,13800138001,DG-001,2,49.00\n"
            "K-2,2026/11/02,张伟,13900139002,HM-001,1,129.00\n")
    at = logged_in("manager", page=PAGE)
    _upload(at, "shop.csv", body.encode("gbk"))
    at.selectbox(key="imp_profile_orders").set_value("__new__").run()
    seed = "imp_ed_orders___new__"
    assert at.selectbox(key=f"{seed}_col_customer_name").value == "收货人"  # a recognised header
    assert at.selectbox(key=f"{seed}_col_sku").value == ""  # 货号 is not: the user picks it
    for field, column in (("external_ref", "单据号"), ("placed_at", "下单日"), ("phone", "手机号码"), ("sku", "货号"),
                          ("qty", "件数"), ("unit_price", "成交价")):
        at.selectbox(key=f"{seed}_col_{field}").set_value(column)
    at.text_area(key=f"{seed}_formats").input("%Y/%m/%d")
    at.run()
    assert not at.exception
    live = {m.label: m.value for m in at.metric}
    assert live[_en("imp.metric.errors")] != "0"  # no channel yet: the live check says so
    at.selectbox(key="imp_channel").set_value("WECHAT").run()
    live = {m.label: m.value for m in at.metric}
    assert (live[_en("imp.metric.errors")], live[_en("imp.metric.accepted")]) == ("0", "2")
    at.text_input(key=f"{seed}_name").input("门店小票").run()
    at.button(key=f"{seed}_save").click().run()
    assert _en("imp.editor.saved", name="门店小票") in [s.value for s in at.success]
    with db.transaction() as s:
        saved = s.execute(select(ImportProfile).where(ImportProfile.name == "门店小票")).scalar_one()
    assert saved.definition["columns"]["sku"] == "货号" and saved.definition["dates"]["formats"] == ["%Y/%m/%d"]
    assert at.selectbox(key="imp_profile_orders").value == "门店小票"  # saved, selected, editor closed
    assert not [s for s in at.selectbox if (s.key or "").startswith(seed)]
    at.button(key="imp_run").click().run()
    assert not at.exception and _orders() == 2
    assert imports.load_profile("门店小票").columns["qty"] == "件数"


def test_history_lists_batches_and_their_problems(logged_in: Callable[..., AppTest]) -> None:
    _catalogue()
    at = logged_in("manager", page=PAGE)
    _upload(at, "tmall.csv", (SAMPLES / "tmall-orders.csv").read_bytes())
    at.selectbox(key="imp_profile_orders").set_value("tmall").run()
    at.button(key="imp_run").click().run()
    assert _orders() == 4
    history = at.tabs[1]
    batches = history.dataframe[0].value
    assert batches[_en("imp.col.status")].tolist() == [_en("imp.status.imported")]
    reasons = history.dataframe[1].value[_en("imp.col.reason")].tolist()
    assert any("135****2288" in r for r in reasons)
