"""Profile + read files → one frame of OMS fields, each row knowing where it came from.

For every field of the import kind the staged frame holds the source text (``<field>``, None
when empty) and, for typed fields, the parsed value (``<field>_v``) plus an ``<field>_bad`` column
with the source text where it could not be read. Row provenance: ``_file``/``_row`` is the
line's file and spreadsheet row, ``_ofile``/``_orow`` the row holding the order header (the
same for flat files; the orders file for Olist-style exports).

Exports split over several files are joined here: a ``lines`` file multiplies the main rows
(one per order line), lookups add columns. Rows that cannot be joined are *reported*, never
dropped silently: an order without lines, a line whose order is not in the file, an order whose
customer row is missing.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

import pandas as pd

from core.importing import parse
from core.importing.fields import FIELDS, FieldSpec, spec
from core.importing.issues import ImportFileError, Issue
from core.importing.profile import JoinSpec, Profile
from core.importing.reader import RawTable

PROVENANCE = ["_file", "_row", "_ofile", "_orow"]


@dataclass(frozen=True)
class Staged:
    """The staged frame (positional index), structural issues, and the source tables."""

    kind: str
    frame: pd.DataFrame
    issues: tuple[Issue, ...]
    tables: tuple[RawTable, ...]
    source: pd.DataFrame  # the joined source columns, row ``_pos`` of ``frame`` is row ``_pos`` here
    profile: Profile  # as applied: optional fields whose column the file lacks are unmapped

    @property
    def rows(self) -> int:
        """Data rows read over all files (blank rows excluded)."""
        return sum(len(t.frame) for t in self.tables)


def stage(tables: list[RawTable], profile: Profile) -> Staged:
    """Join ``tables`` as ``profile`` says, map columns to fields and parse them."""
    missing = profile.missing_required()
    if missing:
        raise ImportFileError("required_unmapped", profile.name or "profile", fields=", ".join(missing))
    combined, issues = _combine(tables, profile)
    combined = combined.reset_index(drop=True)
    profile, absent = _fit(profile, combined, tables)
    issues += absent
    frame = _map_fields(combined, profile)
    frame["_pos"] = range(len(frame))
    source = combined[[c for c in combined.columns if c not in PROVENANCE]]
    return Staged(profile.kind, frame, tuple(issues), tuple(tables), source, profile)


# --- joining -----------------------------------------------------------------------------------


def _with_provenance(table: RawTable, prefix: str) -> pd.DataFrame:
    frame = table.frame.copy()
    frame[f"_{prefix}file"] = table.name
    frame[f"_{prefix}row"] = table.frame.index.to_numpy()
    return frame.reset_index(drop=True)


def _assign(tables: list[RawTable], profile: Profile) -> tuple[RawTable, dict[str, RawTable]]:
    """Which file plays which role; a single file holding every mapped column is taken flat
    (that is what a quarantine download of a multi-file import looks like)."""
    if len(tables) == 1 and (not profile.joins or set(profile.columns.values()) <= set(tables[0].columns)):
        return tables[0], {}
    mains = [t for t in tables if profile.matches_main(t.name)
             and not any(fnmatch.fnmatch(t.name.lower(), j.match.lower()) for j in profile.joins)]
    if len(mains) != 1:
        raise ImportFileError("no_main_file", ", ".join(t.name for t in tables), pattern=profile.main or "*")
    main = mains[0]
    joined: dict[str, RawTable] = {}
    for join in profile.joins:
        hits = [t for t in tables if t is not main and fnmatch.fnmatch(t.name.lower(), join.match.lower())]
        if len(hits) > 1:
            raise ImportFileError("ambiguous_file", ", ".join(t.name for t in hits), pattern=join.match)
        if hits:
            joined[join.role] = hits[0]
        elif join.required or join.lines:
            raise ImportFileError("missing_file", main.name, role=join.role, pattern=join.match)
    return main, joined


def _require_columns(table: RawTable, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.frame.columns]
    if missing:
        raise ImportFileError("missing_columns", table.name, columns=", ".join(missing))


def _combine(tables: list[RawTable], profile: Profile) -> tuple[pd.DataFrame, list[Issue]]:
    main, joined = _assign(tables, profile)
    issues: list[Issue] = []
    frame = _with_provenance(main, "o")
    frame["_file"], frame["_row"] = frame["_ofile"], frame["_orow"]
    ref_col = profile.columns.get("external_ref")
    for join in profile.joins:
        table = joined.get(join.role)
        if table is None:
            continue
        _require_columns(main, [c for c in join.on if c not in frame.columns])
        _require_columns(table, list(join.on))
        if join.lines:
            frame = _join_lines(frame, table, join, ref_col, issues)
        else:
            frame = _join_lookup(frame, table, join, profile, ref_col, issues)
    unused = [t.name for t in tables if t is not main and t not in joined.values()]
    issues += [Issue("unused_file", "", name, severity="info") for name in unused]
    return frame, issues


def _fit(profile: Profile, combined: pd.DataFrame, tables: list[RawTable]) -> tuple[Profile, list[Issue]]:
    """Required fields must find their column; an optional field whose column the file lacks
    is not imported, and the report says so (exports differ in optional columns)."""
    files = ", ".join(t.name for t in tables)
    missing = {f: c for f, c in profile.columns.items() if c not in combined.columns}
    required = [c for f, c in missing.items() if spec(profile.kind, f).required]
    if required:
        raise ImportFileError("missing_columns", files, columns=", ".join(required))
    if not missing:
        return profile, []
    columns = {f: c for f, c in profile.columns.items() if f not in missing}
    issues = [Issue("column_absent", f, files, column=c, severity="info") for f, c in missing.items()]
    return replace(profile, columns=columns), issues


def _key(frame: pd.DataFrame, on: tuple[str, ...]) -> pd.Series:
    return frame[list(on)].astype(str).agg("\x1f".join, axis=1) if len(on) > 1 else frame[on[0]].astype(str)


def _join_lines(frame: pd.DataFrame, table: RawTable, join: JoinSpec, ref_col: str | None,
                issues: list[Issue]) -> pd.DataFrame:
    lines = _with_provenance(table, "")
    main_keys, line_keys = set(_key(frame, join.on)), _key(lines, join.on)
    for row, key in zip(lines["_row"][~line_keys.isin(main_keys)], line_keys[~line_keys.isin(main_keys)],
                        strict=True):
        issues.append(Issue("orphan_line", "external_ref", table.name, int(row), ",".join(join.on), key,
                            detail=frame["_ofile"].iat[0] if len(frame) else "", order=key))
    without = ~_key(frame, join.on).isin(set(line_keys))
    for row, ref in zip(frame["_orow"][without], _refs(frame, ref_col)[without], strict=True):
        issues.append(Issue("no_lines", "sku", frame["_ofile"].iat[0], int(row), None, None, detail=table.name,
                            order=ref))
    keep = frame.drop(columns=["_file", "_row"])
    clash = [c for c in lines.columns if c in keep.columns and c not in join.on]
    lines = lines.rename(columns={c: f"{join.role}.{c}" for c in clash})
    return keep.merge(lines, on=list(join.on), how="inner", sort=False)


def _refs(frame: pd.DataFrame, ref_col: str | None) -> pd.Series:
    if ref_col and ref_col in frame.columns:
        return frame[ref_col]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _aggregate(table: pd.DataFrame, join: JoinSpec, profile: Profile) -> pd.DataFrame:
    how = {c: join.aggregate.get(c, "first") for c in table.columns if c not in join.on}
    grouped = table.groupby(list(join.on), sort=False)
    parts = {}
    for col, rule in how.items():
        if rule == "sum":
            total = parse.cents(table[col], profile.decimal, profile.thousands).groupby(
                [table[c] for c in join.on], sort=False).sum(min_count=1)
            parts[col] = (total / 100).map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        elif rule == "join":
            parts[col] = grouped[col].agg(lambda s: "; ".join(v for v in dict.fromkeys(s) if v))
        else:
            parts[col] = grouped[col].first()
    return pd.DataFrame(parts).reset_index()


def _join_lookup(frame: pd.DataFrame, table: RawTable, join: JoinSpec, profile: Profile, ref_col: str | None,
                 issues: list[Issue]) -> pd.DataFrame:
    lookup = table.frame.reset_index(drop=True)
    if join.aggregate:
        lookup = _aggregate(lookup, join, profile)
    else:
        dup = lookup.duplicated(list(join.on), keep="first")
        for row, key in zip(table.frame.index[dup.to_numpy()], _key(lookup, join.on)[dup], strict=True):
            issues.append(Issue("duplicate_key", ",".join(join.on), table.name, int(row), ",".join(join.on), key))
        lookup = lookup[~dup]
    clash = [c for c in lookup.columns if c in frame.columns and c not in join.on]
    lookup = lookup.rename(columns={c: f"{join.role}.{c}" for c in clash})
    merged = frame.merge(lookup.assign(**{f"_has_{join.role}": True}), on=list(join.on), how="left", sort=False)
    found = merged.pop(f"_has_{join.role}").notna()
    if join.required:
        refs = _refs(merged, ref_col)
        for f, row, key, ref in zip(merged["_ofile"][~found], merged["_orow"][~found],
                                    _key(merged, join.on)[~found], refs[~found], strict=True):
            issues.append(Issue("missing_lookup", ",".join(join.on), f, int(row), ",".join(join.on), key,
                                detail=table.name, order=ref))
    filled = [c for c in lookup.columns if c not in join.on]
    merged[filled] = merged[filled].fillna("")
    return merged


# --- mapping and parsing -----------------------------------------------------------------------


def _source_text(combined: pd.DataFrame, profile: Profile, f: FieldSpec) -> pd.Series:
    if f.name in profile.columns:
        return parse.blank_to_none(combined[profile.columns[f.name]])
    if f.name in profile.constants:
        return pd.Series([profile.constants[f.name]] * len(combined), index=combined.index, dtype=object)
    return pd.Series([None] * len(combined), index=combined.index, dtype=object)


def _code(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Source codes → OMS codes via the profile; unmapped values stay as they are (and fail
    the allowed-values check, naming the value)."""
    if not mapping:
        return values
    mapped = values.map(mapping)
    return mapped.where(mapped.notna(), values)


def _map_fields(combined: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    out = combined[PROVENANCE].copy()
    for f in FIELDS[profile.kind]:
        text = _source_text(combined, profile, f)
        out[f.name] = text
        if f.type == "date":
            out[f"{f.name}_v"] = parse.dates(text, profile.date_formats, profile.timezone)
        elif f.type == "money":
            out[f"{f.name}_v"] = parse.cents(text, profile.decimal, profile.thousands)
        elif f.type in ("qty", "int"):
            out[f"{f.name}_v"] = parse.numbers(text, profile.decimal, profile.thousands)
        elif f.type == "phone":
            out[f"{f.name}_v"], out[f"{f.name}_masked"], bad = parse.phones(text)
            out[f"{f.name}_bad"] = text.where(bad, None)
            continue
        elif f.type == "email":
            out[f"{f.name}_v"], bad = parse.emails(text)
            out[f"{f.name}_bad"] = text.where(bad, None)
            continue
        elif f.type == "bool":
            out[f"{f.name}_v"] = parse.booleans(text)
        elif f.type == "code":
            mapping = profile.statuses if f.name == "status" else profile.values.get(f.name, {})
            out[f"{f.name}_v"] = _code(text, mapping)
            continue
        else:
            continue
        out[f"{f.name}_bad"] = text.where(text.notna() & out[f"{f.name}_v"].isna(), None)
    if "full_address" in out.columns:
        _fill_address(out)
    return out


def _fill_address(out: pd.DataFrame) -> None:
    """Split a one-cell address into the four address fields that are not mapped separately."""
    has_full = out["full_address"].notna()
    if not has_full.any():
        return
    unique = out.loc[has_full, "full_address"].drop_duplicates()
    parts = {v: parse.split_address(v) for v in unique}
    for i, name in enumerate(("province", "city", "district", "address")):
        split = out["full_address"].map(lambda v, i=i: parts[v][i] if isinstance(v, str) else None)
        out[name] = out[name].where(out[name].notna(), split)
