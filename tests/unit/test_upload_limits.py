"""Oversized uploads are refused with a message: by the Streamlit server (``maxUploadSize`` in
.streamlit/config.toml) and again by the service that reads the file, with the same limit."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from core.importing import reader
from core.importing.issues import ImportFileError

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_server_limit_matches_the_service_limit() -> None:
    server = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["server"]
    assert server["maxUploadSize"] == reader.DEFAULT_MAX_MB


def test_service_refuses_an_oversized_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_IMPORT_MAX_MB", "0.01")  # 10 KB
    big = reader.SourceFile("orders.csv", b"order,sku,qty\n" + b"SO1,TEA-1,1\n" * 2000)
    with pytest.raises(ImportFileError, match="too large") as caught:
        reader.read_table(big)
    assert caught.value.key == "imp.file.too_large"
    small = reader.SourceFile("orders.csv", b"order,sku,qty\nSO1,TEA-1,1\n")
    assert reader.read_table(small).columns == ["order", "sku", "qty"]


def test_errors_are_not_shown_to_shop_staff_as_tracebacks() -> None:
    client = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["client"]
    assert client["showErrorDetails"] == "none"
