"""Door posters (楼栋公示牌): one page per building with its name, its code, what scanning
does, and the grid workers who chose to show their name and phone; nothing cut."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import build_parser
from bot.handlers.onboarding.pdf import MM
from bot.handlers.onboarding.posters import SCAN_LINE, Poster, posters_pdf
from bot.handlers.onboarding.qr import write_qr_codes
from storage.clock import ManualClock
from storage.hierarchy import Node
from storage.roles import Role, StaffRepo
from storage.staff.profiles import ProfileRepo, PublicContact
from storage.users import User
from tests.factories import Tree, build_tree
from tests.onboarding.test_qr import (
    assert_fonts_embedded,
    pdf_pages,
    pdf_text,
    render,
)
from tests.system import cjk_font, poppler

BOT = "gridbot_demo_bot"
A5 = (148 * MM, 210 * MM)
A4 = (210 * MM, 297 * MM)

SHOWN_PHONE = "0535-6612345"
HIDDEN_PHONE = "13900000002"


async def add_worker(
    session: AsyncSession,
    clock: ManualClock,
    grid: Node,
    user_id: int,
    name: str,
    *,
    phone: str | None,
    public: bool,
) -> None:
    now = clock.now()
    session.add(User(id=user_id, first_name=name, created_at=now, last_seen_at=now))
    await session.flush()
    await StaffRepo(session).grant(
        user_id=user_id, role=Role.WORKER, node=grid, granted_by=None, now=now
    )
    await ProfileRepo(session).update(user_id, now, work_phone=phone, public=public)


async def tree_with_workers(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> Tree:
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        # Grid 1: one worker shows name and phone, one shows her name but has no phone.
        await add_worker(session, clock, tree.grid, 3001, "赵丽娟", phone=SHOWN_PHONE, public=True)
        await add_worker(session, clock, tree.grid, 3002, "钱小红", phone=None, public=True)
        # Grid 2: the worker keeps her name and phone to herself.
        await add_worker(
            session, clock, tree.grid2, 3003, "孙海涛", phone=HIDDEN_PHONE, public=False
        )
        await session.commit()
    return tree


def approx_size(size: tuple[float, float], expected: tuple[float, float]) -> bool:
    return all(abs(a - b) < 1 for a, b in zip(size, expected, strict=True))


async def test_one_poster_per_building_with_the_public_workers_only(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tmp_path: Path
) -> None:
    cjk_font()
    tree = await tree_with_workers(sessionmaker, clock)
    out = tmp_path / "qr"
    async with sessionmaker() as session:
        report = await write_qr_codes(session, out, BOT, community_code=tree.community.code)
    first_link = f"https://t.me/{BOT}?start=b_{tree.building.qr_token}"

    assert report.posters == [out / "D-S-C1-posters.pdf"]
    (posters,) = report.posters
    pages = pdf_pages(posters)
    assert len(pages) == 3  # 1号楼 and 2号楼 in grid 1, 3号楼 in grid 2
    assert all(approx_size(size, A5) for size in pages), pages
    assert_fonts_embedded(posters)

    texts = [pdf_text(posters, page) for page in (1, 2, 3)]
    for text, grid, building in zip(
        texts, ("第一网格", "第一网格", "第二网格"), ("1号楼", "2号楼", "3号楼"), strict=True
    ):
        assert f"通海社区 · {grid}" in text
        assert building in text
        assert SCAN_LINE in text
        assert "\ufffd" not in text
    for text in texts[:2]:
        assert f"网格员：赵丽娟 · 电话：{SHOWN_PHONE}" in text
        assert "网格员：钱小红" in text and "钱小红 · 电话" not in text
    assert "赵丽娟" not in texts[2] and "钱小红" not in texts[2]  # another grid's workers
    whole = pdf_text(posters)
    assert HIDDEN_PHONE not in whole and "孙海涛" not in whole

    page = render(posters, tmp_path, page=1)
    assert [r.text for r in zxingcpp.read_barcodes(page)] == [first_link]


async def test_a4_posters(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tmp_path: Path
) -> None:
    cjk_font()
    tree = await build_tree(sessionmaker, clock)
    async with sessionmaker() as session:
        report = await write_qr_codes(
            session,
            tmp_path / "qr",
            BOT,
            community_code=tree.other_community.code,
            poster_size="A4",
        )
    (posters,) = report.posters
    pages = pdf_pages(posters)
    assert len(pages) == 1 and approx_size(pages[0], A4)
    text = pdf_text(posters)
    assert "正阳社区 · 第一网格" in text and "8号楼" in text and SCAN_LINE in text
    assert "网格员" not in text  # nobody in that grid chose to be shown


def test_the_poster_size_option() -> None:
    parser = build_parser()
    assert parser.parse_args(["qr"]).poster_size == "A5"
    assert parser.parse_args(["qr", "--poster-size", "A4"]).poster_size == "A4"
    with pytest.raises(SystemExit):
        parser.parse_args(["qr", "--poster-size", "A3"])


def test_long_names_wrap_and_shrink_but_are_never_cut(tmp_path: Path) -> None:
    cjk_font()
    place = "烟台市牟平区宁海街道通海路社区居民委员会 · 第十二网格（东区老旧小区改造片区）"
    building = "通海路东段滨海花园小区二期北侧临街商住两用楼第十七号楼三单元及四单元" * 2
    worker = PublicContact(1, "欧阳娜娜娜娜娜娜娜娜", "0535-6612345 转 8001 或 13800000000")
    link = f"https://t.me/{BOT}?start=b_AbCdEfGhIjKl"
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(posters_pdf("通海社区", [Poster(place, building, link, (worker,))]))

    # Every character is there, in order: lines break at " · " (which a line break
    # replaces) or anywhere in a name (so spaces are dropped before comparing).
    text = re.sub(r"\s", "", pdf_text(pdf))
    for part in (*place.split(" · "), building, SCAN_LINE, worker.name, worker.phone or ""):
        assert re.sub(r"\s", "", part) in text
    # ...and inside the poster's frame.
    width, height = A5
    inset = 7 * MM
    for x_min, y_min, x_max, y_max in word_boxes(pdf):
        assert inset <= x_min and x_max <= width - inset
        assert inset <= y_min and y_max <= height - inset
    page = render(pdf, tmp_path)
    assert [r.text for r in zxingcpp.read_barcodes(page)] == [link]


def word_boxes(pdf: Path) -> list[tuple[float, float, float, float]]:
    """The box of every word pdftotext finds, in points from the top left corner."""
    html = subprocess.run(
        [poppler("pdftotext"), "-bbox", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    number = r'="([\d.]+)"'
    boxes = re.findall(f"<word xMin{number} yMin{number} xMax{number} yMax{number}", html)
    assert boxes
    return [(float(a), float(b), float(c), float(d)) for a, b, c, d in boxes]
