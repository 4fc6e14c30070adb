"""Printable building QR codes (``gridbot qr``): one PNG per building to stick by the
entrance, and one A4 PDF sheet per community for the office printer.

Scanning a code opens the bot with ``/start b_<qr_token>``, which binds the resident to
that building."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import segno
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fonts import find_cjk_font
from bot.handlers.onboarding.deeplinks import building_link
from storage.hierarchy import HierarchyRepo, Node, NodeKind

log = logging.getLogger(__name__)


TAGLINE = "扫码绑定楼栋 · 网格通"
TITLE_SEPARATOR = " · "

# Error correction Q survives a quarter of the code being dirty or scratched (it hangs
# in stairwells); the quiet zone of 4 modules is what the QR standard asks for.
QR_ERROR = "q"
QR_BORDER = 4
PNG_MIN_WIDTH = 720  # ≈ 6 cm at 300 dpi

PDF_COLUMNS = 3
PDF_ROWS = 4
PDF_FONT = "STSong-Light"  # built into reportlab's CID support: no font file needed


@dataclass
class QrReport:
    pngs: list[Path] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)


# --- one building ------------------------------------------------------------------------


def _qr_image(link: str, min_width: int) -> Image.Image:
    qr = segno.make(link, error=QR_ERROR, micro=False, boost_error=False)
    modules = qr.symbol_size(border=QR_BORDER)[0]
    scale = max(1, -(-min_width // modules))  # whole pixels per module keep edges sharp
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=QR_BORDER)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def _load_font(font_path: str, size: int) -> ImageFont.FreeTypeFont | None:
    try:
        return ImageFont.truetype(font_path, size)
    except OSError as exc:
        log.warning("cannot load font %s (%s); QR labels are left out", font_path, exc)
        return None


def _fit_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: at " · " when possible (so a
    community, grid or building name stays whole), else between characters."""
    lines: list[str] = []
    current = ""
    for part in text.split(TITLE_SEPARATOR):
        candidate = part if not current else current + TITLE_SEPARATOR + part
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in part:
            if current and measure(current + char) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


def building_png(link: str, title: str, font_path: str | None) -> bytes:
    """The QR code of ``link`` with ``title`` and a tagline underneath, as PNG bytes.

    Without a usable font the label is left out: a bare code still binds residents."""
    code = _qr_image(link, PNG_MIN_WIDTH)
    width = code.width
    margin = width // 16
    title_font = _load_font(font_path, width // 16) if font_path else None
    if title_font is None:
        out = io.BytesIO()
        code.save(out, format="PNG", optimize=True)
        return out.getvalue()
    tag_font = _load_font(font_path, width // 26) if font_path else None
    scratch = ImageDraw.Draw(code)
    lines = _fit_lines(
        title, width - 2 * margin, lambda s: float(scratch.textlength(s, font=title_font))
    )
    title_h = int(title_font.size * 1.3)
    tag_h = int(tag_font.size * 1.6) if tag_font else 0
    canvas = Image.new("L", (width, code.height + title_h * len(lines) + tag_h + margin // 2), 255)
    canvas.paste(code, (0, 0))
    draw = ImageDraw.Draw(canvas)
    # Text starts below the full quiet zone: print in it and some phones fail to scan.
    y = code.height
    for line in lines:
        draw.text((width / 2, y), line, font=title_font, fill=0, anchor="ma")
        y += title_h
    if tag_font is not None:
        draw.text((width / 2, y + tag_h // 4), TAGLINE, font=tag_font, fill=96, anchor="ma")
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- one community sheet -----------------------------------------------------------------


def community_pdf(community_name: str, entries: Sequence[tuple[str, str]]) -> bytes:
    """An A4 sheet (several pages if needed) of ``(title, link)`` codes with their names,
    with light cut lines between them."""
    # reportlab is imported here: it is slow to import and only `gridbot qr` needs it.
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    out = io.BytesIO()
    # invariant=1: the same data gives the same bytes (no timestamps), easy to diff.
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1)
    pdf.setTitle(f"{community_name} 楼栋二维码")
    page_w, page_h = A4
    margin, header = 12 * mm, 14 * mm
    cell_w = (page_w - 2 * margin) / PDF_COLUMNS
    cell_h = (page_h - 2 * margin - header) / PDF_ROWS
    per_page = PDF_COLUMNS * PDF_ROWS
    pages = max(1, -(-len(entries) // per_page))
    for page in range(pages):
        pdf.setFont(PDF_FONT, 14)
        pdf.setFillGray(0)
        pdf.drawString(margin, page_h - margin - 6 * mm, f"{community_name} · 楼栋二维码")
        pdf.setFont(PDF_FONT, 9)
        pdf.drawRightString(
            page_w - margin, page_h - margin - 6 * mm, f"{TAGLINE}    {page + 1}/{pages}"
        )
        top = page_h - margin - header
        for slot, (title, link) in enumerate(entries[page * per_page : (page + 1) * per_page]):
            row, col = divmod(slot, PDF_COLUMNS)
            x, y = margin + col * cell_w, top - (row + 1) * cell_h
            _pdf_cell(pdf, x, y, cell_w, cell_h, title, link)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pdf_cell(pdf: Any, x: float, y: float, w: float, h: float, title: str, link: str) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pdf.setStrokeGray(0.8)
    pdf.setDash(2, 2)
    pdf.rect(x, y, w, h, stroke=1, fill=0)
    pdf.setDash()
    font_size, pad = 9.0, 6.0
    # Title lines first, so the code gets whatever height is left.
    lines = _fit_lines(title, w - 2 * pad, lambda s: float(stringWidth(s, PDF_FONT, font_size)))
    text_h = len(lines) * font_size * 1.3 + pad
    qr = segno.make(link, error=QR_ERROR, micro=False, boost_error=False)
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=QR_BORDER)]
    size = min(w - 2 * pad, h - 2 * pad - text_h)
    module = size / len(matrix)
    qx, qy = x + (w - size) / 2, y + h - pad - size
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
            rx, ry = qx + start * module, qy + size - (r + 1) * module
            pdf.rect(rx, ry, (c - start) * module, module, stroke=0, fill=1)
    pdf.setFont(PDF_FONT, font_size)
    ty = qy - font_size * 1.2
    for line in lines:
        pdf.drawCentredString(x + w / 2, ty, line)
        ty -= font_size * 1.3


# --- the command -------------------------------------------------------------------------

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{4,32}$")


@dataclass(frozen=True)
class _Sheet:
    code: str
    name: str
    buildings: list[tuple[str, str, str]]  # (building code, title, link)


async def write_qr_codes(
    session: AsyncSession,
    out_dir: Path,
    bot_username: str,
    *,
    community_code: str | None = None,
    font_path: str | None = None,
) -> QrReport:
    """Write ``<out>/<community>/<building>.png`` and ``<out>/<community>.pdf`` for every
    community (or only ``community_code``). Raises ValueError for an unknown community or
    a malformed bot username."""
    username = bot_username.strip().removeprefix("@")
    if not USERNAME_RE.match(username):
        raise ValueError(f"{bot_username!r} is not a Telegram bot username")
    sheets = await _collect(session, username, community_code)
    # Rendering is CPU work and file writes: keep them off the event loop.
    return await asyncio.to_thread(_render_all, out_dir, sheets, font_path)


async def _collect(
    session: AsyncSession, username: str, community_code: str | None
) -> list[_Sheet]:
    repo = HierarchyRepo(session)
    within: Node | None = None
    if community_code is not None:
        within = await repo.by_code(community_code)
        if within is None:
            raise ValueError(f"no community with code {community_code!r}")
        if within.kind != NodeKind.COMMUNITY:
            raise ValueError(f"{community_code!r} is a {within.kind}, not a community")
        communities = [within]
    else:
        communities = list(await repo.of_kind(NodeKind.COMMUNITY))
    grids = {g.id: g for g in await repo.of_kind(NodeKind.GRID, within)}
    stmt = select(Node).where(Node.kind == NodeKind.BUILDING)
    if within is not None:
        stmt = stmt.where(Node.path.startswith(within.path))
    buildings = (await session.execute(stmt)).scalars().all()

    by_community: dict[int, list[tuple[Node, Node]]] = {c.id: [] for c in communities}
    for building in buildings:
        grid = grids.get(building.parent_id or 0)
        if grid is None or grid.parent_id not in by_community:
            continue
        if not building.qr_token:
            log.warning("building %s has no QR token; skipped", building.code)
            continue
        by_community[grid.parent_id].append((grid, building))
    sheets: list[_Sheet] = []
    for community in sorted(communities, key=lambda c: _natural(c.code)):
        pairs = sorted(
            by_community[community.id], key=lambda p: (_natural(p[0].code), _natural(p[1].code))
        )
        entries = [
            (
                b.code,
                TITLE_SEPARATOR.join((community.name, g.name, b.name)),
                building_link(username, str(b.qr_token)),
            )
            for g, b in pairs
        ]
        sheets.append(_Sheet(community.code, community.name, entries))
    return sheets


def _natural(text: str) -> list[int | str]:
    # "B10" after "B9": split into alternating text and number runs.
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def _file_name(code: str) -> str:
    # Codes are checked on import, but nodes made elsewhere must not escape out_dir.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", code)
    return "_" + safe if set(safe) <= {"."} else safe


def _render_all(out_dir: Path, sheets: list[_Sheet], font_path: str | None) -> QrReport:
    report = QrReport()
    font = find_cjk_font(font_path)
    if font is None:
        log.warning(
            "no Chinese font found (set QR_FONT or install fonts-wqy-microhei); "
            "the PNG codes are written without their name labels"
        )
    for sheet in sheets:
        if not sheet.buildings:
            log.info("community %s has no buildings; no QR codes written", sheet.code)
            continue
        folder = out_dir / _file_name(sheet.code)
        folder.mkdir(parents=True, exist_ok=True)
        for code, title, link in sheet.buildings:
            path = folder / f"{_file_name(code)}.png"
            path.write_bytes(building_png(link, title, font))
            report.pngs.append(path)
        pdf_path = out_dir / f"{_file_name(sheet.code)}.pdf"
        pdf_path.write_bytes(
            community_pdf(sheet.name, [(t, link) for _, t, link in sheet.buildings])
        )
        report.pdfs.append(pdf_path)
    return report
