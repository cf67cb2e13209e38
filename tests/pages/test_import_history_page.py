"""Import page, bringing in history: a YAML profile loaded into the editor with its constants,
edited and saved (overwrite only when confirmed), walk-in receipts imported as completed
orders without customers, a dry run that says what it would import, problems one line per
cause, and the column guess that reads a product ``name`` column as the product."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from core import db
from core.analytics import summary
from core.i18n import translate
from core.models import Customer, ImportProfile, Order, OrderLine, Product
from core.services import catalog, imports
from core.services.orders import create_order
from core.timeutil import utcnow
from tests.factories import CLERK, MANAGER, make_product, order_input

PAGE = "pages/import_data.py"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "history"
POS = (FIXTURES / "pos-receipts.csv").read_bytes()
PROFILE = (FIXTURES / "pos-history.yaml").read_bytes()


def _en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _barcode(sku: str) -> str:
    return str(catalog.search_products(sku, CLERK)["barcode"].iloc[0])


def _count(model: type) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _open_editor_with_profile_file(at: AppTest) -> str:
    at.file_uploader(key="imp_files").set_value(("pos-receipts.csv", POS, "text/csv"))
    at.run()
    at.toggle(key="imp_edit_orders").set_value(True).run()
    at.file_uploader(key="imp_profile_yaml_orders").set_value(("pos-history.yaml", PROFILE, "application/x-yaml"))
    at.run()
    assert not at.exception
    return _seed(at)


def _seed(at: AppTest) -> str:
    """The editor's widget-key prefix (it names the profile and the loaded file)."""
    seeds = {s.key.removesuffix("_name") for s in at.text_input
             if (s.key or "").endswith("_name") and "_const_" not in (s.key or "")}
    assert len(seeds) == 1, seeds
    return seeds.pop()


def test_load_a_yaml_profile_edit_save_and_import_walk_in_history(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page=PAGE)
    seed = _open_editor_with_profile_file(at)
    assert _en("imh.profile_loaded", name="pos-history.yaml") in [s.value for s in at.success]
    assert at.text_input(key=f"{seed}_name").value == "pos-history"
    assert at.selectbox(key=f"{seed}_col_product_name").value == "name"
    assert at.selectbox(key=f"{seed}_const_status").value == "completed"  # the file's constants
    assert at.selectbox(key=f"{seed}_const_channel").value == "POS"
    at.checkbox(key="imp_create_missing").check().run()
    live = {m.label: m.value for m in at.metric}
    assert (live[_en("imp.metric.errors")], live[_en("imp.metric.accepted")]) == ("0", "4")  # 5 rows, 2 summed
    at.selectbox(key=f"{seed}_const_payment_method").set_value("cash")
    at.text_input(key=f"{seed}_name").input("my-pos").run()
    at.button(key=f"{seed}_save").click().run()
    assert _en("imp.editor.saved", name="my-pos") in [s.value for s in at.success]
    with db.transaction() as s:
        saved = s.execute(select(ImportProfile).where(ImportProfile.name == "my-pos")).scalar_one()
    assert saved.definition["constants"] == {"status": "completed", "channel": "POS", "payment_method": "cash",
                                             "payment_status": "paid", "warehouse": "SH"}
    assert at.selectbox(key="imp_profile_orders").value == "my-pos"
    at.button(key="imp_check").click().run()
    assert _en("imh.dry_run", orders="3", lines="4", refused="0") in [i.value for i in at.info]
    assert _count(Order) == 0
    at.button(key="imp_run").click().run()
    assert not at.exception
    with db.transaction() as s:
        orders = s.execute(select(Order.status, Order.customer_id, Order.payment_method)).all()
    assert sorted(orders) == [("completed", None, "cash")] * 3 and _count(Customer) == 0


def test_constants_read_in_the_users_language(logged_in: Callable[..., AppTest]) -> None:
    """The constant pickers show statuses and payment codes as words of the UI's language and
    the shop's channels and warehouses with their names; the profile keeps the codes."""
    at = logged_in("manager", page=PAGE, lang="zh")
    seed = _open_editor_with_profile_file(at)
    status = at.selectbox(key=f"{seed}_const_status")
    assert status.value == "completed"
    assert translate("imp.target.completed", "zh") in status.options and "completed" not in status.options
    assert translate("payment_status.paid", "zh") in at.selectbox(key=f"{seed}_const_payment_status").options
    channels = at.selectbox(key=f"{seed}_const_channel").options
    assert [c for c in channels if c.startswith("POS ·")] == [f"POS · {catalog.list_channels().set_index('code').loc['POS', 'name']}"]


def test_saving_over_an_existing_profile_needs_a_confirmation(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page=PAGE)
    seed = _open_editor_with_profile_file(at)
    at.text_input(key=f"{seed}_name").input("shop-pos").run()
    at.button(key=f"{seed}_save").click().run()
    assert _en("imp.editor.saved", name="shop-pos") in [s.value for s in at.success]
    at.toggle(key="imp_edit_orders").set_value(True).run()
    seed = _seed(at)
    at.text_input(key=f"{seed}_name").input("shop-pos").run()
    assert at.checkbox(key=f"{seed}_overwrite").value is False
    at.button(key=f"{seed}_save").click().run()
    assert _en("imh.overwrite_needed", name="shop-pos") in [e.value for e in at.error]
    at.checkbox(key=f"{seed}_overwrite").check().run()
    at.button(key=f"{seed}_save").click().run()
    assert _en("imp.editor.saved", name="shop-pos") in [s.value for s in at.success]


def test_problems_are_listed_once_per_cause(logged_in: Callable[..., AppTest]) -> None:
    make_product("DR-COLA-330", "6.00")
    rows = "\n".join(f"R-{i},2026-10-03 12:00,Cola,NOPE-1,1,6.00" for i in range(1, 9))
    at = logged_in("manager", page=PAGE)
    _open_editor_with_profile_file(at)
    at.file_uploader(key="imp_files").set_value(
        ("pos.csv", ("receipt,time,name,sku,qty,price\n" + rows + "\n").encode(), "text/csv"))
    at.run()
    assert not at.exception
    causes = at.dataframe[-2].value  # one line per cause, then the per-row detail
    assert causes[_en("imh.col.count")].tolist() == [8]
    assert causes[_en("imh.col.first_rows")].tolist() == ["2, 3, 4, 5, 6, …"]
    assert causes[_en("imp.col.reason")].tolist() == [_en("imp.reason.unknown_sku", value="NOPE-1")]
    assert len(at.dataframe[-1].value) == 8


def test_a_new_profile_guesses_by_content(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page=PAGE)
    at.file_uploader(key="imp_files").set_value(("pos-receipts.csv", POS, "text/csv"))
    at.run()
    at.selectbox(key="imp_profile_orders").set_value("__new__").run()
    seed = "imp_ed_orders___new__"
    assert at.selectbox(key=f"{seed}_col_product_name").value == "name"
    assert at.selectbox(key=f"{seed}_col_customer_name").value == ""
    assert at.selectbox(key=f"{seed}_col_external_ref").value == "receipt"


def test_a_clerk_records_a_walk_in_sale_at_a_store_channel(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("clerk", username="clerk1")  # a clerk lands on order entry
    assert not [c for c in at.checkbox if c.key == "oe_walk_in"]  # phone orders: a customer is needed
    at.selectbox(key="oe_channel").set_value("POS").run()
    at.checkbox(key="oe_walk_in").check().run()
    at.radio(key="oe_delivery").set_value("pickup")
    at.text_input(key="oe_barcode").input(str(_barcode("TEA-1"))).run()
    at.button(key="oe_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with db.transaction() as s:
        order = s.execute(select(Order)).scalar_one()
    assert (order.customer_id, order.status) == (None, "confirmed") and _count(Customer) == 0


def _uncosted_sale() -> None:
    """One product with a known cost and one whose cost is unknown, each sold once lately."""
    make_product("KNOWN-1", "100.00", {"SH": 5})
    unknown = make_product("UNKNOWN-1", "100.00", {"SH": 5})
    with db.transaction() as s:
        s.execute(update(Product).where(Product.id == unknown).values(unit_cost=None))
    for sku in ("KNOWN-1", "UNKNOWN-1"):
        create_order(order_input((sku, 1), placed_at=utcnow() - dt.timedelta(days=3)), MANAGER)


def test_dashboards_say_cost_unknown_instead_of_a_full_margin(logged_in: Callable[..., AppTest]) -> None:
    _uncosted_sale()
    summary.refresh()  # what the worker does every few minutes (dashboards only read)
    at = logged_in("manager", page="pages/products.py")
    assert not at.exception and not at.error
    assert _en("imh.cost_unknown_left_out", n=1) in [c.value for c in at.caption]
    table = [d.value for d in at.dataframe if _en("acol.cost_note") in d.value.columns][0]
    notes = dict(zip(table[_en("acol.sku")], table[_en("acol.cost_note")], strict=True))
    assert notes == {"KNOWN-1": "", "UNKNOWN-1": _en("imh.cost_unknown")}
    at.switch_page("pages/sales.py").run()
    assert not at.exception
    assert _en("imh.cost_unknown_lines", amount="CN¥100.00") in [c.value for c in at.caption]
    margin = {m.label: m.value for m in at.metric}[_en("an.kpi.gross_margin")]
    assert margin == "CN¥50.00"  # the known product's margin only, not ¥150.00


def test_stock_list_says_cost_unknown(logged_in: Callable[..., AppTest]) -> None:
    _uncosted_sale()
    at = logged_in("manager", page="pages/inventory.py")
    assert not at.exception and not at.error
    shown = at.dataframe[0].value
    shown = shown.data if hasattr(shown, "data") else shown  # a Styler
    costs = dict(zip(shown[_en("field.sku")], shown[_en("field.unit_cost")], strict=True))
    assert costs["UNKNOWN-1"] is None or pd.isna(costs["UNKNOWN-1"])
    assert at.metric[-1].value == "CN¥250.00"  # KNOWN-1's 5 units at cost 50; UNKNOWN-1 counted apart


def test_the_order_list_labels_walk_in_sales(logged_in: Callable[..., AppTest]) -> None:
    profile = imports.load_profile(str(FIXTURES / "pos-history.yaml"))
    imports.run_import([imports.SourceFile("pos.csv", POS)],
                       imports.ImportOptions("orders", profile, create_missing_products=True), MANAGER)
    at = logged_in("manager", page="pages/orders.py")
    assert not at.exception and not at.error
    listed = at.dataframe[0].value
    assert set(listed[_en("field.customer")]) == {_en("imh.walk_in")}
    assert any(_en("imh.walk_in") in m.value for m in at.markdown)  # the detail card of the picked order


def test_the_page_option_keeps_identical_lines_apart(logged_in: Callable[..., AppTest]) -> None:
    imports.save_profile(imports.load_profile(str(FIXTURES / "pos-history.yaml")), MANAGER)
    at = logged_in("manager", page=PAGE)
    at.file_uploader(key="imp_files").set_value(("pos-receipts.csv", POS, "text/csv"))
    at.run()
    at.selectbox(key="imp_profile_orders").set_value("pos-history").run()
    assert at.radio(key="imp_repeated").value == ""  # as the profile says (sum)
    at.radio(key="imp_repeated").set_value("number")
    at.checkbox(key="imp_create_missing").check().run()
    at.button(key="imp_run").click().run()
    assert not at.exception and not at.error
    with db.transaction() as s:
        lines = s.execute(select(func.count()).select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
                          .where(Order.external_ref == "R-1001")).scalar_one()
    assert lines == 3  # the two identical pizzas stay two numbered lines
