"""First-run setup: the shop's name, timezone, currency and language, and its first
warehouses and channels — one call for ``oms setup`` and the Shop setup page.

The profile is stored in the ``shop`` setting. :mod:`core.config` prefers it over the
``OMS_TZ`` / ``OMS_CURRENCY`` / ``OMS_LANG`` defaults, so once a shop has set its timezone every
"today" and every time on screen is in it (read through :func:`core.refdata.shop_profile`,
whose cache a commit here invalidates).

Setup is idempotent: running it twice creates nothing twice. A warehouse or channel code that
exists already is left alone, except that a new name renames it (reported as such). All or
nothing: one bad value anywhere and nothing is written.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zoneinfo
from dataclasses import dataclass, field

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, config, refdata
from core.db import read_only, unit_of_work
from core.errors import FieldIssue, ValidationError
from core.iso_currencies import ISO_4217
from core.models import Setting
from core.permissions import Actor, require
from core.services import master_data as md
from core.timeutil import utcnow

LANGUAGES = ("zh", "en")
SHOP_NAME_MAX = 100
SHOP_ADDRESS_MAX = 200
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 2000
LOGO_FORMATS = ("PNG", "JPEG")
_PHONE = re.compile(r"[0-9+\- ]{3,32}")
PROFILE_FIELDS = ("shop_name", "shop_address", "shop_phone", "timezone", "currency", "language")
_STORED = {"shop_name": "name", "shop_address": "address", "shop_phone": "phone", "timezone": "timezone",
           "currency": "currency", "language": "language"}


@dataclass(frozen=True)
class ShopProfile:
    """The shop as the app uses it: stored values, else the environment's defaults."""

    shop_name: str
    shop_address: str
    shop_phone: str
    timezone: str
    currency: str
    language: str
    stored: tuple[str, ...]  # which fields the shop has set itself


@dataclass(frozen=True)
class SetupRequest:
    """What to set; ``None`` leaves a profile field as it is. Warehouses are ``(code, name)``,
    channels ``(code, name, kind)``."""

    shop_name: str | None = None
    shop_address: str | None = None  # the letterhead's address and phone ('' clears them)
    shop_phone: str | None = None
    timezone: str | None = None
    currency: str | None = None
    language: str | None = None
    warehouses: tuple[tuple[str, str], ...] = ()
    channels: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class SetupResult:
    profile: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # field → (before, after)
    created: tuple[tuple[str, str], ...] = ()  # (entity, code)
    renamed: tuple[tuple[str, str, str, str], ...] = ()  # (entity, code, old name, new name)
    unchanged: tuple[tuple[str, str], ...] = ()

    @property
    def changed_anything(self) -> bool:
        return bool(self.profile or self.created or self.renamed)


def parse_spec(text: str, with_kind: bool, field_name: str, row: int) -> tuple[str, ...]:
    """The CLI's ``CODE:NAME`` (warehouses) or ``CODE:NAME:KIND`` (channels) values as a tuple;
    the name may contain ``:`` itself (the code ends at the first, the kind starts at the last)."""
    code, sep, rest = str(text).partition(":")
    name, kind_sep, kind = rest.rpartition(":") if with_kind else (rest, ":", "")
    parts = (code.strip(), name.strip(), kind.strip()) if with_kind else (code.strip(), name.strip())
    if not sep or not kind_sep or not all(parts):
        form = "CODE:NAME:KIND" if with_kind else "CODE:NAME"
        raise ValidationError([FieldIssue(field_name, "setup.issue_spec", row=row, value=text,
                                          params={"form": form, "value": text})])
    return parts


def needs_setup_from(ref: refdata.RefData) -> bool:
    return not ref.warehouses or not ref.channels


@read_only
def needs_setup(session: Session) -> bool:
    """True while the shop has no active warehouse or no active channel (first run)."""
    return needs_setup_from(refdata.snapshot(session))


def _effective(stored: dict[str, str]) -> ShopProfile:
    defaults = {"shop_name": "", "shop_address": "", "shop_phone": "", "timezone": config.env_timezone(), "currency": config.env_currency(),
                "language": config.env_language()}
    values = {f: stored.get(_STORED[f]) or defaults[f] for f in PROFILE_FIELDS}
    return ShopProfile(**values, stored=tuple(f for f in PROFILE_FIELDS if stored.get(_STORED[f])))


@read_only
def shop_profile(session: Session, actor: Actor) -> ShopProfile:
    require(actor, "settings.edit")
    return _effective(refdata.snapshot(session).settings.get(refdata.SHOP_KEY, {}))


def _profile_values(request: SetupRequest, issues: list[FieldIssue]) -> dict[str, str]:
    """The profile fields the request sets, checked and normalised."""
    values: dict[str, str] = {}
    if request.shop_name is not None:
        name = request.shop_name.strip()
        if not name:
            issues.append(FieldIssue("shop_name", "issue.required"))
        elif len(name) > SHOP_NAME_MAX:
            issues.append(FieldIssue("shop_name", "issue.too_long", value=name, params={"n": SHOP_NAME_MAX}))
        values["shop_name"] = name
    if request.shop_address is not None:
        address = " ".join(request.shop_address.split())
        if len(address) > SHOP_ADDRESS_MAX:
            issues.append(FieldIssue("shop_address", "issue.too_long", value=address, params={"n": SHOP_ADDRESS_MAX}))
        values["shop_address"] = address
    if request.shop_phone is not None:
        phone = request.shop_phone.strip()
        if phone and not _PHONE.fullmatch(phone):
            issues.append(FieldIssue("shop_phone", "setup.issue_phone", value=phone, params={"value": phone}))
        values["shop_phone"] = phone
    if request.timezone is not None:
        tz = request.timezone.strip()
        if tz not in zoneinfo.available_timezones():
            issues.append(FieldIssue("timezone", "setup.issue_timezone", value=tz, params={"value": tz}))
        values["timezone"] = tz
    if request.currency is not None:
        cur = request.currency.strip().upper()
        if cur not in ISO_4217:
            issues.append(FieldIssue("currency", "setup.issue_currency", value=cur, params={"value": cur}))
        values["currency"] = cur
    if request.language is not None:
        lang = request.language.strip().lower()
        if lang not in LANGUAGES:
            issues.append(FieldIssue("language", "issue.one_of", value=lang, params={"choices": ", ".join(LANGUAGES)}))
        values["language"] = lang
    return values


def _checked_rows(request: SetupRequest, issues: list[FieldIssue]) -> list[tuple[md._Table, dict[str, str]]]:
    """Each warehouse and channel of the request as ``(table, values)``, every bad one reported
    with its field and its position (``row``) among the warehouses or channels."""
    rows: list[tuple[md._Table, dict[str, str]]] = []
    seen: set[tuple[str, str]] = set()
    specs: list[tuple[md._Table, str, int, md.WarehouseInput | md.ChannelInput]] = [
        (md.WAREHOUSES, "warehouse", i, md.WarehouseInput(code, name))
        for i, (code, name) in enumerate(request.warehouses, start=1)]
    specs += [(md.CHANNELS, "channel", i, md.ChannelInput(code, name, kind))
              for i, (code, name, kind) in enumerate(request.channels, start=1)]
    for table, entity, row, data in specs:
        try:
            values = md.warehouse_values(data) if isinstance(data, md.WarehouseInput) else md.channel_values(data)
        except ValidationError as exc:
            issues.extend(FieldIssue(f"{entity}_{i.field}", i.message, row=row, value=i.value, params=i.params)
                          for i in exc.issues)
            continue
        if (entity, values["code"]) in seen:
            issues.append(FieldIssue(f"{entity}_code", "setup.issue_twice", row=row, value=values["code"],
                                     params={"code": values["code"]}))
        seen.add((entity, values["code"]))
        rows.append((table, values))
    return rows


def _logo_issue(data: bytes) -> FieldIssue | None:
    """Why ``data`` cannot be the shop's logo, or None: bounded in bytes before it is opened,
    then in pixels (a small file can still declare a huge image), and PNG or JPEG only."""
    if len(data) > LOGO_MAX_BYTES:
        return FieldIssue("logo", "setup.issue_logo_size",
                          params={"size_kb": -(-len(data) // 1024), "limit_kb": LOGO_MAX_BYTES // 1024})
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
            if fmt in LOGO_FORMATS and max(width, height) <= LOGO_MAX_PIXELS:
                image.verify()
    except (OSError, ValueError, Image.DecompressionBombError):
        return FieldIssue("logo", "setup.issue_logo_format")
    if fmt not in LOGO_FORMATS:
        return FieldIssue("logo", "setup.issue_logo_format")
    if max(width, height) > LOGO_MAX_PIXELS:
        return FieldIssue("logo", "setup.issue_logo_pixels",
                          params={"width": width, "height": height, "limit": LOGO_MAX_PIXELS})
    return None


@unit_of_work
def set_shop_logo(session: Session, data: bytes | None, actor: Actor) -> None:
    """Store (or with ``None`` remove) the logo printed on the shop's documents; refused with
    the reason and nothing stored when it is too large, not an image, or too many pixels."""
    require(actor, "settings.edit")
    if data is not None and (issue := _logo_issue(data)) is not None:
        raise ValidationError([issue])
    row = session.get(Setting, refdata.SHOP_KEY)
    stored = dict(row.value) if row is not None else {}
    before = stored.pop("logo", None)
    if data is not None:
        stored["logo"] = base64.b64encode(data).decode("ascii")
    if row is None:
        session.add(Setting(key=refdata.SHOP_KEY, value=stored, updated_at=utcnow(), updated_by=actor.username))
    else:
        row.value, row.updated_at, row.updated_by = stored, utcnow(), actor.username
    session.flush()
    refdata.bump(session)

    def digest(value: str | None) -> str | None:
        return hashlib.sha256(value.encode()).hexdigest()[:12] if value else None
    audit.record(session, actor, "shop.logo", "settings", refdata.SHOP_KEY,
                 before={"logo": digest(before)}, after={"logo": digest(stored.get("logo"))})


def _apply_profile(session: Session, values: dict[str, str], actor: Actor) -> dict[str, tuple[str | None, str]]:
    row = session.get(Setting, refdata.SHOP_KEY)
    stored = dict(row.value) if row is not None else {}
    changes = {f: (stored.get(_STORED[f]), v) for f, v in values.items() if (stored.get(_STORED[f]) or "") != v}
    if not changes:
        return {}
    new = {**stored, **{_STORED[f]: v for f, (_, v) in changes.items()}}
    if row is None:
        session.add(Setting(key=refdata.SHOP_KEY, value=new, updated_at=utcnow(), updated_by=actor.username))
    else:  # a new dict, so the JSON column sees the change
        row.value, row.updated_at, row.updated_by = new, utcnow(), actor.username
    session.flush()
    refdata.bump(session)
    audit.record(session, actor, "shop.setup", "settings", refdata.SHOP_KEY,
                 before={f: old for f, (old, _) in changes.items()}, after={f: v for f, (_, v) in changes.items()})
    return changes


@unit_of_work
def set_up_shop(session: Session, request: SetupRequest, actor: Actor) -> SetupResult:
    """Store the profile and create (or rename) the warehouses and channels, all or nothing."""
    require(actor, "settings.edit")
    require(actor, "masterdata.edit")
    issues: list[FieldIssue] = []
    profile = _profile_values(request, issues)
    rows = _checked_rows(request, issues)
    if issues:
        raise ValidationError(issues)
    changes = _apply_profile(session, profile, actor)
    created, renamed, unchanged = [], [], []
    for table, values in rows:
        model = table.model
        existing = session.execute(select(model).where(getattr(model, table.key) == values["code"])).scalar_one_or_none()
        if existing is None:
            md.create_row(session, table, values, actor)
            created.append((table.entity, values["code"]))
            continue
        saved = md.update_row(session, table, existing, {"name": values["name"]}, actor)
        if saved.changes:
            renamed.append((table.entity, saved.key, *saved.changes["name"]))
        else:
            unchanged.append((table.entity, saved.key))
    return SetupResult(changes, tuple(created), tuple(renamed), tuple(unchanged))
