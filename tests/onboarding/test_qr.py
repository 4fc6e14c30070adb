"""`gridbot qr`: the PNGs decode to each building's deep link; one PDF sheet per
community, whose font is embedded so that poppler (a viewer, a printer) draws every
character. The posters are in test_posters.py; the poppler helpers here serve both."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fonts import find_cjk_font
from bot.handlers.onboarding.deeplinks import PAYLOAD_RE, building_token
from bot.handlers.onboarding.pdf import load_pdf_font
from bot.handlers.onboarding.qr import building_png, community_pdf, write_qr_codes
from storage.clock import ManualClock
from storage.demo import seed_demo
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from tests.factories import build_tree
from tests.system import cjk_font, poppler

BOT = "gridbot_demo_bot"
LINK = f"https://t.me/{BOT}?start=b_AbCdEfGhIjKl"


def decode(data: bytes | Path) -> list[str]:
    image = Image.open(data if isinstance(data, Path) else io.BytesIO(data))
    return [r.text for r in zxingcpp.read_barcodes(image)]


async def buildings(session: AsyncSession) -> dict[str, Node]:
    rows = await session.execute(select(Node).where(Node.kind == NodeKind.BUILDING))
    return {n.code: n for n in rows.scalars()}


# --- reading PDFs back with poppler (skipped on a bare machine, failing on CI) -----------


def _run(*args: str | Path) -> str:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def pdf_fonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts' table: one row per font, by column name (name, type, emb, ...)."""
    header, rule, *rows = _run(poppler("pdffonts"), pdf).splitlines()
    # Fixed-width columns: the rule under the header gives their spans.
    spans = [m.span() for m in re.finditer(r"-+", rule)]
    names = [header[a:b].strip() for a, b in spans]
    return [{n: row[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)} for row in rows]


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return _run(poppler("pdftotext"), *pages, pdf, "-")


def pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    """The size of every page in points."""
    out = _run(poppler("pdfinfo"), "-f", "1", "-l", "9999", pdf)
    return [
        (float(w), float(h))
        for w, h in re.findall(r"^Page +\d+ size: +([\d.]+) x ([\d.]+) pts", out, re.M)
    ]


def render(pdf: Path, out_dir: Path, page: int = 1) -> Image.Image:
    """The page as poppler draws it at 100 dpi, in grey."""
    prefix = out_dir / f"{pdf.stem}-page{page}"
    pages = ("-f", str(page), "-l", str(page))
    _run(poppler("pdftoppm"), "-r", "100", "-png", *pages, "-singlefile", pdf, prefix)
    with Image.open(prefix.with_suffix(".png")) as image:
        return image.convert("L")


def assert_fonts_embedded(pdf: Path) -> None:
    fonts = pdf_fonts(pdf)
    assert fonts, "no fonts at all"
    unembedded = [f["name"] for f in fonts if f["emb"] != "yes"]
    assert unembedded == [], f"fonts left to the viewer: {unembedded}"


async def test_every_png_decodes_to_its_building_link(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await seed_demo(session, clock.now())
    await session.commit()
    by_code = await buildings(session)
    repo = HierarchyRepo(session)

    out = tmp_path / "qr"

    report = await write_qr_codes(session, out, f"@{BOT}")

    assert len(report.pngs) == len(by_code)
    for png in report.pngs:
        building = by_code[png.stem]
        community = (await repo.chain(building))[NodeKind.COMMUNITY]
        assert png == out / community.code / f"{building.code}.png"
        with Image.open(png) as image:
            assert image.width >= 600
        (text,) = decode(png)
        assert text == f"https://t.me/{BOT}?start=b_{building.qr_token}"
        payload = text.split("?start=", 1)[1]
        assert len(payload) <= 64 and PAYLOAD_RE.fullmatch(payload)
        token = building_token(payload)
        assert token is not None
        assert await repo.by_qr_token(token) == building

    communities = await repo.of_kind(NodeKind.COMMUNITY)
    assert sorted(report.pdfs) == sorted(out / f"{c.code}.pdf" for c in communities)
    assert sorted(report.posters) == sorted(out / f"{c.code}-posters.pdf" for c in communities)
    for pdf in report.pdfs + report.posters:
        assert pdf.read_bytes().startswith(b"%PDF")


async def test_one_community_only(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await seed_demo(session, clock.now())
    await session.commit()
    community = await HierarchyRepo(session).by_code("MP-NH-ZY")
    assert community is not None
    inside = await HierarchyRepo(session).of_kind(NodeKind.BUILDING, within=community)

    out = tmp_path / "qr"  # tmp_path also holds the SQLite test database

    report = await write_qr_codes(session, out, BOT, community_code="MP-NH-ZY")

    assert sorted(p.stem for p in report.pngs) == sorted(b.code for b in inside)
    assert report.pdfs == [out / "MP-NH-ZY.pdf"]
    assert report.posters == [out / "MP-NH-ZY-posters.pdf"]
    assert sorted(p.name for p in out.iterdir()) == [
        "MP-NH-ZY",
        "MP-NH-ZY-posters.pdf",
        "MP-NH-ZY.pdf",
    ]


async def test_unknown_community_raises(
    session: AsyncSession, clock: ManualClock, tmp_path: Path
) -> None:
    await seed_demo(session, clock.now())
    out = tmp_path / "qr"
    with pytest.raises(ValueError, match="NOPE"):
        await write_qr_codes(session, out, BOT, community_code="NOPE")
    with pytest.raises(ValueError, match="not a community"):
        await write_qr_codes(session, out, BOT, community_code="MP-NH")
    with pytest.raises(ValueError, match="username"):
        await write_qr_codes(session, out, "not a name")
    with pytest.raises(ValueError, match="poster size"):
        await write_qr_codes(session, out, BOT, poster_size="A3")
    assert not out.exists()


def test_png_with_and_without_font(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    font = find_cjk_font()
    if font is None:
        # CI installs the font (.ci/run), so there a missing font is a failure.
        if os.environ.get("CI"):
            pytest.fail("no CJK font installed (apt-get install fonts-wqy-microhei)")
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    labelled = building_png(LINK, "通海社区 · 第一网格 · 1号楼", font)
    bare = building_png(LINK, "通海社区 · 第一网格 · 1号楼", None)
    assert decode(labelled) == decode(bare) == [LINK]
    with Image.open(io.BytesIO(labelled)) as a, Image.open(io.BytesIO(bare)) as b:
        assert a.width == b.width >= 600
        assert a.height > b.height  # the label sits under the code

    # A font path that cannot be loaded: still a code, and a warning instead of a crash.
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    with caplog.at_level(logging.WARNING, logger="bot.fonts"):
        png = building_png(LINK, "1号楼", str(broken))
    assert decode(png) == [LINK]
    assert "font" in caplog.text


def test_find_cjk_font_prefers_the_explicit_path(tmp_path: Path) -> None:
    font = tmp_path / "mine.ttf"
    font.write_bytes(b"")
    assert find_cjk_font(str(font)) == str(font)
    assert find_cjk_font(str(tmp_path / "missing.ttf")) != str(tmp_path / "missing.ttf")


def test_pdf_holds_every_entry() -> None:
    entries = [(f"通海社区 · 第一网格 · {i}号楼", f"{LINK}{i}") for i in range(1, 15)]
    pdf = community_pdf("通海社区", entries)
    assert pdf.startswith(b"%PDF")
    # 12 codes a page: 14 entries need two pages.
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 2
    assert community_pdf("通海社区", entries) == pdf  # reproducible: no timestamps


async def test_no_font_still_writes_codes(
    session: AsyncSession,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_demo(session, clock.now())
    monkeypatch.setattr("bot.handlers.onboarding.qr.find_cjk_font", lambda explicit=None: None)
    with caplog.at_level(logging.WARNING, logger="bot.fonts"):
        report = await write_qr_codes(session, tmp_path / "qr", BOT, community_code="MP-NH-TH")
    assert report.pngs and report.pdfs and report.posters
    assert "no Chinese font" in caplog.text
    building = await HierarchyRepo(session).by_code(report.pngs[0].stem)
    assert building is not None
    assert decode(report.pngs[0]) == [f"https://t.me/{BOT}?start=b_{building.qr_token}"]


async def test_pdf_sheet_embeds_its_font_and_prints_every_character(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The sheet named reportlab's STSong-Light without embedding it: poppler drew the
    # "·" of "通海社区 · 楼栋二维码" as a missing glyph.
    cjk_font()
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        report = await write_qr_codes(
            session, tmp_path / "qr", BOT, community_code=tree.community.code
        )
        links = {
            f"https://t.me/{BOT}?start=b_{b.qr_token}"
            for b in (await buildings(session)).values()
            if b.code.startswith(tree.community.code + "-")
        }
    (sheet,) = report.pdfs

    assert_fonts_embedded(sheet)
    text = pdf_text(sheet, page=1)
    assert "\ufffd" not in text
    assert "通海社区 · 楼栋二维码" in text
    assert "扫码绑定楼栋 · 网格通" in text
    for title in ("通海社区 · 第一网格 · 1号楼", "通海社区 · 第一网格 · 2号楼"):
        assert title in text
    assert "通海社区 · 第二网格 · 3号楼" in text
    assert "no glyph" not in caplog.text

    page = render(sheet, tmp_path)
    heading = page.crop((0, 0, page.width, page.height // 10))
    assert heading.getextrema()[0] < 100  # the heading is drawn, not a blank band
    found = {r.text for r in zxingcpp.read_barcodes(page)}
    assert found == links


def test_a_character_the_font_lacks_is_named_in_a_warning(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    cjk_font()
    lacking = "\U0010fffd"  # private use: no Chinese font draws it
    with caplog.at_level(logging.WARNING):
        pdf = community_pdf("通海社区", [(f"1号楼{lacking}", LINK)], load_pdf_font())
    assert pdf.startswith(b"%PDF")
    assert "no glyph" in caplog.text and lacking in caplog.text


def test_a_font_reportlab_cannot_embed_is_passed_over(tmp_path: Path) -> None:
    cjk_font()
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    font = load_pdf_font(str(broken))
    assert font.embedded and font.path != str(broken)
    assert ord("·") in font.glyphs and ord("楼") in font.glyphs


def test_without_an_embeddable_font_the_sheet_still_comes_out(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(
        "bot.handlers.onboarding.pdf.cjk_font_candidates", lambda explicit=None: iter(())
    )
    with caplog.at_level(logging.WARNING):
        font = load_pdf_font()
        pdf = community_pdf("通海社区", [("通海社区 · 第一网格 · 1号楼", LINK)], font)
    assert not font.embedded
    assert pdf.startswith(b"%PDF")
    assert "no Chinese TrueType font" in caplog.text
