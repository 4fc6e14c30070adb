"""What the printable PDFs (the cut-out sheet, the door posters) share: the QR symbol, drawn
as vector squares, and a Chinese font embedded in the file.

Embedding matters: a font the PDF only names (reportlab's built-in CID fonts) is
supplied by the viewer or printer, which may lack some glyphs ("·" came out as "�")."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import segno

from bot.fonts import cjk_font_candidates

log = logging.getLogger(__name__)

# Error correction Q survives a quarter of the code being dirty or scratched (it hangs
# in stairwells); the quiet zone of 4 modules is what the QR standard asks for.
QR_ERROR = "q"
QR_BORDER = 4

MM = 72 / 25.4  # PDF points per millimetre
CID_FALLBACK = "STSong-Light"  # built into reportlab, but left to the viewer to draw


@lru_cache(maxsize=4096)
def qr_symbol(link: str) -> segno.QRCode:
    # Cached: encoding is pure Python, and each code goes on a PNG, a sheet and a poster.
    return segno.make(link, error=QR_ERROR, micro=False, boost_error=False)


@dataclass(frozen=True)
class PdfFont:
    """A font registered with reportlab under ``name``."""

    name: str
    path: str | None  # None: the CID fallback, not embedded
    glyphs: frozenset[int]  # the code points the embedded font can draw

    @property
    def embedded(self) -> bool:
        return self.path is not None

    def width(self, text: str, size: float) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return float(stringWidth(text, self.name, size))

    def missing(self, texts: Iterable[str]) -> str:
        """The characters of ``texts`` this font has no glyph for, sorted."""
        if not self.embedded:
            return ""  # unknown: the viewer decides
        return "".join(sorted({c for t in texts for c in t if ord(c) not in self.glyphs}))


def load_pdf_font(explicit: str | None = None) -> PdfFont:
    """The first Chinese font reportlab can embed (``explicit`` first), else the CID
    fallback, with a warning."""
    for path in cjk_font_candidates(explicit):
        font = _embeddable(path)
        if font is not None:
            return font
    log.warning(
        "no Chinese TrueType font to embed in the PDFs (set QR_FONT or install "
        "fonts-wqy-microhei); they name %s instead, and some viewers print characters "
        "such as '·' as boxes",
        CID_FALLBACK,
    )
    return _cid_fallback()


@cache
def _embeddable(path: str) -> PdfFont | None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = "GridbotCJK-" + hashlib.sha1(path.encode()).hexdigest()[:10]
    try:
        # subfontIndex 0: the first face of a .ttc collection (wqy-microhei, msyh).
        font = TTFont(name, path, subfontIndex=0)
    except Exception as exc:  # a file reportlab cannot read raises anything
        # Noto Sans CJK, for one, has CFF outlines, which reportlab cannot embed.
        log.info("cannot embed font %s in PDFs (%s); trying the next one", path, exc)
        return None
    pdfmetrics.registerFont(font)
    return PdfFont(name, path, frozenset(font.face.charToGlyph))


@cache
def _cid_fallback() -> PdfFont:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return PdfFont(CID_FALLBACK, None, frozenset())


def warn_missing_glyphs(font: PdfFont, texts: Iterable[str], document: str) -> None:
    missing = font.missing(texts)
    if missing:
        log.warning(
            "%s: the font %s has no glyph for %s; they print as empty boxes "
            "(set QR_FONT to a font that has them)",
            document,
            font.path,
            " ".join(missing),
        )


def new_canvas(out: Any, pagesize: tuple[float, float], font: PdfFont, title: str) -> Any:
    """A reportlab canvas whose only font is ``font``: the default Helvetica would be
    one more font the PDF names without embedding."""
    from reportlab.pdfgen import canvas

    # invariant=1: the same data gives the same bytes (no timestamps), easy to diff.
    pdf = canvas.Canvas(out, pagesize=pagesize, invariant=1, initialFontName=font.name)
    pdf.setTitle(title)
    return pdf


def draw_qr(pdf: Any, link: str, x: float, y: float, size: float) -> None:
    """The code of ``link`` as a ``size`` square (quiet zone included) with its lower left
    corner at ``x``, ``y``."""
    matrix = [list(row) for row in qr_symbol(link).matrix_iter(scale=1, border=QR_BORDER)]
    module = size / len(matrix)
    pdf.setFillGray(0)
    # Vector modules, each row's dark runs merged: sharp at any print size, small file.
    for r, bits in enumerate(matrix):
        c = 0
        while c < len(bits):
            if not bits[c]:
                c += 1
                continue
            start = c
            while c < len(bits) and bits[c]:
                c += 1
            rx, ry = x + start * module, y + size - (r + 1) * module
            pdf.rect(rx, ry, (c - start) * module, module, stroke=0, fill=1)
