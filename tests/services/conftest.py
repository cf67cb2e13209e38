"""Fixtures shared by the permission-matrix test and the mutants that must fail it."""

from __future__ import annotations

import pytest

import core.permissions
from core.permissions import PERMISSIONS, Actor


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Actions passed to ``require`` since the last clear, from every module that imported it."""
    from tests.services.test_permission_matrix import service_modules

    calls: list[str] = []
    real = core.permissions.require

    def recording(actor: Actor, action: str) -> None:
        assert action in PERMISSIONS, f"require() with an action missing from the matrix: {action!r}"
        calls.append(action)
        real(actor, action)

    for module in [core.permissions, *service_modules()]:
        if getattr(module, "require", None) is real:
            monkeypatch.setattr(module, "require", recording)
    return calls
