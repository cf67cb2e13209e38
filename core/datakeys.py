"""The data keys: AES-256-GCM field encryption and the HMAC blind indexes of personal data.

Keys live outside the database, in a key file (``OMS_KEY_FILE``, default
``~/.config/oms/data-keys.json``, mode 0600) or in the environment (``OMS_DATA_KEY``, the same
JSON text, for containers and tests). They are never written to the database, the logs or an
error message: the database keeps only a *check value* per key id (an HMAC of a constant), so a
process can tell a wrong key from a right one before it shows anything (``data_keys`` table).

Ciphertext is text: ``enc:1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>``. The key id is
authenticated (it is the associated data), so a value cannot be passed off under another key.
Several key ids decrypt at once: a rotation (``oms keys rotate``) adds a key, makes it the one
new values are written with, and re-encrypts old rows in batches while the old id still reads.

Blind indexes: ``HMAC-SHA256(index key, kind ‖ value)`` of the normalised phone, e-mail and the
phone's last four digits. Equal inputs give equal digests, so search, de-duplication and the
unique phone index work on them; without the index key nothing can be learnt from a digest.
The index key is separate from the data keys and is not rotated with them (a new index key
would mean recomputing every digest; see docs/security.md).

Cost (docs/security.md, "Protecting data"): within one order the same value goes to several
rows — the customer's phone and address, the order's ship-to, the outbox recipient. Inside
:func:`one_ciphertext_per_value` each distinct plain value is sealed once and its digests are
computed once; the rows then hold the *same* ciphertext bytes (still a fresh random nonce per
value and scope, never a nonce derived from the plain text). What that shows a reader of the
database — these columns of this order hold the same value — the blind indexes show already
for the phone, and for the address it only says "shipped to the customer's stored address".
Across orders nothing is shared: two orders to one address keep different ciphertext.

This module knows only the *data* keys. Backup encryption keeps its own key elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import Refused

ENV_KEY = "OMS_DATA_KEY"
ENV_FILE = "OMS_KEY_FILE"
FORMAT = "oms-data-keys/1"
PREFIX = "enc:1:"
KEY_BYTES = 32
_NONCE = 12
_CHECK = b"oms data key check"
_RELOAD_SECONDS = 2.0


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "oms" / "data-keys.json"


def key_file_path() -> Path:
    """Where the key file is (or would be created): ``OMS_KEY_FILE``, else the default."""
    explicit = os.environ.get(ENV_FILE)
    return Path(explicit) if explicit else default_key_file()


def is_ciphertext(value: str | None) -> bool:
    return value is not None and value.startswith(PREFIX)


def key_id_of(value: str) -> str:
    """The key id a stored ciphertext was written with."""
    return value[len(PREFIX):].split(":", 1)[0]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class KeyRing:
    """Every data key a process knows, the one new values are written with, and the index key."""

    active: str
    keys: dict[str, bytes]
    index_key: bytes
    source: str  # "env" or the key file's path — never the key material
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)
    _index_mac: list[hmac.HMAC] = field(default_factory=list, compare=False, repr=False)

    def __repr__(self) -> str:  # never let a key reach a log through a repr
        return f"KeyRing(active={self.active!r}, ids={sorted(self.keys)}, source={self.source!r})"

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            cipher = self._ciphers[kid] = AESGCM(self.keys[kid])
        return cipher

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._cipher(self.active).encrypt(nonce, plaintext.encode("utf-8"), self.active.encode("ascii"))
        return f"{PREFIX}{self.active}:{_b64(nonce + sealed)}"

    def decrypt(self, token: str) -> str:
        kid, _, body = token[len(PREFIX):].partition(":")
        if kid not in self.keys:
            raise Refused("keys.unknown_id", kid=kid)
        try:
            raw = base64.b64decode(body, validate=True)
            return self._cipher(kid).decrypt(raw[:_NONCE], raw[_NONCE:], kid.encode("ascii")).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise Refused("keys.undecryptable", kid=kid) from exc

    def encrypt_bytes(self, data: bytes) -> bytes:
        """A file's bytes sealed the same way (``enc:1:<key id>:`` then raw nonce ‖ ciphertext)."""
        nonce = os.urandom(_NONCE)
        sealed = self._cipher(self.active).encrypt(nonce, data, self.active.encode("ascii"))
        return f"{PREFIX}{self.active}:".encode("ascii") + nonce + sealed

    def decrypt_bytes(self, blob: bytes) -> bytes:
        head, _, raw = blob[len(PREFIX):].partition(b":")
        kid = head.decode("ascii", "replace")
        if kid not in self.keys:
            raise Refused("keys.unknown_id", kid=kid)
        try:
            return self._cipher(kid).decrypt(raw[:_NONCE], raw[_NONCE:], kid.encode("ascii"))
        except (InvalidTag, ValueError) as exc:
            raise Refused("keys.undecryptable", kid=kid) from exc

    def check_value(self, kid: str) -> str:
        """What the database keeps to recognise key ``kid`` (an HMAC of a constant)."""
        return hmac.new(self.keys[kid], _CHECK, hashlib.sha256).hexdigest()[:32]

    def index_check(self) -> str:
        return hmac.new(self.index_key, _CHECK, hashlib.sha256).hexdigest()[:32]

    def blind(self, kind: str, value: str) -> str:
        if not self._index_mac:  # the keyed state is built once and copied per digest
            self._index_mac.append(hmac.new(self.index_key, digestmod=hashlib.sha256))
        mac = self._index_mac[0].copy()
        mac.update(f"{kind}\x00{value}".encode())
        return mac.hexdigest()

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "active": self.active, "index_key": _b64(self.index_key),
                           "keys": {kid: _b64(key) for kid, key in sorted(self.keys.items())}}, indent=2)

    def with_new_key(self) -> KeyRing:
        """This ring plus a fresh key, which becomes the active one (``k<n+1>``)."""
        number = 1 + max((int(k[1:]) for k in self.keys if k[1:].isdigit()), default=0)
        kid = f"k{number}"
        return KeyRing(kid, {**self.keys, kid: secrets.token_bytes(KEY_BYTES)}, self.index_key, self.source)


def new_ring(source: str) -> KeyRing:
    return KeyRing("k1", {"k1": secrets.token_bytes(KEY_BYTES)}, secrets.token_bytes(KEY_BYTES), source)


def parse(text: str, source: str) -> KeyRing:
    """A key ring from its JSON text; a damaged one is ``keys.malformed`` (naming no key)."""
    try:
        data = json.loads(text)
        keys = {str(kid): base64.b64decode(raw, validate=True) for kid, raw in data["keys"].items()}
        ring = KeyRing(str(data["active"]), keys, base64.b64decode(data["index_key"], validate=True), source)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Refused("keys.malformed", source=source) from exc
    if (data.get("format") != FORMAT or ring.active not in keys or len(ring.index_key) != KEY_BYTES
            or any(len(k) != KEY_BYTES or not kid.isascii() or ":" in kid for kid, k in keys.items())):
        raise Refused("keys.malformed", source=source)
    return ring


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Write ``ring`` to ``path`` atomically (a kill leaves the old file or the new one), 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(ring.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# --- the process's key ring ------------------------------------------------------------------

_lock = threading.Lock()


@dataclass
class _Cache:
    ring: KeyRing | None = None
    stamp: tuple[str | None, str, float] | None = None
    env: str | None = None
    at: float = 0.0


_cache = _Cache()


def _load() -> KeyRing:
    env = os.environ.get(ENV_KEY)
    if env:
        return parse(env, "env")
    path = key_file_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise Refused("keys.missing", path=str(path), env=ENV_KEY) from exc
    return parse(text, str(path))


def _stamp() -> tuple[str | None, str, float]:
    """What the cached ring depends on: the environment's key text, the key file and its mtime."""
    env = os.environ.get(ENV_KEY)
    path = key_file_path()
    if env:
        return env, str(path), 0.0
    try:
        return None, str(path), path.stat().st_mtime
    except FileNotFoundError:
        return None, str(path), -1.0


def current() -> KeyRing:
    """The process's key ring, reloaded when the environment or the key file changed (a key
    file's change is noticed within a couple of seconds: a rotation started by another process
    adds a key that running apps then write with)."""
    now = time.monotonic()
    env = os.environ.get(ENV_KEY)
    ring = _cache.ring
    if ring is not None and _cache.env == env and (env or now - _cache.at < _RELOAD_SECONDS):
        return ring  # (a key given in the environment cannot change under a running process)
    with _lock:
        stamp = _stamp()
        if ring is None or _cache.stamp != stamp:
            ring = _load()
        _cache.ring, _cache.stamp, _cache.env, _cache.at = ring, stamp, env, now
        return ring


def forget() -> None:
    """Drop the cached ring (tests, and after this process rewrote the key file)."""
    with _lock:
        _cache.ring = _cache.stamp = None


# plain value → its ciphertext / digest, for the length of one order (one_ciphertext_per_value)
_memo: ContextVar[dict[tuple[str, str, str], str] | None] = ContextVar("oms_datakeys_memo", default=None)


@contextmanager
def one_ciphertext_per_value() -> Iterator[None]:
    """Within this block (one order: its customer, order and outbox rows) each distinct value is
    encrypted once and each digest computed once; the rows share the ciphertext (see the
    module's docstring for why that is safe). Leaving the block forgets every value."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def seal(plaintext: str) -> str:
    """``plaintext`` encrypted with the active key (once per value inside
    :func:`one_ciphertext_per_value`)."""
    ring = current()
    memo = _memo.get()
    if memo is None:
        return ring.encrypt(plaintext)
    key = ("seal", ring.active, plaintext)  # a rotation noticed mid-order seals anew under the new key
    sealed = memo.get(key)
    if sealed is None:
        sealed = memo[key] = ring.encrypt(plaintext)
    return sealed


def blind(kind: str, value: str | None) -> str | None:
    """The blind index of a normalised value (None stays None)."""
    if value is None:
        return None
    memo = _memo.get()
    if memo is None:
        return current().blind(kind, value)
    key = ("blind", kind, value)
    digest = memo.get(key)
    if digest is None:
        digest = memo[key] = current().blind(kind, value)
    return digest


def last4(phone: str | None) -> str | None:
    """The blind index of a phone's last four digits (the public order lookup's key)."""
    return None if phone is None or len(phone) < 4 else blind("last4", phone[-4:])


def verify(registered: list[tuple[str, str, str]]) -> None:
    """Refuse a key ring that cannot read a database whose keys are ``(kid, check value, index
    check)``: no ring at all is ``keys.missing``, another key under a registered id (or another
    index key) is ``keys.wrong``, an id the ring lacks is ``keys.absent_id``."""
    ring = current()
    for kid, check_value, index_check in registered:
        if kid not in ring.keys:
            raise Refused("keys.absent_id", kid=kid, source=ring.source)
        if not hmac.compare_digest(ring.check_value(kid), check_value) or not hmac.compare_digest(
                ring.index_check(), index_check):
            raise Refused("keys.wrong", kid=kid, source=ring.source)
