"""The RMA label (100 × 150 mm, a courier label's size): stuck on the returning parcel so the
warehouse knows on arrival which return it is — the RMA number as a Code 128 barcode to scan,
the shop as the addressee, the customer (masked) as the sender, and what should be inside."""

from __future__ import annotations

from reportlab.graphics.barcode import code128
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from core import pii
from core.config import Letterhead
from core.documents import layout
from core.i18n import label, translate
from core.services.rma_views import RMADetail

PAGE = (100 * mm, 150 * mm)
MARGIN = 5 * mm


class _Barcode(Flowable):
    """A Code 128 barcode centred in the label's width, its value printed underneath."""

    def __init__(self, value: str, width: float, height: float = 16 * mm) -> None:
        super().__init__()
        self.value, self.width, self.height = value, width, height
        self._code = code128.Code128(value, barHeight=height - 4 * mm, humanReadable=True, fontSize=9)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self._code.drawOn(self.canv, max(0.0, (self.width - self._code.width) / 2), 4 * mm)


def render_rma_label(rma: RMADetail, letterhead: Letterhead, lang: str) -> bytes:
    """The return label of ``rma`` as a one-page PDF in ``lang``."""
    h = rma.header
    width = PAGE[0] - 2 * MARGIN
    number = str(h.get("number"))
    title = translate("rmalabel.title", lang)
    contents = [[ln.sku, ln.name, int(ln.qty)] for ln in rma.lines.itertuples(index=False)]
    story = [layout.text(f"{title} · {label('rma_kind', h.get('kind'), lang)}", 13, bold=True),
             _Barcode(number, width),
             layout.facts([(translate("rmalabel.to", lang), "\n".join(
                               p for p in (letterhead.name, letterhead.address, letterhead.phone) if p)),
                           (translate("rmalabel.from", lang), f"{h.get('customer') or ''} "
                                                              f"{pii.mask_phone(h.get('ship_phone')) or ''}"),
                           (translate("field.number", lang), h.get("order_number")),
                           (translate("field.rma_reason", lang), label("rma_reason", h.get("reason_code"), lang))],
                          width, columns=1),
             Spacer(1, 2 * mm),
             layout.lines_table([translate("field.sku", lang), translate("field.name", lang),
                                 translate("field.qty", lang)], contents, [width * 0.3, width * 0.55, width * 0.15],
                                numeric=(2,), size=8),
             layout.text(translate("rmalabel.note", lang), 7)]
    return layout.render(story, title=f"{title} {number}", pagesize=PAGE, margin=MARGIN)
