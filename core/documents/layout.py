"""What every printed document shares: the shop's letterhead (name, address, phone, logo from
Shop setup), a title with the document's number, a block of facts, tables of lines, and the
PDF itself — so the order slip, packing slip, pick list, purchase order and RMA label differ
only in what they list.

Built with reportlab's platypus (pinned in requirements.txt): real PDF, no browser or external
renderer, fonts embedded (:mod:`core.documents.fonts`). Every value is escaped before it goes
into a paragraph, since names and notes are typed by users.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.config import Letterhead
from core.documents.fonts import font_name

LOGO_MAX_MM = (40, 18)  # a logo is scaled down into this box, never up


def style(size: float = 9, *, bold: bool = False, align: int = 0, leading: float | None = None) -> ParagraphStyle:
    """A paragraph style in the document font; CJK word wrap so Chinese breaks anywhere."""
    return ParagraphStyle(f"oms-{size}-{bold}-{align}", fontName=font_name(), fontSize=size,
                          leading=leading or size * 1.3, alignment=align, wordWrap="CJK",
                          textColor=colors.black if bold else colors.HexColor("#222222"))


def text(value: Any, size: float = 9, **kwargs: Any) -> Paragraph:
    """``value`` as an escaped paragraph ('' for None, never the word "None")."""
    return Paragraph(escape("" if value is None else str(value)).replace("\n", "<br/>"), style(size, **kwargs))


def _logo(letterhead: Letterhead) -> Flowable | None:
    if not letterhead.logo:
        return None
    image = Image(io.BytesIO(letterhead.logo))
    width, height = LOGO_MAX_MM[0] * mm, LOGO_MAX_MM[1] * mm
    scale = min(1.0, width / image.imageWidth, height / image.imageHeight)
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    return image


def heading(letterhead: Letterhead, title: str, number: str, width: float) -> list[Flowable]:
    """The shop's letterhead on the left (logo above), the document's title and number on the right."""
    shop: list[Flowable] = [f for f in (_logo(letterhead),) if f is not None]
    shop += [text(letterhead.name, 13, bold=True)] if letterhead.name else []
    shop += [text(line, 8) for line in (letterhead.address, letterhead.phone) if line]
    right = [text(title, 15, bold=True, align=2), text(number, 11, align=2)]
    table = Table([[shop, right]], colWidths=[width * 0.6, width * 0.4])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black)]))
    return [table, Spacer(1, 3 * mm)]


def facts(pairs: Sequence[tuple[str, Any]], width: float, columns: int = 2) -> Table:
    """Label/value pairs in ``columns`` column pairs (blank values are left out)."""
    cells = [(text(k, 8), text(v, 9)) for k, v in pairs if v not in (None, "")]
    rows = []
    for start in range(0, len(cells), columns):
        chunk = [c for pair in cells[start:start + columns] for c in pair]
        rows.append(chunk + [""] * (columns * 2 - len(chunk)))
    label_w = width * 0.14
    table = Table(rows or [[""]], colWidths=[label_w, width / columns - label_w] * columns if rows else [width])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("TEXTCOLOR", (0, 0), (-1, -1), colors.HexColor("#555555"))]))
    return table


def lines_table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float],
                numeric: Sequence[int] = (), size: float = 9) -> Table:
    """A table of lines with a header row that repeats on every page; ``numeric`` columns align right."""
    body = [[text(h, size - 1, bold=True, align=2 if i in numeric else 0) for i, h in enumerate(header)]]
    body += [[text(v, size, align=2 if i in numeric else 0) for i, v in enumerate(row)] for row in rows]
    table = Table(body, colWidths=list(widths), repeatRows=1)
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                               ("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor("#BBBBBB")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def render(story: list[Flowable], *, title: str, pagesize: tuple[float, float] = A4,
           margin: float = 12 * mm) -> bytes:
    """The PDF of ``story``: the bytes a download button serves."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=title, author="OMS")
    doc.build(story)
    return buffer.getvalue()


def content_width(pagesize: tuple[float, float] = A4, margin: float = 12 * mm) -> float:
    return pagesize[0] - 2 * margin
