"""Import: bring a channel's export into the OMS — orders, and (with the stock permission)
products and stock counts; customers too.

Flow: choose what to import, upload the file(s), pick a mapping profile (or build one), then
*Check* (a dry run, logged) or *Import* (one transaction, with a progress bar; an upload above
``OMS_IMPORT_JOB_MB`` is imported by the worker and followed in a job panel that survives a
reload, pages/_job_panel.py). The result
shows counts, every problem by row/column/reason (downloadable), merged customers, and — when
rows were quarantined — a download of exactly those rows to fix and import again.

The profile editor starts from the chosen profile or from a YAML profile file (the same files
``oms import --profile`` reads), pre-selects the source column whose header *and* values fit
each OMS field, gives fields the file lacks a constant (status "completed", a channel …), maps
the file's statuses and codes, and validates the first rows live on every change; the result
is saved under a name the CLI finds (overwriting only after a confirmation) or downloaded as
YAML. Problems are shown one line per cause, with the per-row detail below.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.services import catalog, imports
from core.services.imports import FIELDS, ORDER_TARGETS, REPEATED_LINES, group_issues
from core.services.jobs import IMPORT, JobView, latest_job
from core.services.orders import DELIVERY_METHODS, PAYMENT_METHODS, PAYMENT_STATUSES
from core.webui import (
    EMPTY_CELL,
    Notice,
    attempt,
    cached_read,
    download_buttons,
    guard_page,
    label,
    lang,
    localize_times,
    number,
    show_error,
    show_notice,
    show_table,
    t,
    to_csv_bytes,
)
from pages import _job_panel as job_panel

actor = guard_page("order.import")
state = st.session_state

NEW = "__new__"
LIVE_ROWS = 2000
ISSUE_COLUMNS = ["file", "row", "order", "field", "column", "value", "reason", "severity"]
# code fields whose source values the editor maps, with the OMS codes and their label prefix
CODE_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "payment_method": (PAYMENT_METHODS, "payment"),
    "payment_status": (PAYMENT_STATUSES, "payment_status"),
    "delivery_method": (DELIVERY_METHODS, "delivery"),
}


# --- small helpers ---------------------------------------------------------------------------


def _translated(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df[columns]`` with headers in the user's language (``imp.col.<column>``)."""
    return df[columns].rename(columns={c: t(f"imp.col.{c}") for c in columns})


def _reason(code: str, value: object, detail: object, column: object, field: object, row: object) -> str:
    return t(f"imp.reason.{code}", value=_text(value), detail=_text(detail), column=_text(column),
             field=t(f"imp.field.{field}") if field else "", row=_text(row))


def _issues_table(issues: pd.DataFrame, basename: str) -> None:
    """The report: one line per root cause (row count, first rows, example values), then the
    per-row detail in an expander — both with reasons re-translated from their codes."""
    if issues.empty:
        st.success(t("imp.no_issues"))
        return
    shown = issues.copy()
    shown["reason"] = [_reason(*r) for r in zip(shown["code"], shown["value"], shown["detail"], shown["column"],
                                                shown["field"], shown["row"], strict=True)]
    groups = group_issues(shown)
    st.caption(t("imh.groups_caption"))
    groups["severity"] = [t(f"imp.severity.{v}") for v in groups["severity"]]
    groups["field"] = [t(f"imp.field.{f}") if f else "" for f in groups["field"]]
    cause = groups[["severity", "field", "column", "reason", "count", "first_rows", "examples"]]
    st.dataframe(cause.rename(columns={c: t(f"imh.col.{c}") if c in ("count", "first_rows", "examples")
                                       else t(f"imp.col.{c}") for c in cause.columns}), hide_index=True, placeholder=EMPTY_CELL)
    with st.expander(t("imh.rows_detail")):
        shown["severity"] = [t(f"imp.severity.{v}") for v in shown["severity"]]
        shown["field"] = [t(f"imp.field.{f}") if f else "" for f in shown["field"]]
        show_table(_translated(shown, ISSUE_COLUMNS), download=basename)


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _uploads() -> list[imports.SourceFile]:
    return [imports.SourceFile(f.name, f.getvalue()) for f in state.get("imp_files") or []]


def _progress_bar() -> Any:
    bar = st.progress(0.0, text=t("imp.progress.reading"))

    def update(fraction: float, stage: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=t(f"imp.progress.{stage}"))

    return update


# --- choices ---------------------------------------------------------------------------------


def _kind() -> str:
    kinds = ["orders", "customers"] + (["products", "stock"] if actor.can("stock.import") else []) + (
        ["settlements"] if actor.can("finance.import") else [])
    names = {k: t(f"imp.kind.{k}") for k in kinds}  # resolved now: AppTest formats outside the run
    return st.segmented_control(t("imp.kind"), kinds, format_func=names.__getitem__, key="imp_kind",
                                default="orders") or "orders"


def _profile_choice(kind: str) -> tuple[str, imports.Profile | None]:
    listed = attempt(imports.list_profiles, actor, kind)
    names = [] if listed is None else listed["name"].tolist()
    source = {} if listed is None else dict(zip(listed["name"], listed["source"], strict=True))
    options = [*names, NEW]
    default = names.index(f"generic-{kind}") if f"generic-{kind}" in names else 0
    shown = {n: f"{n} ({t(f'imp.source.{source[n]}')})" for n in names} | {NEW: t("imp.profile_new")}
    picked = st.selectbox(t("imp.profile"), options, index=default, key=f"imp_profile_{kind}",
                          format_func=shown.__getitem__)
    if picked == NEW:
        return NEW, None
    return picked, attempt(imports.load_profile, picked)


def _options(kind: str, profile: imports.Profile, dry_run: bool = False) -> imports.ImportOptions:
    return imports.ImportOptions(
        kind=kind, profile=profile, channel=state.get("imp_channel") or None,
        warehouse=state.get("imp_warehouse") or None, on_error=state.get("imp_on_error", "reject"),
        dry_run=dry_run, create_missing_products=bool(state.get("imp_create_missing")),
        deduct_stock=bool(state.get("imp_deduct_stock")),
        repeated_lines=(state.get("imp_repeated") or None) if kind == "orders" else None)


def _settings(kind: str, profile: imports.Profile | None) -> None:
    left, right = st.columns(2)
    if kind in ("orders", "customers", "settlements"):
        channels = cached_read(catalog.list_channels)
        names = dict(zip(channels["code"], channels["name"], strict=True))
        left.selectbox(t("imp.channel"), ["", *names], key="imp_channel",
                       format_func=lambda c: names.get(c, "—"))
    if kind == "stock":
        warehouses = cached_read(catalog.list_warehouses)
        names = dict(zip(warehouses["code"], warehouses["name"], strict=True))
        left.selectbox(t("imp.warehouse"), ["", *names], key="imp_warehouse", format_func=lambda c: names.get(c, "—"))
    modes = {m: t(f"imp.on_error.{m}") for m in imports.ON_ERROR}
    right.radio(t("imp.on_error"), imports.ON_ERROR, key="imp_on_error", format_func=modes.__getitem__)
    if kind == "orders":  # "" = as the profile says (its ``lines.repeated``)
        own = t(f"imh.repeated.{profile.repeated_lines if profile else 'sum'}")
        shown = {"": t("imh.repeated.profile", value=own)} | {m: t(f"imh.repeated.{m}") for m in REPEATED_LINES}
        right.radio(t("imh.repeated"), list(shown), key="imp_repeated", format_func=shown.__getitem__,
                    help=t("imh.repeated_help"))
    if kind == "orders" and actor.can("stock.import"):
        left.checkbox(t("imp.create_missing"), key="imp_create_missing")
        left.checkbox(t("imp.deduct_stock"), key="imp_deduct_stock")


# --- profile editor --------------------------------------------------------------------------


def _column_pickers(kind: str, base: imports.Profile, info: imports.FileInfo, seed: str) -> dict[str, str]:
    """One select box per OMS field; the base profile's column, else the column whose header and
    values fit the field (FileInfo.guesses)."""
    columns = list(info.columns)
    shown = {c: c for c in columns} | {"": t("imp.editor.none")}
    mapping: dict[str, str] = {}
    grid = st.columns(3)
    for i, f in enumerate(FIELDS[kind]):
        current = base.columns.get(f.name)
        if current not in columns:
            current = info.guesses.get(f.name) if f.name not in base.constants else None
        options = ["", *columns]
        picked = grid[i % 3].selectbox(
            t(f"imp.field.{f.name}") + (f" ({t('imp.editor.required')})" if f.required else ""), options,
            index=options.index(current or ""), key=f"imp_ed_{seed}_col_{f.name}", format_func=shown.__getitem__)
        if picked:
            mapping[f.name] = picked
    return mapping


def _value_pickers(seed: str, field: str, values: tuple[str, ...], targets: tuple[str, ...],
                   current: dict[str, str], caption: str, name: Any) -> dict[str, str]:
    """source value → OMS code, one select box per distinct value found in the file."""
    st.markdown(f"**{caption}**")
    grid = st.columns(3)
    mapped: dict[str, str] = {}
    shown = {c: name(c) for c in targets} | {"": "—"}
    for i, value in enumerate(values):
        options = ["", *targets]
        default = current.get(value, value if value in targets else "")
        picked = grid[i % 3].selectbox(value, options, index=options.index(default) if default in options else 0,
                                       key=f"imp_ed_{seed}_{field}_{i}", format_func=shown.__getitem__)
        if picked:
            mapped[value] = picked
    return mapped


def _save(kind: str, draft: imports.Profile, overwrite: bool) -> None:
    """Save callback: on success the saved profile becomes the selected one and the editor
    closes, ready to import with it. An existing profile is replaced only when confirmed."""
    try:
        saved = imports.save_profile(draft, actor, overwrite=overwrite)
    except OMSError as exc:
        state["imp_notice"] = exc
        return
    state["imp_notice"] = Notice("success", "imp.editor.saved", {"name": saved.name})
    state[f"imp_profile_{kind}"] = saved.name
    state[f"imp_edit_{kind}"] = False


def _constant_choices(kind: str, field: str) -> dict[str, str] | None:
    """The allowed values of a code field (a select box) with what the user reads for each —
    the status and payment codes in the user's language, a warehouse or channel by code and
    name — or None for free text."""
    if field == "status" and kind == "orders":
        return {x: t(f"imp.target.{x}") for x in ORDER_TARGETS if x != "skip"}
    if field in CODE_FIELDS and kind == "orders":
        codes, prefix = CODE_FIELDS[field]
        return {c: label(prefix, c) for c in codes}
    if field in ("channel", "warehouse"):
        rows = cached_read(catalog.list_channels if field == "channel" else catalog.list_warehouses)
        return {code: f"{code} · {name}" for code, name in zip(rows["code"], rows["name"], strict=True)}
    return None


def _constants(kind: str, base: imports.Profile, columns: dict[str, str], seed: str) -> dict[str, str]:
    """A constant for each field the mapping leaves without a column (validated like a value
    from the file when the live check runs)."""
    out: dict[str, str] = {}
    free = [f for f in FIELDS[kind] if f.name not in columns]
    with st.expander(t("imh.constants"), expanded=bool(base.constants)):
        st.caption(t("imh.constants_caption"))
        grid = st.columns(3)
        for i, f in enumerate(free):
            caption = t("imh.constant_for", field=t(f"imp.field.{f.name}"))
            current = base.constants.get(f.name, "")
            choices = _constant_choices(kind, f.name)
            key = f"imp_ed_{seed}_const_{f.name}"
            if choices is None:
                value = grid[i % 3].text_input(caption, value=current, key=key)
            else:
                shown = {current: current, "": "—"} | choices  # a profile value that is no choice shows as is
                options = ["", *choices, *([current] if current and current not in choices else [])]
                value = grid[i % 3].selectbox(caption, options, index=options.index(current), key=key,
                                              format_func=shown.__getitem__)
            if value.strip():
                out[f.name] = value.strip()
    return out


def _profile_file(kind: str) -> tuple[imports.Profile | None, str]:
    """A YAML profile file uploaded into the editor (the CLI's format), and a key for it."""
    upload = st.file_uploader(t("imh.profile_file"), type=["yaml", "yml"], key=f"imp_profile_yaml_{kind}",
                              help=t("imh.profile_file_help"))
    if upload is None:
        return None, ""
    try:
        loaded = imports.profile_from_yaml(upload.getvalue().decode("utf-8", errors="replace"))
    except OMSError as exc:
        show_error(exc)
        return None, ""
    if loaded.kind != kind:
        st.error(t("imh.profile_kind", name=loaded.name, kind=t(f"imp.kind.{loaded.kind}")))
        return None, ""
    st.success(t("imh.profile_loaded", name=upload.name))
    return loaded, "file" + hashlib.sha256(upload.getvalue()).hexdigest()[:10]


def _editor(kind: str, base: imports.Profile, info: imports.FileInfo, files: list[imports.SourceFile],
            seed: str) -> None:
    st.subheader(t("imp.editor"))
    st.caption(t("imp.editor_caption"))
    top = st.columns(2)
    name = top[0].text_input(t("imp.editor.name"), value=base.name, key=f"imp_ed_{seed}_name",
                             help=t("imh.profile_name_help"))
    description = top[1].text_input(t("imp.editor.description"), value=base.description, key=f"imp_ed_{seed}_desc")
    columns = _column_pickers(kind, base, info, seed)
    constants = _constants(kind, base, columns, seed)
    definition: dict[str, Any] = base.to_dict() | {"name": name.strip() or "draft", "description": description,
                                                   "columns": columns, "constants": constants, "statuses": {},
                                                   "values": {}}
    if kind == "orders":
        shown = {m: t(f"imh.repeated.{m}") for m in REPEATED_LINES}
        repeated = st.radio(t("imh.repeated"), REPEATED_LINES, index=REPEATED_LINES.index(base.repeated_lines),
                            key=f"imp_ed_{seed}_repeated", format_func=shown.__getitem__, help=t("imh.repeated_help"),
                            horizontal=True)
        definition["lines"] = {"repeated": repeated}
    if kind == "orders" and columns.get("status") in info.distinct:
        definition["statuses"] = _value_pickers(seed, "status", info.distinct[columns["status"]], ORDER_TARGETS,
                                                base.statuses, t("imp.editor.statuses"),
                                                lambda c: t(f"imp.target.{c}"))
    for field, (codes, prefix) in CODE_FIELDS.items():
        if kind == "orders" and columns.get(field) in info.distinct:
            mapped = _value_pickers(seed, field, info.distinct[columns[field]], codes, base.values.get(field, {}),
                                    t("imp.editor.values", field=t(f"imp.field.{field}")),
                                    lambda c, p=prefix: label(p, c))
            definition["values"][field] = mapped
    dates = st.columns([2, 1])
    formats = dates[0].text_area(t("imp.editor.date_formats"), value="\n".join(base.date_formats),
                                 key=f"imp_ed_{seed}_formats", height=110)
    timezone = dates[1].text_input(t("imp.editor.timezone"), value=base.timezone or "", key=f"imp_ed_{seed}_tz")
    definition["dates"] = {"formats": [f for f in formats.splitlines() if f.strip()] or list(base.date_formats)}
    if timezone.strip():
        definition["dates"]["timezone"] = timezone.strip()
    try:
        draft = imports.profile_from_dict(definition)
    except OMSError as exc:
        show_error(exc)
        return
    st.markdown(f"**{t('imp.editor.live', n=LIVE_ROWS)}**")
    report = attempt(imports.check_import, files, _options(kind, draft), actor, limit_rows=LIVE_ROWS)
    if report is not None:
        _metrics(report)
        _issues_table(report.issues, "import_check")
    saved = attempt(imports.list_profiles, actor, kind)
    exists = saved is not None and bool(((saved["name"] == draft.name) & (saved["source"] == "saved")).any())
    overwrite = exists and st.checkbox(t("imh.overwrite", name=draft.name), key=f"imp_ed_{seed}_overwrite")
    save, download = st.columns(2)
    save.button(t("imp.editor.save"), key=f"imp_ed_{seed}_save", type="primary", disabled=not name.strip(),
                on_click=_save, args=(kind, draft, overwrite))
    download.download_button(t("imp.editor.download"), data=imports.profile_yaml(draft).encode("utf-8"),
                             file_name=f"{draft.name}.yaml", mime="application/x-yaml", key=f"imp_ed_{seed}_yaml",
                             on_click="ignore")


# --- results ---------------------------------------------------------------------------------


def _metrics(report: imports.ImportReport) -> None:
    cells = st.columns(6)
    for cell, (key, value) in zip(cells, (("rows", report.rows), ("accepted", report.accepted),
                                          ("rejected", report.rejected), ("skipped", report.skipped),
                                          ("errors", report.errors), ("warnings", report.count("warning"))),
                                  strict=True):
        cell.metric(t(f"imp.metric.{key}"), value)


def _quarantine_download(batch_id: int, key: str) -> None:
    rows = attempt(imports.quarantine_rows, batch_id, actor, lang())
    if rows is not None and len(rows):
        st.download_button(t("imp.download_quarantine"), data=to_csv_bytes(rows),
                           file_name=f"import-{batch_id}-to-fix.csv", mime="text/csv", key=key, on_click="ignore")


def _result(report: imports.ImportReport) -> None:
    st.subheader(t("imp.result") + " · " + t(f"imp.status.{report.status}"))
    _metrics(report)
    if report.status == "rejected":
        st.error(t("imp.rejected_note"))
    elif report.status == "partial":
        st.warning(t("imp.quarantine_note"))
    elif report.status == "imported":
        st.success(t("imp.done", summary=t("imp.status.imported")))
    elif report.status == "dry_run":
        w = report.would_import()
        st.info(t("imh.dry_run" if report.kind == "orders" else "imh.dry_run_rows", orders=number(w['orders']),
                  lines=number(w['lines']), rows=number(w['rows']), refused=number(w['refused'])))
    counts = {k: v for k, v in report.counts.items() if v and not k.startswith("would_")}
    if counts:
        st.markdown(f"**{t('imp.counts')}**")
        st.dataframe(pd.DataFrame({t("imp.counts"): [t(f"imp.count.{k}") for k in counts],
                                   "#": list(counts.values())}), hide_index=True, placeholder=EMPTY_CELL)
    st.markdown(f"**{t('imp.issues')}**")
    _issues_table(report.issues, f"import_{report.batch_id or 'check'}_issues")
    if len(report.merges):
        st.markdown(f"**{t('imp.merges')}**")
        merges = report.merges.assign(matched_by=[t(f"imp.matched.{m}") for m in report.merges["matched_by"]])
        show_table(_translated(merges, list(merges.columns)), download=f"import_{report.batch_id}_merges")
    if report.batch_id and report.status in ("partial", "rejected") and report.errors:
        _quarantine_download(report.batch_id, f"imp_fix_{report.batch_id}")


def _run(kind: str, profile: imports.Profile, dry_run: bool) -> None:
    """Import (or check) now with a progress bar; a large upload goes to the worker instead and
    the job panel shows it (also after a reload)."""
    files = _uploads()
    if imports.runs_in_background(files):
        state.pop("imp_report", None)
        try:
            imports.start_import(files, _options(kind, profile, dry_run), actor)
        except OMSError as exc:
            state["imp_report"] = exc
        return
    try:
        state["imp_report"] = imports.run_import(files, _options(kind, profile, dry_run), actor,
                                                 progress=_progress_bar())
    except OMSError as exc:
        state["imp_report"] = exc


def _job_done(job: JobView) -> None:
    """A background import's report, read back from its batch."""
    batch_id = (job.result or {}).get("batch_id")
    report = attempt(imports.batch_report, int(batch_id), actor, lang()) if batch_id else None
    if report is not None:
        _result(report)


# --- history ---------------------------------------------------------------------------------


def _history() -> None:
    batches = attempt(imports.list_batches, actor)
    if batches is None or batches.empty:
        st.info(t("imp.no_batches"))
        return
    shown = localize_times(batches, "created_at")
    shown["status"] = [t(f"imp.status.{s}") for s in shown["status"]]
    shown["kind"] = [t(f"imp.kind.{k}") for k in shown["kind"]]
    show_table(_translated(shown, list(shown.columns)), download="import_batches")
    labels_ = {int(r.id): t("imp.batch", id=r.id, file=r.file_name, status=t(f"imp.status.{r.status}"))
               for r in batches.itertuples()}
    picked = st.selectbox(t("imp.history_pick"), list(labels_), format_func=labels_.__getitem__, key="imp_batch")
    detail = attempt(imports.batch_issues, int(picked), actor, lang())
    if detail is None:
        return
    _issues_table(detail.issues, f"batch_{picked}_issues")
    if len(detail.merges):
        st.markdown(f"**{t('imp.merges')}**")
        download_buttons(detail.merges, f"batch_{picked}_merges")
    _quarantine_download(int(picked), f"imp_hist_fix_{picked}")


# --- page ------------------------------------------------------------------------------------


st.title(t("imp.title"))
st.caption(t("imp.caption"))
tab_import, tab_history = st.tabs([t("imp.title"), t("imp.history")])
with tab_import:
    kind = _kind()
    st.file_uploader(t("imp.files"), type=["csv", "txt", "tsv", "xlsx"], accept_multiple_files=True, key="imp_files")
    show_notice(state.pop("imp_notice", None))
    choice, chosen = _profile_choice(kind)
    _settings(kind, chosen)
    uploads = _uploads()
    base = chosen if chosen is not None else imports.new_profile(kind)
    editing = choice == NEW or st.toggle(t("imp.editor"), key=f"imp_edit_{kind}")
    loaded, tag = _profile_file(kind) if editing else (None, "")
    base = loaded or base  # a loaded file's read settings (encoding, delimiter) apply to the preview too
    if not uploads:
        st.info(t("imp.need_files"))
    else:
        info = attempt(imports.inspect_files, uploads, base, actor)
        if info is not None:
            with st.expander(t("imp.preview"), expanded=editing):
                st.dataframe(info.preview, hide_index=True, placeholder=EMPTY_CELL)
            if editing:
                _editor(kind, base, info, uploads, seed=f"{kind}_{choice}{tag}")
        if chosen is not None and not editing:
            check, go = st.columns(2)
            if check.button(t("imp.check"), key="imp_check"):
                _run(kind, chosen, dry_run=True)
            if go.button(t("imp.run"), key="imp_run", type="primary"):
                _run(kind, chosen, dry_run=False)
    result = state.get("imp_report")
    job = attempt(latest_job, IMPORT, actor, mine=True)
    if job is not None and (job.active or result is None):
        job_panel.show(job, actor, key="imp_job", outcome=_job_done)
    elif isinstance(result, OMSError):
        show_error(result)
    elif isinstance(result, imports.ImportReport) and result.kind == kind:
        _result(result)
with tab_history:
    _history()
