"""A carrier's price list and tracking-number ranges on the Master data page (not a page
itself): the price list is edited as a grid and saved as a whole
(:func:`core.services.carriers.set_rates`, all or nothing, each bad row named); a range of
numbers bought from the carrier is added with a small form."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.permissions import Actor
from core.services import carriers, tracking_numbers
from core.webui import Notice, attempt, show_error, show_notice, show_table, t


def _rates_grid(code: str, actor: Actor) -> None:
    rates = attempt(carriers.list_rates, actor, carrier=code)
    if rates is None:
        return
    st.markdown(f"**{t('carrier_rates.title')}**")
    st.caption(t("carrier_rates.help"))
    grid = rates.drop(columns=["carrier"]).astype({"province": "string", "max_kg": "string", "cost": "string"})
    edited = st.data_editor(grid, num_rows="dynamic", key=f"cr_grid_{code}", width="stretch", hide_index=True)
    if st.button(t("carrier_rates.save"), key=f"cr_save_{code}"):
        rows = [carriers.RateRow(str(r.province or ""), r.max_kg, r.cost)
                for r in pd.DataFrame(edited).itertuples()]
        try:
            n = carriers.set_rates(code, rows, actor)
        except OMSError as exc:
            show_error(exc)
            return
        show_notice(Notice("success", "carrier_rates.saved", {"n": n, "carrier": code}))


def _ranges(code: str, actor: Actor) -> None:
    ranges = attempt(tracking_numbers.list_ranges, actor)
    if ranges is None:
        return
    st.markdown(f"**{t('tracking_range.title')}**")
    st.caption(t("tracking_range.help"))
    show_table(ranges[ranges["carrier"] == code].drop(columns=["id"]), download="tracking_ranges")
    with st.form(f"tr_form_{code}", clear_on_submit=True):
        prefix_col, first_col, last_col, width_col = st.columns(4)
        prefix = prefix_col.text_input(t("tracking_range.prefix"), max_chars=16, key=f"tr_prefix_{code}")
        first = first_col.number_input(t("tracking_range.first"), min_value=0, max_value=2**53 - 1, step=1,
                                       key=f"tr_first_{code}")
        last = last_col.number_input(t("tracking_range.last"), min_value=0, max_value=2**53 - 1, step=1,
                                     key=f"tr_last_{code}")
        width = width_col.number_input(t("tracking_range.width"), min_value=1, max_value=tracking_numbers.MAX_WIDTH,
                                       value=12, step=1, key=f"tr_width_{code}")
        if st.form_submit_button(t("tracking_range.add"), key=f"tr_add_{code}"):
            try:
                tracking_numbers.add_range(code, prefix, int(first), int(last), int(width), actor)
            except OMSError as exc:
                show_error(exc)
                return
            show_notice(Notice("success", "tracking_range.added", {"carrier": code, "n": int(last) - int(first) + 1}))


def carrier_rates_and_ranges(code: str, actor: Actor) -> None:
    """Both editors for the carrier ``code`` (the caller checked ``masterdata.edit``)."""
    _rates_grid(code, actor)
    _ranges(code, actor)
