"""Password hashing and the password policy (pure: no database, no session).

Hashes are argon2id (argon2-cffi) with OWASP's baseline parameters — 19 MiB, two passes, one
lane — rather than the library default of 64 MiB: every sign-in runs in the one process that
serves the whole shop. Hashes made by earlier versions (``scrypt$N$r$p$salt$digest``) still
verify; :func:`needs_rehash` tells the login to replace them (and argon2 hashes with other
parameters) with a current hash once the password is known to be right.

The policy: at least 10 characters, letters and digits, at least 5 different characters, not
in the shipped list of well-known passwords (``common_passwords.txt``), not containing the
username. Each broken rule is one message code (``issue.pw_*``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import string
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MIN_DISTINCT = 5
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_LEET = str.maketrans({"0": "o", "@": "a", "$": "s"})


def hash_password(password: str) -> str:
    """A new argon2id hash (salted; the parameters are part of the string)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored`` (argon2id, or a legacy scrypt hash)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for hashes of an older scheme or with other parameters than :data:`_HASHER`'s."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    """The scheme of versions before argon2 (``scrypt$N$r$p$salt$digest``, base64 parts)."""
    try:
        _, n, r, p, salt_b64, digest_b64 = stored.split("$")
        digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p),
                                dklen=32)
    except ValueError:  # malformed stored value, or parameters scrypt refuses
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


@functools.cache
def dummy_hash() -> str:
    """A hash of a random secret with the current parameters: sign-ins for unknown users and
    throttled clients verify against it, so every answer costs one real hash check."""
    return hash_password(secrets.token_hex(16))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of well-known passwords, normalised like candidates are."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_normalise(line) for line in lines if line and not line.startswith("#"))


def _normalise(password: str) -> str:
    return password.lower().translate(_LEET)


def policy_problems(password: str, username: str | None = None) -> list[tuple[str, dict[str, int]]]:
    """The broken rules as (message code, parameters); an empty list means acceptable."""
    problems: list[tuple[str, dict[str, int]]] = []
    if len(password) < MIN_LENGTH:
        problems.append(("issue.pw_length", {"n": MIN_LENGTH}))
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        problems.append(("issue.pw_mix", {}))
    if len(password) >= MIN_LENGTH and (len(set(password)) < MIN_DISTINCT
                                        or _normalise(password) in common_passwords()):
        problems.append(("issue.pw_common", {}))
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        problems.append(("issue.pw_username", {}))
    return problems


def generate_password(length: int = 14) -> str:
    """A random password of letters and digits that passes the policy (shown once, never stored)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(max(length, MIN_LENGTH)))
        if not policy_problems(password):
            return password
