"""Contact details as people type them: phones to bare digits, e-mails lower-cased, and
whether what is left can reach someone.

One rule for order entry, imports and profile edits (:mod:`core.services.customers` re-exports
these names): the same person typed three ways by three clerks is one customer.
"""

from __future__ import annotations

import re
import unicodedata

from core.errors import FieldIssue

_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_phone(phone: str | None) -> str | None:
    """Digits only, China's +86 / 0086 prefix dropped; None for empty input."""
    if phone is None:
        return None
    digits = _DIGITS.sub("", str(phone))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def normalise_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None


def normalise_name(name: str | None) -> str | None:
    """A person's name as the exact-name search compares it (the blind index of an encrypted
    name): NFKC (full-width letters and spaces become plain ones), runs of white space one
    space, trimmed, case-folded. ``张三``, `` 张三 `` and ``Zhang  SAN`` vs ``zhang san`` match;
    a different spelling does not. None for empty input."""
    if name is None:
        return None
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", str(name))).strip().casefold()
    return folded or None


def is_valid_mobile(phone: str | None) -> bool:
    """Mainland mobile numbers: 11 digits starting with 1."""
    return phone is not None and len(phone) == 11 and phone.startswith("1") and phone.isdigit()


def is_readable_phone(phone: str | None) -> bool:
    """A normalised number a customer record may hold: a mainland mobile, or 7–12 digits (a
    landline with area code). One rule for order entry, imports and profile edits."""
    return bool(phone) and (is_valid_mobile(phone) or 7 <= len(phone or "") <= 12)


def is_valid_email(email: str | None) -> bool:
    """A normalised (lower-cased) e-mail of the form ``name@host.tld``."""
    return bool(email) and bool(_EMAIL.match(email or ""))


def contact_issues(name: str, phone: str | None, email: str | None, *, need_contact: bool) -> list[FieldIssue]:
    """What is wrong with a customer's name, phone and e-mail as typed (raw, before
    normalisation): order entry (``need_contact``: a new customer must be reachable) and the
    profile editor apply the same rules."""
    issues: list[FieldIssue] = []
    if not (name or "").strip():
        issues.append(FieldIssue("customer_name", "issue.required"))
    norm_phone, norm_email = normalise_phone(phone), normalise_email(email)
    if need_contact and not norm_phone and not norm_email:
        issues.append(FieldIssue("phone", "issue.phone_or_email"))
    elif norm_phone and not is_readable_phone(norm_phone):
        issues.append(FieldIssue("phone", "issue.bad_phone", value=phone))
    if norm_email and not is_valid_email(norm_email):
        issues.append(FieldIssue("email", "mdp.bad_email", value=email))
    return issues
