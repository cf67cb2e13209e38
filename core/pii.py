"""Personal data masking, shared by services and the UI adapter.

A leak the shops have suffered, handled in one place so every screen and export gets it:

* **Customer phone numbers and street addresses** reach staff who do not need them (warehouse,
  buyers). Roles without the ``customer.pii`` permission see ``138****5678`` and
  ``世纪****``; province, city and district stay visible (routing and regional analytics need
  them). Services that return orders to such roles mask at the source (:func:`mask_record`),
  and :mod:`core.webui` masks every table and download by column name as a second line of
  defence for pages written later.

Formula injection in exported files is handled where files are written, in
:mod:`core.exports` (every download and report goes through it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from core.permissions import Actor

PII_ACTION = "customer.pii"
MASK = "****"
_NON_DIGITS = re.compile(r"\D+")


def mask_phone(value: object) -> object:
    """``13800138000`` → ``138****8000``; shorter numbers keep only their last two digits.

    Formatting (``+86 138-0013-8000``) is dropped with the hidden digits; missing values pass
    through unchanged so empty cells stay empty.
    """
    if not isinstance(value, str) or not value.strip() or MASK in value:
        return value  # nothing to hide, or masked already (tables pass through twice)
    digits = _NON_DIGITS.sub("", value)
    if len(digits) >= 11:
        digits = digits[-11:]
        return f"{digits[:3]}{MASK}{digits[-4:]}"
    if len(digits) >= 4:
        return f"{MASK}{digits[-2:]}"
    return MASK


def mask_address(value: object) -> object:
    """Street-level detail hidden: ``世纪大道 100 号`` → ``世纪****`` (the first two characters
    help a colleague recognise the parcel; house numbers and rooms never show)."""
    if not isinstance(value, str) or not value.strip():
        return value
    return value.strip()[:2] + MASK


def mask_name(value: object) -> object:
    """``欧阳娜娜`` → ``欧****``: the first character only (the audit trail of a shop whose
    customers' names are encrypted)."""
    if not isinstance(value, str) or not value.strip() or MASK in value:
        return value
    return value.strip()[:1] + MASK


def mask_email(value: object) -> object:
    """``zhang.san@example.com`` → ``z****@example.com``."""
    if not isinstance(value, str) or "@" not in value:
        return value
    local, _, domain = value.strip().partition("@")
    return f"{local[:1]}{MASK}@{domain}"


# Column names (as services return them) holding personal data, and how each is masked.
MASKERS: dict[str, Callable[[object], object]] = {
    "phone": mask_phone,
    "ship_phone": mask_phone,
    "customer_phone": mask_phone,
    "mobile": mask_phone,
    "address": mask_address,
    "ship_address": mask_address,
    "customer_address": mask_address,
    "email": mask_email,
    "customer_email": mask_email,
}


def needs_masking(actor: Actor | None) -> bool:
    """True unless ``actor`` may see customers' personal data (fails closed for no actor)."""
    return actor is None or not actor.can(PII_ACTION)


def mask_record(record: Mapping[str, Any], actor: Actor | None) -> dict[str, Any]:
    """Copy of a header/record dict with its personal fields masked for ``actor``."""
    out = dict(record)
    if needs_masking(actor):
        for name, masker in MASKERS.items():
            if name in out:
                out[name] = masker(out[name])
    return out


def mask_frame(df: pd.DataFrame, actor: Actor | None, aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Copy of ``df`` with personal columns masked for ``actor`` (``df`` itself is untouched).

    ``aliases`` maps displayed column headers back to service column names (a table whose
    headers were already translated, "手机号" → ``phone``), so masking works either way.
    """
    if not needs_masking(actor):
        return df
    names = dict(aliases or {})
    targets = {col: MASKERS[names.get(col, col)] for col in df.columns if names.get(col, col) in MASKERS}
    if not targets:
        return df
    out = df.copy()
    for col, masker in targets.items():
        out[col] = out[col].astype(object).map(masker)
    return out
