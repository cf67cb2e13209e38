"""Every page of every role, in Chinese and in English, in a real Chromium (issue 15, "Done when").

Each test signs in as one role in one language, opens every page its side menu offers and every
tab on each page, and fails on:

* **English in the Chinese UI** — an English *sentence*: three or more consecutive words of two
  or more ASCII letters separated by single spaces ("Choose an option", "MB per file"), in
  visible text: labels, headings, captions, alerts, buttons, tab names, table headers, the text
  of folded expanders and the placeholder of an empty input; in charts (plotly draws their axes
  and legends as SVG text) also an English month or weekday name ("Nov 8"). Not checked, because they are data
  or code rather than words of the interface: the cells of tables and grids, ``code`` spans
  (commands such as ``oms worker``), e-mail addresses and URLs. SKUs, codes and numbers never
  match (they hold digits, dashes or single letters). No allow-list was needed: every finding was
  fixed in the pages or the catalogs.
* **"None", "nan", "NaT", "<NA>"** as a word anywhere, in either language; and a **grid that
  would draw "None"**: tables and grids are drawn on a canvas (their cells in the page's text
  are empty for a missing value), so the walk reads the grids Streamlit sends over its web
  socket and fails on one that holds a missing value and has no placeholder
  (``core.webui.EMPTY_CELL``) to show instead.
* **A Streamlit exception box**, or a red error box on merely opening a page or tab.

The landing page of each role is saved as docs/screenshots/landing-<role>-<lang>.png (1440 px
wide). One Streamlit server with the small demo database (``demo_server``) serves every test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from core.i18n import translate
from core.permissions import ROLES
from tests.browser.conftest import DemoServer, _tab
from tests.browser.test_smoke import _settle

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}

WORD = r"[A-Za-z]{2,}"
SENTENCE = re.compile(rf"{WORD}(?: {WORD}){{2,}}")
CALENDAR = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
MISSING = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT|<NA>)(?![A-Za-z])")
NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+")

# The page's text as a user sees it: visible text nodes of the page and the side menu (and of
# folded expanders, one click away), table headers, and the placeholders of empty inputs;
# table cells (data values) and the SVG text of charts (axes, legends) separately.
READ_PAGE = """() => {
  const out = {texts: [], cells: [], charts: [], exceptions: 0, errors: []};
  const shown = (el) => el.checkVisibility() || el.closest('details') !== null;
  for (const root of document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]')) {
    out.exceptions += root.querySelectorAll('[data-testid="stException"]').length;
    for (const box of root.querySelectorAll('[data-testid="stAlertContentError"]')) {
      if (box.checkVisibility()) out.errors.push(box.innerText);
    }
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      const text = node.nodeValue.trim();
      if (!text || !el || el.closest('[data-testid="stIconMaterial"], style, script, svg, code')) continue;
      if (el.closest('td[role="gridcell"]')) out.cells.push(text);
      else if (el.closest('table[role="grid"]') || shown(el)) out.texts.push(text);
    }
    for (const label of root.querySelectorAll('[data-testid="stPlotlyChart"] svg text')) {
      if (label.textContent.trim()) out.charts.push(label.textContent.trim());
    }
    for (const box of root.querySelectorAll('input[placeholder], textarea[placeholder]')) {
      if (box.placeholder && box.value === '' && box.checkVisibility()) out.texts.push(box.placeholder);
    }
  }
  return out;
}"""


@dataclass
class Walk:
    """What the walk found, one line per finding: "page / tab: kind: text"."""

    lang: str
    findings: list[str] = field(default_factory=list)
    where: str = ""  # the page being opened, for what arrives over the web socket meanwhile

    def frame(self, payload: bytes | str) -> None:
        """A message from the server: a grid (``st.dataframe``, ``st.data_editor``) or a static
        table (``st.table``) holding a missing value shows "None" unless given a placeholder."""
        if isinstance(payload, str):
            return
        message = ForwardMsg.FromString(payload)
        if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
            return
        element = message.delta.new_element
        kind = element.WhichOneof("type")
        if kind not in ("dataframe", "table"):
            return
        grid = getattr(element, kind)
        if (kind == "dataframe" and grid.placeholder) or not grid.arrow_data.data:
            return
        table = pa.ipc.open_stream(grid.arrow_data.data).read_all()
        missing = [name for name in table.column_names if table.column(name).null_count]
        if missing:
            self.findings.append(f"{self.where}: a grid shows None in {missing}")

    def check(self, page: object, where: str) -> None:
        seen = page.evaluate(READ_PAGE)  # type: ignore[attr-defined]
        if seen["exceptions"]:
            self.findings.append(f"{where}: exception box")
        self.findings += [f"{where}: error box: {text[:120]}" for text in seen["errors"]]
        self.findings += [f"{where}: missing value: {text[:120]}" for text in seen["texts"] + seen["cells"]
                          if MISSING.search(text)]
        if self.lang == "zh":
            self.findings += [f"{where}: English: {text[:160]}" for text in seen["texts"] + seen["charts"]
                              if SENTENCE.search(NOT_WORDS.sub(" ", text))]
            self.findings += [f"{where}: English date in a chart: {text[:60]}" for text in seen["charts"]
                              if CALENDAR.search(text)]


def _log_in(page: object, server: DemoServer, role: str, lang: str, walk: Walk) -> None:
    """Choose the language on the login page (checked too), then sign in as the demo ``role``."""
    page.goto(server.url)  # type: ignore[attr-defined]
    page.get_by_text(LANGUAGE_NAMES[lang], exact=True).click()  # type: ignore[attr-defined]
    for name in ("login.title", "page.order_lookup"):  # the menu of the login page, redrawn in the language
        page.get_by_role("link", name=translate(name, lang), exact=True).wait_for()  # type: ignore[attr-defined]
    _settle(page)
    walk.where = translate("login.title", lang)
    walk.check(page, walk.where)
    page.get_by_role("textbox", name=translate("login.username", lang), exact=True).fill(role)  # type: ignore[attr-defined]
    page.get_by_role("textbox", name=translate("login.password", lang), exact=True).fill(  # type: ignore[attr-defined]
        server.passwords[role])
    page.get_by_role("button", name=translate("login.submit", lang)).click()  # type: ignore[attr-defined]
    page.get_by_role("button", name=translate("app.logout", lang)).wait_for()  # type: ignore[attr-defined]
    _settle(page)


def _visit_tabs(page: object, title: str, walk: Walk) -> None:
    """Open each tab of the page after the first (open already) and check it."""
    tabs = page.locator('[data-testid="stMain"] [role="tab"]:visible')  # type: ignore[attr-defined]
    index = 1
    while index < tabs.count():  # a tab may bring nested tabs: count again each time
        tab = tabs.nth(index)
        name = tab.inner_text()
        tab.click()
        _settle(page)
        walk.check(page, f"{title} / {name}")
        index += 1


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_tab_of_the_role_speaks_the_language(browser: object, demo_server: DemoServer, role: str,
                                                             lang: str) -> None:
    walk = Walk(lang)
    with _tab(browser) as page:
        page.on("websocket", lambda socket: socket.on("framereceived", walk.frame))  # type: ignore[attr-defined]
        _log_in(page, demo_server, role, lang, walk)
        page.wait_for_timeout(500)  # type: ignore[attr-defined]  # charts finish drawing
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"landing-{role}-{lang}.png"))  # type: ignore[attr-defined]
        links = page.locator('[data-testid="stSidebarNav"] a')  # type: ignore[attr-defined]
        titles = [link.inner_text().split("\n")[-1] for link in links.all()]
        assert titles, "the side menu offers no page"
        for index, title in enumerate(titles):
            walk.where = title
            links.nth(index).click()
            _settle(page)
            walk.check(page, title)
            _visit_tabs(page, title, walk)
    assert not walk.findings, "\n".join(walk.findings)
