"""The scan box every scan station shares: pack bench, sorting wall, receiving, counting, transfers.

A keyboard-wedge scanner types the code and presses Enter. The box's ``on_change`` callback
takes the code, empties the box *before* the rerun (a widget's value may only be set in its
own callback) and hands the code on; the box is the same widget after the rerun, so the cursor
stays in it and the next scan needs no tap — on a phone or a handheld too.

:func:`scan_station` adds the running tally the document stations keep (SKU → units scanned):
each code goes to a service that returns the new tally or refuses the scan, and the answer is
shown under the box until the next scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import streamlit as st

from core.errors import OMSError
from core.webui import Notice, show_notice, t

state = st.session_state


class Scanned(Protocol):
    """What a scan service answers (``core.services.scanning.Scanned``)."""

    sku: str
    name: str
    units: int
    limit: int | None
    tally: dict[str, int]


def scan_box(key: str, on_code: Callable[[str], None], *, label: str | None = None, help: str | None = None,
             placeholder: str | None = None) -> None:
    """An Enter-terminated scan input: each non-blank code is handed to ``on_code`` once."""

    def _entered() -> None:
        code = (state.get(key) or "").strip()
        state[key] = ""  # ready for the next scan
        if code:
            on_code(code)

    st.text_input(label or t("scan.box"), key=key, on_change=_entered, placeholder=placeholder,
                  help=help or t("scan.box_help"))


def tally(key: str, document: object) -> dict[str, int]:
    """The station's tally for ``document``; a new (empty) one when another document is picked."""
    if state.get(f"{key}_doc") != document:
        state[f"{key}_doc"], state[f"{key}_tally"] = document, {}
        state.pop(f"{key}_notice", None)
    tallied: dict[str, int] = state[f"{key}_tally"]
    return tallied


def clear(key: str) -> None:
    """Start the document over (after a commit, or when the person asks)."""
    state[f"{key}_tally"] = {}
    state.pop(f"{key}_notice", None)


def scan_station(key: str, document: object, scan: Callable[[str, dict[str, int]], Any], *,
                 what: str | None = None) -> dict[str, int]:
    """The scan box for ``document`` with its tally: ``scan(code, tally)`` returns a
    :class:`Scanned` or raises; the tally after this run is returned."""

    def _scanned(code: str) -> None:
        try:
            done: Scanned = scan(code, dict(tally(key, document)))
        except OMSError as exc:
            state[f"{key}_notice"] = exc  # the tally stays as it was
            return
        state[f"{key}_tally"] = done.tally
        text = "scan.ok_count" if done.limit is None else "scan.ok"
        state[f"{key}_notice"] = Notice("success", text, {"sku": done.sku, "name": done.name, "units": done.units,
                                                          "limit": done.limit})

    tally(key, document)  # a fresh tally when the document changed
    scan_box(f"{key}_box", _scanned)
    show_notice(state.get(f"{key}_notice"), what=what)
    current = state[f"{key}_tally"]
    st.caption(t("scan.tally", units=sum(current.values()), skus=sum(1 for n in current.values() if n)))
    return dict(current)
