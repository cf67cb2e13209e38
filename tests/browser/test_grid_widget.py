"""The real number cell in Chromium (issue 13, "Minus signs dropped"): what a user's keystrokes
become in a data-editor quantity cell configured the old way (``min_value=0, step=1`` on an
integer column) and the way every grid is configured now (``core.webui.qty_column`` on a float
column, read with ``core.webui.cell_qty``). AppTest cannot show this: it skips the browser."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.browser.conftest import ROOT, _free_port, _wait_healthy

SCRIPT = '''
import pandas as pd
import streamlit as st

from core.webui import cell_qty, qty_column

if st.query_params.get("grid") == "old":
    old = st.data_editor(pd.DataFrame({"qty": pd.Series([1], dtype="int64")}), key="old", hide_index=True,
                         column_config={"qty": st.column_config.NumberColumn("old", min_value=0, step=1)})
    st.text(f"OLD={old['qty'].tolist()}")
else:
    new = st.data_editor(pd.DataFrame({"qty": pd.Series([1.0])}), key="new", hide_index=True,
                         column_config={"qty": qty_column("new")})
    st.text(f"NEW={[cell_qty(v) for v in new['qty']]}")
'''


@pytest.fixture(scope="module")
def grid_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    script = tmp_path_factory.mktemp("grid") / "grid.py"
    script.write_text(SCRIPT, encoding="utf-8")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"PYTHONPATH": str(ROOT), "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
                        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _type_into_first_cell(page: object, keys: str) -> None:
    """Open the grid's first data cell (double-click), type ``keys`` as a user does (select
    all, type), Enter."""
    grid = page.locator('[data-testid="stDataFrame"]').first  # type: ignore[attr-defined]
    box = grid.bounding_box()
    assert box is not None
    x, y = box["x"] + 30, box["y"] + 35 + 17  # below the 35 px header row
    editor = page.locator("#portal input").first  # type: ignore[attr-defined]
    for _ in range(3):  # the canvas may still be laying out: retry until the cell editor opens
        page.mouse.dblclick(x, y)  # type: ignore[attr-defined]
        try:
            editor.wait_for(timeout=3000)
            break
        except Exception:
            page.mouse.click(x + 200, y + 300)  # type: ignore[attr-defined]  # off the grid
    page.wait_for_timeout(700)  # type: ignore[attr-defined]  # the editor's opening animation
    editor.click()
    editor.press("Control+a")
    page.keyboard.type(keys, delay=80)  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]


# (grid, keys typed, what the page receives): the old config turns −5 into 5 (no minus key
# without a negative min_value) and 2.5 into 25 (no decimal separator with step=1); the
# grids' config now passes both through for the service to refuse.
CASES = [("old", "-5", "OLD=[5]"), ("new", "-5", "NEW=[-5]"), ("old", "2.5", "OLD=[25]"), ("new", "2.5", "NEW=[2.5]")]


@pytest.mark.parametrize("grid, keys, shown", CASES)
def test_the_number_cell_keeps_what_was_typed(browser: object, grid_server: str, grid: str, keys: str,
                                              shown: str) -> None:
    context = browser.new_context(viewport={"width": 900, "height": 700})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{grid_server}/?grid={grid}")
        page.get_by_text(f"{grid.upper()}=[1]").wait_for()
        page.wait_for_timeout(1500)  # type: ignore[attr-defined]  # grids interactive
        _type_into_first_cell(page, keys)
        try:
            page.get_by_text(shown).wait_for(timeout=10_000)
        except Exception:  # say what the page did show
            pytest.fail(f"expected {shown!r}, the page shows {page.get_by_text(grid.upper() + '=').inner_text()!r}")
    finally:
        context.close()
