"""Door posters (楼栋公示牌): one A5 or A4 page per building for the grid worker to stick by
its entrance: the building's full name, its QR code large, what scanning does, and the
grid's workers who chose to show their name and work phone (``ProfileRepo.grid_contacts``
only returns those).

Nothing is cut: a long name wraps, then shrinks; the code gets the height that is left."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.handlers.onboarding.pdf import (
    MM,
    PdfFont,
    draw_qr,
    load_pdf_font,
    new_canvas,
    warn_missing_glyphs,
)
from bot.handlers.onboarding.text_fit import TITLE_SEPARATOR, FittedText, shrink_to_fit
from storage.staff.profiles import PublicContact

log = logging.getLogger(__name__)

SCAN_LINE = "扫码：反映问题 · 一键呼叫 · 接收通知"
POSTER_SIZES: dict[str, tuple[float, float]] = {
    "A5": (148 * MM, 210 * MM),
    "A4": (210 * MM, 297 * MM),
}
DEFAULT_POSTER_SIZE = "A5"

# Sizes are for A5 and grow with the page. Text shrinks (all blocks together) until the
# code is at least QR_SHARE of the text width; below QR_SMALLEST it may not scan from
# a step away, and the poster says so in the log.
FRAME_INSET = 7 * MM
MARGIN = 14 * MM
GAP = 5 * MM
QR_SHARE = 0.6
QR_SMALLEST = 35 * MM
TEXT_SCALES = (1.0, 0.85, 0.7, 0.55, 0.4)
BOLD_STROKE = 0.03  # of the font size: one embedded regular font, drawn a little bolder


@dataclass(frozen=True)
class Poster:
    place: str  # community · grid
    building: str
    link: str
    workers: tuple[PublicContact, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.place}{TITLE_SEPARATOR}{self.building}"


def worker_line(worker: PublicContact) -> str:
    line = f"网格员：{worker.name}"
    return f"{line}{TITLE_SEPARATOR}电话：{worker.phone}" if worker.phone else line


def posters_pdf(
    community_name: str,
    posters: Sequence[Poster],
    size: str = DEFAULT_POSTER_SIZE,
    font: PdfFont | None = None,
) -> bytes:
    """One page of ``size`` (a key of POSTER_SIZES) per poster. ``font`` defaults to
    ``load_pdf_font()``."""
    font = font or load_pdf_font()
    page = POSTER_SIZES[size]
    title = f"{community_name}{TITLE_SEPARATOR}楼栋公示牌"
    texts = [SCAN_LINE, *(t for p in posters for t in (p.title, *map(worker_line, p.workers)))]
    warn_missing_glyphs(font, texts, title)
    out = io.BytesIO()
    pdf = new_canvas(out, page, font, title)
    for poster in posters:
        _draw_poster(pdf, font, page, poster)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


@dataclass(frozen=True)
class _Layout:
    place: FittedText
    building: FittedText
    scan: FittedText
    workers: tuple[FittedText, ...]
    qr: float

    @property
    def workers_height(self) -> float:
        return sum(w.height for w in self.workers)


def _layout(poster: Poster, font: PdfFont, width: float, height: float, k: float) -> _Layout:
    """The largest text (up to the A5 sizes times ``k``) that leaves the code its share."""
    layout: _Layout | None = None
    for scale in TEXT_SCALES:
        layout = _layout_at(poster, font, width, height, k, scale)
        if layout.qr >= QR_SHARE * width:
            break
    assert layout is not None
    if layout.qr < QR_SMALLEST * k:
        log.warning(
            "poster of %s: the text leaves the QR code only %.0f mm wide",
            poster.title,
            max(layout.qr, 0) / MM,
        )
    return layout


def _layout_at(
    poster: Poster, font: PdfFont, width: float, height: float, k: float, scale: float
) -> _Layout:
    def fit(text: str, largest: float, smallest: float, bold: bool = False) -> FittedText:
        return shrink_to_fit(
            text,
            width,
            lambda t, size: font.width(t, size) + (2 * BOLD_STROKE * size if bold else 0),
            largest=largest * k * scale,
            smallest=min(smallest, largest * scale) * k,
            max_lines=2,
        )

    place = fit(poster.place, 18, 9)
    building = fit(poster.building, 40, 12, bold=True)
    scan = fit(SCAN_LINE, 18, 9)
    workers = tuple(fit(worker_line(w), 16, 8) for w in poster.workers)
    text_h = place.height + building.height + scan.height + sum(w.height for w in workers)
    gaps = (3 if workers else 2) * GAP * k
    return _Layout(place, building, scan, workers, min(width, height - text_h - gaps))


def _draw_poster(pdf: Any, font: PdfFont, page: tuple[float, float], poster: Poster) -> None:
    page_w, page_h = page
    k = page_w / POSTER_SIZES["A5"][0]
    margin = MARGIN * k
    width, height = page_w - 2 * margin, page_h - 2 * margin
    layout = _layout(poster, font, width, height, k)

    inset = FRAME_INSET * k
    pdf.setStrokeGray(0.55)
    pdf.setLineWidth(1.2 * k)
    pdf.roundRect(inset, inset, page_w - 2 * inset, page_h - 2 * inset, 4 * MM * k)

    centre = page_w / 2
    y = page_h - margin
    y = _draw_text(pdf, font, centre, y, layout.place, gray=0.3)
    y = _draw_text(pdf, font, centre, y, layout.building, gray=0, bold=True)
    # The workers sit at the bottom; the code and the scanning line share what is between.
    workers_top = margin + layout.workers_height
    bottom = workers_top + (GAP * k if layout.workers else 0)
    block = max(layout.qr, 0) + GAP * k / 2 + layout.scan.height
    qr_top = y - (y - bottom - block) / 2
    if layout.qr > 0:
        draw_qr(pdf, poster.link, centre - layout.qr / 2, qr_top - layout.qr, layout.qr)
    _draw_text(pdf, font, centre, qr_top - layout.qr - GAP * k / 2, layout.scan, gray=0.15)
    if layout.workers:
        pdf.setStrokeGray(0.7)
        pdf.setLineWidth(0.6 * k)
        rule_y = workers_top + GAP * k / 2
        pdf.line(margin, rule_y, page_w - margin, rule_y)
        y = workers_top
        for worker in layout.workers:
            y = _draw_text(pdf, font, centre, y, worker, gray=0)


def _draw_text(
    pdf: Any,
    font: PdfFont,
    centre: float,
    top: float,
    text: FittedText,
    *,
    gray: float,
    bold: bool = False,
) -> float:
    """``text`` centred under ``top``; returns where the next block starts."""
    pdf.setFont(font.name, text.size)
    pdf.setFillGray(gray)
    pdf.setStrokeGray(gray)
    pdf.setLineWidth(BOLD_STROKE * text.size)
    baseline = top - text.size
    for line in text.lines:
        # Mode 2 fills and strokes the glyphs: bolder, and still plain text to copy.
        pdf.drawCentredString(centre, baseline, line, mode=2 if bold else 0)
        baseline -= text.leading
    return top - text.height
