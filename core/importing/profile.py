"""Mapping profiles: how one source's files become OMS fields.

A profile is plain data (YAML on disk, JSON in ``import_profiles``) with the same structure::

    name: tmall                 # how users and the CLI refer to it
    kind: orders                # orders | products | stock | customers
    description: 天猫/淘宝 订单导出
    read: {encoding: auto, delimiter: auto, sheet: null}
    files:                      # only for exports split over several files (Olist)
      main: "*orders_dataset*"  # file-name pattern of the main file (one row per order)
      join:
        - {role: items, match: "*order_items*", on: [order_id], lines: true}
        - {role: customers, match: "*customer*", on: [customer_id]}
        - {role: payments, match: "*payments*", on: [order_id], required: false,
           aggregate: {payment_type: first}}
    columns: {external_ref: 订单编号, placed_at: 订单创建时间, ...}   # OMS field → source column
    constants: {qty: 1, payment_status: paid}                      # OMS field → fixed value
    dates: {formats: ["%Y-%m-%d %H:%M:%S"], timezone: Asia/Shanghai}
    statuses: {交易成功: completed, 买家已付款，等待卖家发货: open}   # source status → target
    values: {payment_method: {支付宝: alipay}}                     # code fields: source → OMS code
    amounts: {decimal: ".", thousands: ",", sum_over_lines: [shipping_fee]}
    lines: {repeated: sum}          # orders: identical lines of one order → sum | number

Constants fill a field the file lacks (``status: completed`` for a sales history without a
status column, ``channel: POS``, ``warehouse: HZ``); they are validated like mapped values.
Identical lines of one order in a file without a line-number column (two of the same pizza)
are summed into one line by default (``repeated: sum``) or kept as separate numbered lines
(``repeated: number``).

Dates are never guessed: ``03/04/2024`` means what ``dates.formats`` says, tried in order.
Timestamps are taken in ``dates.timezone`` (default: the shop's) and stored as UTC.
"""

from __future__ import annotations

import codecs
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml

from core import config
from core.errors import FieldIssue, ValidationError
from core.importing.fields import FIELDS, KINDS, ORDER_TARGETS, spec
from core.importing.guess import guess_mapping

PROFILE_DIR = config.PROJECT_ROOT / "data" / "profiles"
DEFAULT_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d", "%Y/%m/%d",
)
AGGREGATES = ("first", "sum", "join")
REPEATED_LINES = ("sum", "number")  # what identical lines of one order become
MAX_NAME = 64
NAME_PATTERN = re.compile(r"^[\w][\w.\-]*$")  # also a safe file name: letters, digits, _ . -
_TOP_KEYS = {"name", "kind", "description", "read", "files", "columns", "constants", "dates", "statuses",
             "values", "amounts", "lines"}


@dataclass(frozen=True)
class JoinSpec:
    """Another file joined to the main one on shared key columns.

    ``lines``: one-to-many — every matching row becomes an order line (Olist's items file).
    Otherwise a lookup: at most one row per key, unless ``aggregate`` says how to combine
    (``first``, ``sum``, ``join``). ``required``: a main row with no match cannot be imported.
    """

    role: str
    match: str
    on: tuple[str, ...]
    lines: bool = False
    required: bool = True
    aggregate: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    description: str = ""
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | None = None
    main: str | None = None
    joins: tuple[JoinSpec, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    timezone: str | None = None  # None: the shop's timezone
    statuses: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    decimal: str = "."
    thousands: str = ","
    sum_over_lines: tuple[str, ...] = ()
    repeated_lines: str = "sum"

    def is_mapped(self, name: str) -> bool:
        return name in self.columns or name in self.constants

    def missing_required(self) -> list[str]:
        """Required fields given neither a column nor a constant."""
        return [f.name for f in FIELDS[self.kind] if f.required and not self.is_mapped(f.name)]

    def matches_main(self, file_name: str) -> bool:
        return self.main is None or fnmatch.fnmatch(file_name.lower(), self.main.lower())

    def to_dict(self) -> dict[str, Any]:
        """The YAML/JSON structure (only non-default parts, so saved files stay short)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.description:
            out["description"] = self.description
        read = {k: v for k, v in (("encoding", self.encoding), ("delimiter", self.delimiter), ("sheet", self.sheet))
                if v not in (None, "auto")}
        if read:
            out["read"] = read
        if self.main or self.joins:
            out["files"] = {"main": self.main, "join": [_join_dict(j) for j in self.joins]}
        out["columns"] = dict(self.columns)
        if self.constants:
            out["constants"] = dict(self.constants)
        dates: dict[str, Any] = {"formats": list(self.date_formats)}
        if self.timezone:
            dates["timezone"] = self.timezone
        out["dates"] = dates
        if self.statuses:
            out["statuses"] = dict(self.statuses)
        if self.values:
            out["values"] = {k: dict(v) for k, v in self.values.items()}
        amounts: dict[str, Any] = {}
        if self.decimal != "." or self.thousands != ",":
            amounts.update(decimal=self.decimal, thousands=self.thousands)
        if self.sum_over_lines:
            amounts["sum_over_lines"] = list(self.sum_over_lines)
        if amounts:
            out["amounts"] = amounts
        if self.repeated_lines != "sum":
            out["lines"] = {"repeated": self.repeated_lines}
        return out


def _join_dict(j: JoinSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"role": j.role, "match": j.match, "on": list(j.on)}
    if j.lines:
        out["lines"] = True
    if not j.required:
        out["required"] = False
    if j.aggregate:
        out["aggregate"] = dict(j.aggregate)
    return out


# --- parsing and validation ------------------------------------------------------------------


def _str_map(value: Any, where: str, issues: list[FieldIssue]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.append(FieldIssue(where, "prof.issue_mapping"))
        return {}
    return {str(k).strip(): "" if v is None else str(v).strip() for k, v in value.items()}


def _str_list(value: Any, where: str, issues: list[FieldIssue]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        issues.append(FieldIssue(where, "prof.issue_list"))
        return ()
    return tuple(str(v) for v in value)


def _joins(files: Any, issues: list[FieldIssue]) -> tuple[str | None, tuple[JoinSpec, ...]]:
    if files is None:
        return None, ()
    if not isinstance(files, dict):
        issues.append(FieldIssue("profile.files", "prof.issue_files"))
        return None, ()
    joins: list[JoinSpec] = []
    for i, raw in enumerate(files.get("join") or [], start=1):
        where = f"profile.files.join[{i}]"
        if isinstance(raw, dict) and True in raw:  # YAML 1.1 reads an unquoted ``on:`` key as true
            raw = {("on" if k is True else k): v for k, v in raw.items()}
        if not isinstance(raw, dict) or not raw.get("match") or not raw.get("on"):
            issues.append(FieldIssue(where, "prof.issue_join"))
            continue
        aggregate = _str_map(raw.get("aggregate"), where + ".aggregate", issues)
        bad = sorted(set(aggregate.values()) - set(AGGREGATES))
        if bad:
            issues.append(FieldIssue(where + ".aggregate", "issue.one_of", value=", ".join(bad),
                                     params={"choices": ", ".join(AGGREGATES)}))
        joins.append(JoinSpec(str(raw.get("role") or raw["match"]), str(raw["match"]),
                              _str_list(raw["on"], where + ".on", issues), bool(raw.get("lines", False)),
                              bool(raw.get("required", True)), aggregate))
    if sum(j.lines for j in joins) > 1:
        issues.append(FieldIssue("profile.files.join", "prof.issue_two_line_files"))
    main = files.get("main")
    return (str(main) if main else None), tuple(joins)


def from_dict(raw: Any) -> Profile:
    """A validated :class:`Profile` from its YAML/JSON structure; ValidationError listing every
    problem (unknown field, bad status target, unknown timezone or encoding …) otherwise."""
    issues: list[FieldIssue] = []
    if not isinstance(raw, dict):
        raise ValidationError([FieldIssue("profile", "prof.issue_not_mapping")])
    for key in sorted(set(raw) - _TOP_KEYS):
        issues.append(FieldIssue("profile", "prof.issue_unknown_key", value=key, params={"key": key}))
    name = str(raw.get("name") or "").strip()
    if not name:
        issues.append(FieldIssue("profile.name", "issue.required"))
    elif len(name) > MAX_NAME:
        issues.append(FieldIssue("profile.name", "issue.too_long", value=name, params={"n": MAX_NAME}))

    kind = str(raw.get("kind") or "")
    if kind not in KINDS:
        issues.append(FieldIssue("profile.kind", "issue.one_of", value=kind, params={"choices": ", ".join(KINDS)}))
        raise ValidationError(issues)
    read = raw.get("read") or {}
    encoding = str(read.get("encoding") or "auto")
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            issues.append(FieldIssue("profile.read.encoding", "prof.issue_encoding", value=encoding,
                                          params={"value": encoding}))
    main, joins = _joins(raw.get("files"), issues)
    known = {f.name for f in FIELDS[kind]}
    columns = {k: v for k, v in _str_map(raw.get("columns"), "profile.columns", issues).items() if v}
    constants = {k: v for k, v in _str_map(raw.get("constants"), "profile.constants", issues).items() if v != ""}
    for where, mapping in (("profile.columns", columns), ("profile.constants", constants)):
        for name_ in sorted(set(mapping) - known):
            issues.append(FieldIssue(where, "prof.issue_unknown_field", value=name_, params={"name": name_}))
    dates = raw.get("dates") or {}
    formats = _str_list(dates.get("formats"), "profile.dates.formats", issues) or DEFAULT_DATE_FORMATS
    timezone = dates.get("timezone")
    if timezone:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            issues.append(FieldIssue("profile.dates.timezone", "setup.issue_timezone", value=timezone,
                                          params={"value": timezone}))
    statuses = _str_map(raw.get("statuses"), "profile.statuses", issues)
    if kind == "orders":
        for source, target in statuses.items():
            if target not in ORDER_TARGETS:
                issues.append(FieldIssue("profile.statuses", "issue.one_of", value=f"{source}: {target}",
                                         params={"choices": ", ".join(ORDER_TARGETS)}))
    values_raw = raw.get("values") or {}
    values = {str(k): _str_map(v, f"profile.values.{k}", issues) for k, v in values_raw.items()} \
        if isinstance(values_raw, dict) else {}
    for name_ in sorted(set(values) - known):
        issues.append(FieldIssue("profile.values", "prof.issue_unknown_field", value=name_, params={"name": name_}))
    amounts = raw.get("amounts") or {}
    decimal, thousands = str(amounts.get("decimal", ".")), str(amounts.get("thousands", ","))
    if decimal not in (".", ",") or decimal == thousands:
        issues.append(FieldIssue("profile.amounts", "prof.issue_decimal", value=decimal))
    sum_over = _str_list(amounts.get("sum_over_lines"), "profile.amounts.sum_over_lines", issues)
    for name_ in sum_over:
        if name_ not in known or spec(kind, name_).type != "money":
            issues.append(FieldIssue("profile.amounts.sum_over_lines", "prof.issue_sum_money", value=name_,
                                     params={"name": name_}))
    lines = raw.get("lines") or {}
    repeated = str(lines.get("repeated", "sum")) if isinstance(lines, dict) else ""
    if repeated not in REPEATED_LINES:
        issues.append(FieldIssue("profile.lines.repeated", "issue.one_of", params={"choices": ", ".join(REPEATED_LINES)},
                                 value=repeated))
    if issues:
        raise ValidationError(issues)
    return Profile(
        name=name, kind=kind, description=str(raw.get("description") or ""), encoding=encoding,
        delimiter=str(read.get("delimiter") or "auto"), sheet=read.get("sheet") or None, main=main,
        joins=joins, columns=columns, constants=constants, date_formats=formats,
        timezone=str(timezone) if timezone else None, statuses=statuses, values=values, decimal=decimal,
        thousands=thousands, sum_over_lines=sum_over, repeated_lines=repeated,
    )


def from_yaml(text: str) -> Profile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError([FieldIssue("profile", "prof.issue_yaml", params={"reason": str(exc).splitlines()[0]})]) from None
    return from_dict(raw)


def to_yaml(profile: Profile) -> str:
    return yaml.safe_dump(profile.to_dict(), allow_unicode=True, sort_keys=False)


def load_file(path: Path) -> Profile:
    return from_yaml(path.read_text(encoding="utf-8"))


def shipped() -> dict[str, Profile]:
    """The profiles shipped in ``data/profiles/*.yaml``, by name."""
    profiles = [load_file(p) for p in sorted(PROFILE_DIR.glob("*.yaml"))]
    return {p.name: p for p in profiles}


def default_for(kind: str, sample: pd.DataFrame | None = None) -> Profile:
    """A starting point for a new profile: every field whose header is recognised and whose
    values (the first rows of ``sample``) fit it is mapped (core.importing.guess)."""
    return Profile(name="", kind=kind, columns=guess_mapping(kind, sample) if sample is not None else {})
