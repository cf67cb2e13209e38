"""Shop setup for the admin: the shop's name, timezone, currency and language, and its first
warehouses and channels — the page a new install opens on (see ``app.py``) until the shop has
at least one warehouse and one channel.

One button, one call to :func:`core.services.shop_setup.set_up_shop` (validated as a whole,
audited, idempotent: codes that exist are renamed, never duplicated). More warehouses,
channels and suppliers, and every other field of them, are kept on the Master data page.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core import config
from core.documents.fonts import embedded
from core.errors import OMSError
from core.iso_currencies import ISO_4217
from core.services import master_data as md
from core.services.shop_setup import (
    LANGUAGES,
    SHOP_ADDRESS_MAX,
    SHOP_NAME_MAX,
    SetupRequest,
    SetupResult,
    ShopProfile,
    needs_setup,
    set_shop_logo,
    set_up_shop,
    shop_profile,
)
from core.webui import EMPTY_CELL, attempt, guard_page, label, labels, show_error, t

if TYPE_CHECKING:  # the type of st.column_config.*Column(...), not exported by Streamlit
    from streamlit.elements.lib.column_types import ColumnConfig

actor = guard_page("settings.edit")
state = st.session_state
TIMEZONES = sorted(zoneinfo.available_timezones())
CURRENCIES = sorted(ISO_4217)
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def _cell(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value).strip()


def _rows(frame: pd.DataFrame, columns: list[str]) -> tuple[tuple[str, ...], ...]:
    """The editor's typed rows (blank rows dropped); the service checks every cell."""
    rows = (tuple(_cell(getattr(r, c)) for c in columns) for r in frame.itertuples())
    return tuple(row for row in rows if any(row))


def _editor(key: str, columns: dict[str, ColumnConfig]) -> pd.DataFrame:
    blank = pd.DataFrame({c: pd.Series(dtype="string") for c in columns})
    return st.data_editor(blank, num_rows="dynamic", hide_index=True, placeholder=EMPTY_CELL, key=f"{key}_{state.get('su_rev', 0)}",
                          column_config=columns)


def _existing(frame: pd.DataFrame | None) -> None:
    """What the shop already has, so a second visit shows what saving again would rename."""
    if frame is not None and not frame.empty:
        st.caption(t("setup.existing", items=", ".join(f"{r.code} {r.name}" for r in frame.itertuples())))


def _save_logo(remove: bool) -> None:
    upload = state.get(f"su_logo_{state.get('su_rev', 0)}")
    if not remove and upload is None:
        return
    try:
        set_shop_logo(None if remove or upload is None else upload.getvalue(), actor)
    except OMSError as exc:
        state["su_logo_error"] = exc
        return
    state["su_logo_done"] = "setup.logo_removed" if remove else "setup.logo_saved"
    state["su_rev"] = state.get("su_rev", 0) + 1


def _letterhead(profile: ShopProfile) -> None:
    """Address, phone (saved with the profile) and the logo (saved on its own) of the documents."""
    st.subheader(t("setup.letterhead"))
    st.caption(t("setup.letterhead_help"))
    left, right = st.columns(2)
    left.text_input(t("field.shop_address"), value=profile.shop_address, key="su_address",
                    max_chars=SHOP_ADDRESS_MAX)
    right.text_input(t("field.shop_phone"), value=profile.shop_phone, key="su_phone", max_chars=32)
    logo = config.letterhead().logo
    if logo:
        st.image(logo, width=160)
    st.file_uploader(t("setup.logo"), type=["png", "jpg", "jpeg"], key=f"su_logo_{state.get('su_rev', 0)}")
    save, remove = st.columns(2)
    save.button(t("setup.logo_save"), key="su_logo_save", on_click=_save_logo, args=(False,))
    remove.button(t("setup.logo_remove"), key="su_logo_remove", on_click=_save_logo, args=(True,), disabled=not logo)
    if (error := state.pop("su_logo_error", None)) is not None:
        show_error(error)
    if (done := state.pop("su_logo_done", None)) is not None:
        st.success(t(done))
    if not embedded():
        st.caption(t("setup.font_fallback"))


def _show_result(result: SetupResult) -> None:
    if not result.changed_anything:
        st.info(t("setup.nothing_changed"))
        return
    st.success(t("setup.saved"))
    lines = [t("setup.profile_set", field=label("field", f), value=new) for f, (_, new) in result.profile.items()]
    lines += [t(f"setup.created_{entity}", code=code) for entity, code in result.created]
    lines += [t(f"setup.renamed_{entity}", code=code, old=old, new=new) for entity, code, old, new in result.renamed]
    lines += [t(f"setup.unchanged_{entity}", code=code) for entity, code in result.unchanged]
    st.markdown("\n".join(f"- {line}" for line in lines))


st.title(t("page.shop_setup"))
profile = attempt(shop_profile, actor)
if profile is not None:
    if attempt(needs_setup):
        st.info(t("setup.first_run"))
    st.caption(t("setup.intro"))
    st.subheader(t("setup.profile"))
    left, right = st.columns(2)
    left.text_input(t("field.shop_name"), value=profile.shop_name, key="su_name", max_chars=SHOP_NAME_MAX)
    right.selectbox(t("field.timezone"), TIMEZONES, key="su_tz",
                    index=TIMEZONES.index(profile.timezone) if profile.timezone in TIMEZONES else None)
    left.selectbox(t("field.currency"), CURRENCIES, key="su_currency",
                   index=CURRENCIES.index(profile.currency) if profile.currency in CURRENCIES else None)
    right.radio(t("field.language"), LANGUAGES, index=LANGUAGES.index(profile.language), horizontal=True,
                format_func=LANGUAGE_NAMES.__getitem__, key="su_language", help=t("setup.language_help"))
    _letterhead(profile)
    st.subheader(t("setup.warehouses"))
    st.caption(t("setup.warehouses_help"))
    _existing(attempt(md.list_warehouses, actor))
    warehouses = _editor("su_wh", {
        "code": st.column_config.TextColumn(t("field.code"), max_chars=md.CODE_MAX),
        "name": st.column_config.TextColumn(t("field.name"), max_chars=md.NAME_MAX)})
    st.subheader(t("setup.channels"))
    st.caption(t("setup.channels_help"))
    _existing(attempt(md.list_channels, actor))
    kinds = labels("kind", md.CHANNEL_KINDS)
    channels = _editor("su_ch", {
        "code": st.column_config.TextColumn(t("field.code"), max_chars=md.CODE_MAX),
        "name": st.column_config.TextColumn(t("field.name"), max_chars=md.NAME_MAX),
        "kind": st.column_config.SelectboxColumn(t("field.kind"), options=list(md.CHANNEL_KINDS),
                                                 format_func=kinds.__getitem__)})
    if st.button(t("setup.save"), key="su_save", type="primary"):
        request = SetupRequest(
            shop_name=state.get("su_name") or "", shop_address=state.get("su_address") or "",
            shop_phone=state.get("su_phone") or "", timezone=state.get("su_tz") or "",
            currency=state.get("su_currency") or "", language=state.get("su_language") or "",
            warehouses=_rows(warehouses, ["code", "name"]),  # type: ignore[arg-type]
            channels=_rows(channels, ["code", "name", "kind"]))  # type: ignore[arg-type]
        try:
            state["su_result"] = set_up_shop(request, actor)
        except OMSError as exc:
            show_error(exc)
        else:
            state["su_rev"] = state.get("su_rev", 0) + 1
            st.rerun()
    result = state.pop("su_result", None)
    if isinstance(result, SetupResult):
        _show_result(result)
    st.page_link("pages/master_data.py", label=t("setup.more_on_master_data"), icon=":material/database:")
