"""The text of a generated PDF, read back with pypdf, for tests of printable documents."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def pdf_text(pdf: bytes) -> str:
    """Every page's text, whitespace removed (PDF text extraction spaces words unpredictably)."""
    assert pdf.startswith(b"%PDF-")
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))
