"""Printable building QR codes (``gridbot qr``): one PNG per building, and per community
an A4 PDF sheet of all its codes to cut out and a PDF of door posters (one page per
building, see ``posters``) for the office printer.

Scanning a code opens the bot with ``/start b_<qr_token>``, which binds the resident to
that building."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fonts import find_cjk_font
from bot.handlers.onboarding.deeplinks import building_link
from bot.handlers.onboarding.pdf import (
    MM,
    QR_BORDER,
    PdfFont,
    draw_qr,
    load_pdf_font,
    new_canvas,
    qr_symbol,
    warn_missing_glyphs,
)
from bot.handlers.onboarding.posters import (
    DEFAULT_POSTER_SIZE,
    POSTER_SIZES,
    Poster,
    posters_pdf,
)
from bot.handlers.onboarding.text_fit import TITLE_SEPARATOR, fit_lines
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.staff.profiles import ProfileRepo, PublicContact

log = logging.getLogger(__name__)


TAGLINE = "扫码绑定楼栋 · 网格通"
PNG_MIN_WIDTH = 720  # ≈ 6 cm at 300 dpi

PDF_COLUMNS = 3
PDF_ROWS = 4


@dataclass
class QrReport:
    pngs: list[Path] = field(default_factory=list)
    pdfs: list[Path] = field(default_factory=list)  # the cut-out sheets
    posters: list[Path] = field(default_factory=list)  # the door posters


# --- one building ------------------------------------------------------------------------


def _qr_image(link: str, min_width: int) -> Image.Image:
    qr = qr_symbol(link)
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
    lines = fit_lines(
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


def community_pdf(
    community_name: str, entries: Sequence[tuple[str, str]], font: PdfFont | None = None
) -> bytes:
    """An A4 sheet (several pages if needed) of ``(title, link)`` codes with their names,
    with light cut lines between them. ``font`` defaults to ``load_pdf_font()``."""
    # reportlab is imported here: it is slow to import and only `gridbot qr` needs it.
    from reportlab.lib.pagesizes import A4

    font = font or load_pdf_font()
    heading = f"{community_name}{TITLE_SEPARATOR}楼栋二维码"
    warn_missing_glyphs(font, [heading, TAGLINE, *(t for t, _ in entries)], heading)
    out = io.BytesIO()
    pdf = new_canvas(out, A4, font, heading)
    page_w, page_h = A4
    margin, header = 12 * MM, 14 * MM
    cell_w = (page_w - 2 * margin) / PDF_COLUMNS
    cell_h = (page_h - 2 * margin - header) / PDF_ROWS
    per_page = PDF_COLUMNS * PDF_ROWS
    pages = max(1, -(-len(entries) // per_page))
    for page in range(pages):
        pdf.setFont(font.name, 14)
        pdf.setFillGray(0)
        pdf.drawString(margin, page_h - margin - 6 * MM, heading)
        pdf.setFont(font.name, 9)
        pdf.drawRightString(
            page_w - margin, page_h - margin - 6 * MM, f"{TAGLINE}    {page + 1}/{pages}"
        )
        top = page_h - margin - header
        for slot, (title, link) in enumerate(entries[page * per_page : (page + 1) * per_page]):
            row, col = divmod(slot, PDF_COLUMNS)
            x, y = margin + col * cell_w, top - (row + 1) * cell_h
            _pdf_cell(pdf, font, x, y, cell_w, cell_h, title, link)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pdf_cell(
    pdf: Any, font: PdfFont, x: float, y: float, w: float, h: float, title: str, link: str
) -> None:
    pdf.setStrokeGray(0.8)
    pdf.setDash(2, 2)
    pdf.rect(x, y, w, h, stroke=1, fill=0)
    pdf.setDash()
    font_size, pad = 9.0, 6.0
    # Title lines first, so the code gets whatever height is left.
    lines = fit_lines(title, w - 2 * pad, lambda s: font.width(s, font_size))
    text_h = len(lines) * font_size * 1.3 + pad
    size = min(w - 2 * pad, h - 2 * pad - text_h)
    qx, qy = x + (w - size) / 2, y + h - pad - size
    draw_qr(pdf, link, qx, qy, size)
    pdf.setFont(font.name, font_size)
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
    buildings: list[tuple[str, Poster]]  # (building code, its poster)


async def write_qr_codes(
    session: AsyncSession,
    out_dir: Path,
    bot_username: str,
    *,
    community_code: str | None = None,
    font_path: str | None = None,
    poster_size: str = DEFAULT_POSTER_SIZE,
) -> QrReport:
    """Write ``<out>/<community>/<building>.png``, the sheet ``<out>/<community>.pdf`` and
    the door posters ``<out>/<community>-posters.pdf`` (``poster_size``: A4 or A5) for
    every community (or only ``community_code``). Raises ValueError for an unknown
    community or poster size, or a malformed bot username."""
    username = bot_username.strip().removeprefix("@")
    if not USERNAME_RE.match(username):
        raise ValueError(f"{bot_username!r} is not a Telegram bot username")
    if poster_size not in POSTER_SIZES:
        raise ValueError(f"poster size {poster_size!r} is not one of {', '.join(POSTER_SIZES)}")
    sheets = await _collect(session, username, community_code)
    # Rendering is CPU work and file writes: keep them off the event loop.
    return await asyncio.to_thread(_render_all, out_dir, sheets, font_path, poster_size)


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
    # Only the workers who chose to be public; the query leaves the others out.
    workers = await ProfileRepo(session).grid_contacts(grids.keys())
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
            (b.code, _poster(username, community, g, b, workers.get(g.id, []))) for g, b in pairs
        ]
        sheets.append(_Sheet(community.code, community.name, entries))
    return sheets


def _poster(
    username: str, community: Node, grid: Node, building: Node, workers: list[PublicContact]
) -> Poster:
    return Poster(
        place=TITLE_SEPARATOR.join((community.name, grid.name)),
        building=building.name,
        link=building_link(username, str(building.qr_token)),
        workers=tuple(workers),
    )


def _natural(text: str) -> list[int | str]:
    # "B10" after "B9": split into alternating text and number runs.
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def _file_name(code: str) -> str:
    # Codes are checked on import, but nodes made elsewhere must not escape out_dir.
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", code)
    return "_" + safe if set(safe) <= {"."} else safe


def _render_all(
    out_dir: Path, sheets: list[_Sheet], font_path: str | None, poster_size: str
) -> QrReport:
    report = QrReport()
    font = find_cjk_font(font_path)
    if font is None:
        log.warning(
            "no Chinese font found (set QR_FONT or install fonts-wqy-microhei); "
            "the PNG codes are written without their name labels"
        )
    pdf_font = load_pdf_font(font)  # the same font, unless reportlab cannot embed it
    for sheet in sheets:
        if not sheet.buildings:
            log.info("community %s has no buildings; no QR codes written", sheet.code)
            continue
        folder = out_dir / _file_name(sheet.code)
        folder.mkdir(parents=True, exist_ok=True)
        for code, poster in sheet.buildings:
            path = folder / f"{_file_name(code)}.png"
            path.write_bytes(building_png(poster.link, poster.title, font))
            report.pngs.append(path)
        entries = [(poster.title, poster.link) for _, poster in sheet.buildings]
        pdf_path = out_dir / f"{_file_name(sheet.code)}.pdf"
        pdf_path.write_bytes(community_pdf(sheet.name, entries, pdf_font))
        report.pdfs.append(pdf_path)
        posters = [poster for _, poster in sheet.buildings]
        posters_path = out_dir / f"{_file_name(sheet.code)}-posters.pdf"
        posters_path.write_bytes(posters_pdf(sheet.name, posters, poster_size, pdf_font))
        report.posters.append(posters_path)
    return report
