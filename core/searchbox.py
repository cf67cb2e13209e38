"""What a search box may hold: the one rule every service and analytics search applies.

A search box is free text from anyone with a login, so it is bounded like every other input:
at most :data:`MAX_SEARCH_CHARS` characters (an order number, a phone, a name or a SKU is far
shorter; a 100 000-character paste is refused with a message instead of becoming a 100 kB
``LIKE`` pattern), and NUL removed (PostgreSQL text cannot hold it; it never matches anyway).
Pages give their search inputs the same ``max_chars``.
"""

from __future__ import annotations

from core.errors import Refused

MAX_SEARCH_CHARS = 100


def search_text(query: str | None) -> str:
    """``query`` trimmed and without NUL; refused (``hf.search_too_long``) when too long."""
    text = (query or "").replace("\x00", "").strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise Refused("hf.search_too_long", length=len(text), limit=MAX_SEARCH_CHARS)
    return text
