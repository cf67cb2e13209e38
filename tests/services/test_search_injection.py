"""Whatever is typed into a search box is only ever data: SQL fragments, LIKE wildcards,
quotes, control characters and NUL bytes neither error nor match what they should not nor
change anything. Every service/analytics function with a ``query`` text parameter is found
and called, plus the other text lookups (barcode, public order lookup, audit record filter)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import core.analytics
import core.services
from core import db
from core.errors import OMSError, Refused
from core.models import AuditLog, Customer, Order, Product
from core.permissions import SYSTEM
from core.searchbox import MAX_SEARCH_CHARS
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input

PAYLOADS = [
    "' OR '1'='1", "' OR 1=1 --", "\" OR \"\"=\"", "'; DROP TABLE orders; --", "1; DELETE FROM products",
    "%", "_", "%%", "\\", "\\%", "' UNION SELECT password_hash FROM users --", "SO%", "*", "[a-z]", "^$",
    "\x00", "abc\x00def", "\u202e", "😀", " ", "\n", "　",  # NUL, RTL override, emoji, newline, ideographic space
]


def _modules() -> list[Any]:
    found = []
    for package in (core.services, core.analytics):
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            found.append(importlib.import_module(info.name))
    return found


def query_functions() -> list[Callable[..., Any]]:
    """Public functions (of core.services.* and core.analytics.*) taking ``query: str``."""
    functions = {}
    for module in _modules():
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            if "query" in inspect.signature(fn).parameters:
                functions[f"{fn.__module__}.{name}"] = fn
    return [functions[k] for k in sorted(functions)]


def _call(fn: Callable[..., Any], text: str) -> Any:
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {"query": text}
    if "actor" in params:
        kwargs["actor"] = SYSTEM
    if "sink" in params:  # a full download: what it feeds is the result
        chunks: list[pd.DataFrame] = []
        fn(sink=chunks.append, **kwargs)
        return pd.concat(chunks) if chunks else pd.DataFrame()
    return fn(**kwargs)


def _extra_lookups() -> list[Callable[[str], Any]]:
    from core.analytics.audit import audit_log, count_audit
    from core.services.catalog import product_by_barcode

    lookups: list[Callable[[str], Any]] = [
        lambda text: product_by_barcode(text, SYSTEM),
        lambda text: audit_log(SYSTEM, entity_id=text),
        lambda text: count_audit(SYSTEM, entity_id=text),
    ]
    try:
        from core.services.order_lookup import lookup_order
    except ImportError:  # the public order lookup is another feature's; test it when present
        return lookups
    lookups.append(lambda text: lookup_order(text, text[-4:], "injection-test"))
    return lookups


def _fingerprint() -> tuple[int, ...]:
    with db.transaction() as s:
        return tuple(s.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (Order, Product, Customer))


@pytest.fixture
def shop(db_url: str) -> None:
    make_product("TEA-1", "25.00", {"SH": 50})
    create_order(order_input(("TEA-1", 1), customer_name="王五", phone="13700137000"), CLERK)


def test_the_search_functions_are_found() -> None:
    names = {f"{fn.__module__}.{fn.__name__}" for fn in query_functions()}
    assert {"core.services.orders.queries.search_orders", "core.services.customers.search_customers",
            "core.services.catalog.search_products"} <= names


def _assert_harmless(result: Any) -> None:
    if isinstance(result, pd.DataFrame):
        assert result.empty, result  # no payload matches the one real order, product or customer
    if isinstance(result, int) and not isinstance(result, bool):
        assert result == 0  # a count of matches


@pytest.mark.parametrize("text", PAYLOADS)
def test_payloads_are_only_data(shop: None, text: str) -> None:
    before = _fingerprint()
    for fn in [*(lambda t, f=f: _call(f, t) for f in query_functions()), *_extra_lookups()]:
        try:
            result = fn(text)
        except OMSError:
            continue  # a clear refusal (NUL on PostgreSQL, rate limit, not found) is fine; a crash is not
        if text.strip() and "\x00" not in text:  # SQLite's LIKE stops at a NUL: "\x00" lists all, harmlessly
            _assert_harmless(result)
    assert _fingerprint() == before
    with db.transaction() as s:
        assert s.execute(select(func.count(AuditLog.id))).scalar_one() == 1  # only the order's own row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40))
def test_any_text_never_crashes_a_search(shop: None, text: str) -> None:
    for fn in query_functions():
        try:
            _call(fn, text)
        except OMSError:
            pass  # refused with a message (PostgreSQL cannot hold NUL characters)


@pytest.mark.parametrize("length", [101, 100_000])
def test_an_overlong_search_is_refused_with_its_limit(shop: None, length: int) -> None:
    """A 100 000-character paste is refused by every search (message code, the limit named),
    and the longest allowed text still searches."""
    for fn in query_functions():
        with pytest.raises(Refused) as caught:
            _call(fn, "王" * length)
        assert caught.value.key == "hf.search_too_long", fn
        assert caught.value.params == {"length": length, "limit": MAX_SEARCH_CHARS}
        _assert_harmless(_call(fn, "王" * MAX_SEARCH_CHARS + "   "))  # trimmed before it is measured
