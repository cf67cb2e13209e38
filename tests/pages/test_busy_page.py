"""A locked SQLite database shows "busy, try again" on the page (not a traceback), and the same
click works once the lock is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlalchemy import event, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Order
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input


def test_busy_database_is_a_message_and_the_retry_works(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 5})
    order = create_order(order_input(("TEA-1", 1)), CLERK)
    engine = db.get_engine()
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=200"))
    engine.dispose()
    at = logged_in("service", page="pages/orders.py")
    at.text_input(key="ol_query").input(order.number).run()
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # e.g. a long import in another process
    try:
        at.button(key="ol_to_on_hold").click().run()
        assert not at.exception
        assert translate("error.busy", "en") in [e.value for e in at.error]
    finally:
        holder.rollback()
        holder.close()
    at.button(key="ol_to_on_hold").click().run()
    assert not at.error
    with db.transaction() as s:
        assert s.execute(select(Order.status).where(Order.id == order.id)).scalar_one() == "on_hold"
