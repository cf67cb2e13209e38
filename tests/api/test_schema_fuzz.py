"""schemathesis against the live server's ``/openapi.json``: generated requests (valid and
invalid) for every operation, with a valid token, must never get a 5xx nor an answer that
the schema does not declare (status, content type, body shape).

Bounded and deterministic: ``derandomize`` seeds the generation from the test itself, a
fixed number of examples per operation, no example database — the same requests every run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from core.permissions import SCOPES
from core.services import api_tokens, orders
from tests.api.conftest import Client
from tests.factories import ADMIN, make_product, order_input

EXAMPLES = 12  # per operation and mode: 15 operations × 2 modes, ~25 s on two cores
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)  # valid requests, and requests the schema forbids
CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance]


def test_generated_requests_get_no_5xx_and_only_declared_answers(api_server: Callable[..., Client]) -> None:
    api = api_server(rate=1e6, burst=1_000_000)
    make_product("A1", "10.00", stock_by_wh={"SH": 50})
    orders.create_order(order_input(("A1", 1)), ADMIN)
    secret = api_tokens.create_token("fuzz", "admin", list(SCOPES), ADMIN).token
    schema = schemathesis.openapi.from_url(f"{api.base}/openapi.json")
    failures: list[str] = []
    for result, mode in itertools.product(schema.get_all_operations(), MODES):
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api.base, headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:
            pass  # nothing to make invalid (a lone path string): the positive run covered it
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis' FailureGroup; all reported below
            failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:1500]}")
    assert failures == [], "\n".join(failures)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
