"""The font printed documents set their text in, embedded in the PDF so a shop's Chinese
prints the same on any computer and printer.

reportlab embeds (a subset of) TrueType outlines, not the CFF outlines of Noto CJK, so we look
for a TrueType font with Chinese: ``OMS_PDF_FONT`` (a .ttf/.ttc path), else WenQuanYi Zen Hei /
Micro Hei, AR PL UMing or Droid Sans Fallback where Debian installs them (``fonts-wqy-zenhei``;
``.ci/ensure-pdf-fonts``). A machine without any falls back to Adobe's ``STSong-Light``, which
reportlab knows without a file: the text is still real text, but the viewer supplies the glyphs
(:func:`embedded` is then False and the Shop setup page says so).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

FONT_ENV = "OMS_PDF_FONT"
EMBEDDED_NAME = "OMS-CJK"
FALLBACK_NAME = "STSong-Light"
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


def _candidates() -> list[Path]:
    chosen = os.environ.get(FONT_ENV, "").strip()
    return [Path(chosen)] if chosen else [Path(p) for p in CANDIDATES]


@functools.cache
def _register(candidates: tuple[Path, ...]) -> str:
    for path in candidates:
        if not path.is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont(EMBEDDED_NAME, str(path), subfontIndex=0))
        except (TTFError, OSError) as exc:  # a CFF-outline or damaged font: try the next one
            log.warning("PDF font %s not usable: %s", path, exc)
            continue
        return EMBEDDED_NAME
    log.warning("no TrueType CJK font found (%s); PDFs use %s without embedding", FONT_ENV, FALLBACK_NAME)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_NAME))
    return FALLBACK_NAME


def font_name() -> str:
    """The registered font for documents (registered on first use, once per font choice)."""
    return _register(tuple(_candidates()))


def embedded() -> bool:
    """True when documents embed their font (False: the viewer's STSong-Light is used)."""
    return font_name() == EMBEDDED_NAME
