"""The Import page explains a hostile or unreadable upload in the user's language — the file,
the limit and its value — instead of stalling or showing a traceback, and imports nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Order
from tests import hostile_files as hf

PAGE = "pages/import_data.py"


@pytest.mark.parametrize("name, build, key, params", [
    ("bomb.xlsx", lambda: hf.zip_bomb(2000), "hf.xlsx_unzipped", {"size_mb": "2000", "limit_mb": "400"}),
    ("wide.csv", lambda: hf.wide_csv(100_000), "hf.too_many_columns", {"row": 1, "columns": 100_000, "limit": 1000}),
    ("letter.txt", lambda: hf.PROSE.encode(), "hf.no_delimiter", {}),
])
def test_a_hostile_upload_is_explained(logged_in: Callable[..., AppTest], name: str, build: Callable[[], bytes],
                                       key: str, params: dict[str, object]) -> None:
    at = logged_in("manager", page=PAGE, lang="zh")
    at.file_uploader(key="imp_files").set_value((name, build(), "application/octet-stream"))
    at.run()
    assert not at.exception
    expected = translate(key, "zh", file=name, **params)
    assert "{" not in expected
    assert expected in [e.value for e in at.error], [e.value for e in at.error]
    with db.transaction() as s:
        assert s.execute(select(func.count(Order.id))).scalar_one() == 0
