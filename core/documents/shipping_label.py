"""Shipping labels as PDF: one 100 × 150 mm page per parcel, the layout couriers expect from a
电子面单 — carrier and tracking number on top with its Code 128 barcode, receiver (masked
name and phone, full address), sender, order numbers, weight, and a QR code.

Chinese is drawn in the documents' font (:mod:`core.documents.fonts`: an embedded TrueType CJK
font, else the viewer's STSong-Light). The content comes from
:func:`core.services.labels.print_labels`; this module only draws it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence

from reportlab.graphics.barcode import code128, qr
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from core.documents.fonts import font_name
from core.domain.parcels import Label

PAGE = (100 * mm, 150 * mm)
MARGIN = 4 * mm
QR_BORDER = 2  # quiet zone, in modules


def _wrap(text: str, size: float, width: float) -> list[str]:
    """``text`` cut into lines no wider than ``width`` (character by character: Chinese has no
    spaces to break at)."""
    lines, line = [], ""
    for char in text:
        if pdfmetrics.stringWidth(line + char, font_name(), size) > width and line:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line else lines


def _block(pdf: canvas.Canvas, y: float, title: str, lines: Sequence[str], size: float) -> float:
    """A titled block of wrapped text starting at ``y``; returns the y below it."""
    width = PAGE[0] - 2 * MARGIN - 8 * mm
    pdf.setFont(font_name(), 8)
    pdf.drawString(MARGIN, y - 8, title)
    pdf.setFont(font_name(), size)
    for line in (part for text in lines for part in _wrap(text, size, width)):
        pdf.drawString(MARGIN + 8 * mm, y - size, line)
        y -= size + 2
    return y - 4


def _page(pdf: canvas.Canvas, label: Label) -> None:
    width, height = PAGE
    top = height - MARGIN
    pdf.setFont(font_name(), 14)
    pdf.drawString(MARGIN, top - 14, label.carrier)
    if label.service:
        pdf.setFont(font_name(), 10)
        pdf.drawRightString(width - MARGIN, top - 13, label.service)
    bar = code128.Code128(label.tracking_no, barHeight=16 * mm, barWidth=0.33 * mm, humanReadable=False)
    bar.drawOn(pdf, (width - bar.width) / 2, top - 40 * mm + 6 * mm)
    pdf.setFont(font_name(), 12)
    pdf.drawCentredString(width / 2, top - 40 * mm, label.tracking_no)
    y = top - 44 * mm
    pdf.line(MARGIN, y, width - MARGIN, y)
    y = _block(pdf, y - 2, "收", [f"{label.receiver_name}  {label.receiver_phone}", label.receiver_address], 12)
    pdf.line(MARGIN, y, width - MARGIN, y)
    y = _block(pdf, y - 2, "寄", [f"{label.sender_name}  {label.sender_phone}".strip(), label.sender_address], 9)
    pdf.line(MARGIN, y, width - MARGIN, y)
    weight = f"{label.weight_kg} kg" if label.weight_kg is not None else ""
    _block(pdf, y - 2, "单", [" ".join(label.orders), weight], 9)
    side = 28 * mm
    _qr(pdf, label.qr_data, width - MARGIN - side, MARGIN, side)


def _qr(pdf: canvas.Canvas, data: str, x: float, y: float, side: float) -> None:
    """A QR code of ``data`` as filled rectangles, one per run of dark modules in a row — drawn
    on the canvas directly: the graphics-widget route costs ~0.1 s a label."""
    code = qr.QrCodeWidget(data)
    code.qr.make()
    modules = code.qr.modules
    box = side / (len(modules) + 2 * QR_BORDER)
    pdf.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(modules):
        c = 0
        for dark, run in itertools.groupby(bool(m) for m in row):
            count = len(list(run))
            if dark:
                pdf.rect(x + (c + QR_BORDER) * box, y + side - (r + QR_BORDER + 1) * box, count * box, box,
                         stroke=0, fill=1)
            c += count


def render_labels(labels: Sequence[Label], *, compress: bool = True) -> bytes:
    """One PDF, one page per label, in the order given (``compress=False`` keeps the text
    streams readable, for tests that look inside)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=PAGE, pageCompression=1 if compress else 0, invariant=1)
    pdf.setTitle("shipping labels")
    for label in labels:
        _page(pdf, label)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
