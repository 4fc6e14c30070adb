"""`gridbot qr`: the PNGs decode to each building's deep link; one PDF per community."""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.fonts import find_cjk_font
from bot.handlers.onboarding.deeplinks import PAYLOAD_RE, building_token
from bot.handlers.onboarding.qr import building_png, community_pdf, write_qr_codes
from storage.clock import ManualClock
from storage.demo import seed_demo
from storage.hierarchy import HierarchyRepo, Node, NodeKind

BOT = "gridbot_demo_bot"
LINK = f"https://t.me/{BOT}?start=b_AbCdEfGhIjKl"


def decode(data: bytes | Path) -> list[str]:
    image = Image.open(data if isinstance(data, Path) else io.BytesIO(data))
    return [r.text for r in zxingcpp.read_barcodes(image)]


async def buildings(session: AsyncSession) -> dict[str, Node]:
    rows = await session.execute(select(Node).where(Node.kind == NodeKind.BUILDING))
    return {n.code: n for n in rows.scalars()}


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
    for pdf in report.pdfs:
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
    assert sorted(p.name for p in out.iterdir()) == ["MP-NH-ZY", "MP-NH-ZY.pdf"]


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
    assert report.pngs and report.pdfs
    assert "no Chinese font" in caplog.text
    building = await HierarchyRepo(session).by_code(report.pngs[0].stem)
    assert building is not None
    assert decode(report.pngs[0]) == [f"https://t.me/{BOT}?start=b_{building.qr_token}"]
