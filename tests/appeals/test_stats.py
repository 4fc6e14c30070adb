"""/stats over the emulator for community staff, and the Excel report read back, both
against the hand-computed figures of tests/test_kpi.py's data set."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogs.appeals.report import ReportError, write_report
from bot.dialogs.appeals.stats import CAPTION_LIMIT, overview_text
from bot.i18n import translator
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser
from storage.appeals import AppealPolicy
from storage.appeals.kpi import Figures, Month, NodeKpis
from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.roles import Role, StaffRepo
from tests.appeals.test_kpi import NOW, ZONE, build_appeals
from tests.conftest import ADMIN_ID
from tests.harness import Harness

STAFF_ID = 5001


NOVEMBER_LINES = (
    "📊 通海社区 · 2026年11月",
    "牟平区 › 宁海街道",
    "诉求 9 件（另有撤销、重复 1 件不计）",
    "超时 3 件 · 当前超期 4 件 · 两次不满意结案 0 件",
    "响应率 55.6%（按时受理 5/9）",
    "办结率 44.4%（已办结 4/9）",
    "按时办结率 44.4%（按时办结 4/9）· 重办率 11.1%（重办 1/9）",
    "满意率 75.0%（满意及基本满意 3/4）",
    "用时中位数：受理 3.5 小时 · 办结 14 小时",
    "状态：待受理 2 · 办理中 1 · 已办结 1 · 已结案 3 · 已退回 1 · 已撤销 1 · 重新办理 1",
    "类别：环境卫生 5 · 物业服务 2 · 矛盾纠纷 1 · 设施维修 1 · 其他 1",
)


async def _community_staff(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> EmulatedUser:
    tree, _ = await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        await StaffRepo(session).grant(
            user_id=STAFF_ID,
            role=Role.COMMUNITY_STAFF,
            node=tree.community,
            granted_by=None,
            now=clock.now(),
        )
        await session.commit()
    staff = emu.add_user(user_id=STAFF_ID, first_name="社区小李")
    await harness.command(staff, "start")
    return staff


def _photo_message(harness: Harness, user: EmulatedUser) -> str:
    message = harness.last(user)
    assert message.photo, "the stats are a photo with a caption"
    caption = message.caption or ""
    assert 0 < len(caption) <= CAPTION_LIMIT
    return caption


async def test_stats_for_community_staff(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    assert clock.now() == NOW  # 2026-12-01 18:00 in Shanghai: December

    await harness.command(staff, "stats")
    december = _photo_message(harness, staff)
    assert "通海社区 · 2026年12月" in december
    assert "诉求 1 件\n超时 0 件 · 当前超期 4 件" in december  # A11; overdue is not monthly
    assert "满意率 —（满意及基本满意 0/0）" in december
    assert "用时中位数：受理 — · 办结 —" in december
    buttons = harness.buttons(staff)
    assert "◀ 2026年11月" in buttons
    assert not any("▶" in b for b in buttons)  # no future months
    assert "第一网格 · 0" in buttons and "第二网格 · 1" in buttons
    assert not any(b.startswith("⬆") for b in buttons)  # the street is not theirs

    await harness.press(staff, "◀ 2026年11月")
    november = _photo_message(harness, staff)
    assert november.splitlines()[: len(NOVEMBER_LINES)] == list(NOVEMBER_LINES)
    assert "第一网格 · 5" in harness.buttons(staff)
    assert "2026年12月 ▶" in harness.buttons(staff)

    # Drill into a grid, keeping the month.
    await harness.press(staff, "第一网格")
    grid = _photo_message(harness, staff)
    assert "📊 第一网格 · 2026年11月" in grid
    assert "牟平区 › 宁海街道 › 通海社区" in grid
    assert "诉求 5 件（另有撤销、重复 1 件不计）" in grid
    assert "超时 2 件 · 当前超期 3 件" in grid
    assert "响应率 80.0%（按时受理 4/5）" in grid
    assert "办结率 60.0%（已办结 3/5）" in grid
    assert "按时办结率 60.0%（按时办结 3/5）· 重办率 20.0%（重办 1/5）" in grid
    assert "满意率 66.7%（满意及基本满意 2/3）" in grid
    assert "用时中位数：受理 3 小时 · 办结 8 小时" in grid
    assert not any("网格 ·" in b for b in harness.buttons(staff))  # a grid has no children

    await harness.press(staff, "⬆ 通海社区")
    assert "诉求 9 件（另有撤销、重复 1 件不计）" in _photo_message(harness, staff)

    await harness.press(staff, "◀ 2026年10月")
    october = _photo_message(harness, staff)
    assert "通海社区 · 2026年10月" in october
    assert "诉求 2 件\n超时 1 件 · 当前超期 4 件" in october
    assert "响应率 50.0%（按时受理 1/2）" in october

    await harness.press(staff, "2026年11月 ▶")
    assert "诉求 9 件" in _photo_message(harness, staff)

    # One message, edited in place: the chart was replaced, not resent.
    photos = [m for m in emu.chat(staff.id).bot_messages if m.photo]
    assert len(photos) == 1
    assert emu.errors == []


async def test_stats_refuses_other_nodes(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    await harness.command(staff, "stats")
    message = harness.last(staff)
    buttons = [b for row in emu.chat(staff.id).inline_buttons() for b in row]
    data = next(d for text, d in buttons if text.startswith("第一网格"))
    assert data is not None
    # The other community's id in place of the grid's: a forged button.
    async with sessionmaker() as session:
        other = await HierarchyRepo(session).by_code("D-S-C2")
        assert other is not None
    forged = data.rsplit(":", 1)[0] + f":{other.id}"
    await harness.press_data(staff, message.message_id, forged, forged=True)
    assert "通海社区" in _photo_message(harness, staff)
    assert "正阳社区" not in _photo_message(harness, staff)
    answers = emu.chat(staff.id).callback_answers
    assert any("没有权限" in (a.get("text") or "") for a in answers)
    assert emu.errors == []


async def test_stats_from_the_main_menu(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    await harness.command(staff, "menu")
    await harness.press(staff, "📊 统计")
    assert "通海社区 · 2026年12月" in _photo_message(harness, staff)
    await harness.press(staff, "🏠 主菜单")
    assert harness.last(staff).photo is None
    assert "📊 统计" in harness.buttons(staff)
    assert emu.errors == []


async def test_resident_is_refused(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _ = await build_appeals(sessionmaker, clock)
    resident = emu.add_user(user_id=6001, first_name="王阿姨")
    await harness.command(resident, "start", f"b_{tree.building.qr_token}")
    await harness.press(resident, "同意并继续")
    await harness.command(resident, "stats")
    assert harness.last_text(resident) == "抱歉，您没有权限做这件事。"
    assert not any(m.photo for m in emu.chat(resident.id).bot_messages)
    assert emu.errors == []


async def test_global_admin_walks_the_hierarchy(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        await HierarchyRepo(session).create(
            kind=NodeKind.DISTRICT, code="Z", name="芝罘区", parent=None, now=clock.now()
        )
        await session.commit()
    admin = emu.add_user(user_id=ADMIN_ID, first_name="管理员")
    await harness.command(admin, "start")
    await harness.command(admin, "stats")
    # The first district by name: 牟 (U+725F) before 芝 (U+829D).
    assert _photo_message(harness, admin).startswith("📊 牟平区 · 2026年12月\n诉求 1 件")
    assert "芝罘区" in harness.buttons(admin)

    await harness.press(admin, "◀ 2026年11月")
    district = _photo_message(harness, admin)
    assert "诉求 10 件（另有撤销、重复 1 件不计）" in district
    assert "超时 3 件 · 当前超期 4 件" in district
    assert "响应率 60.0%（按时受理 6/10）" in district
    assert "满意率 80.0%（满意及基本满意 4/5）" in district
    assert "点下面的街道查看明细。" in district

    await harness.press(admin, "宁海街道 · 10")
    assert "📊 宁海街道 · 2026年11月" in _photo_message(harness, admin)
    assert {"正阳社区 · 1", "通海社区 · 9", "⬆ 牟平区"} <= set(harness.buttons(admin))
    await harness.press(admin, "正阳社区 · 1")
    other = _photo_message(harness, admin)
    assert "诉求 1 件\n超时 0 件 · 当前超期 0 件" in other
    assert "满意率 100.0%（满意及基本满意 1/1）" in other
    await harness.press(admin, "⬆ 宁海街道")
    await harness.press(admin, "⬆ 牟平区")
    assert "📊 牟平区 · 2026年11月" in _photo_message(harness, admin)

    await harness.press(admin, "芝罘区")
    empty = _photo_message(harness, admin)
    assert "📊 芝罘区 · 2026年11月" in empty
    assert "诉求 0 件\n超时 0 件 · 当前超期 0 件" in empty
    assert "响应率 —（按时受理 0/0）" in empty
    assert "牟平区" in harness.buttons(admin)
    assert emu.errors == []


def test_caption_stays_within_telegram_limit() -> None:
    t = translator("zh")
    long = "长" * 200
    chain = [
        Node(id=i, kind=k, code=f"N{i}", name=long, path=f"/{i}/")
        for i, k in enumerate((NodeKind.DISTRICT, NodeKind.STREET, NodeKind.COMMUNITY), 1)
    ]
    figures = Figures(
        node_id=3,
        code="N3",
        name=long,
        kind=NodeKind.COMMUNITY,
        total=9,
        by_state={"submitted": 9},
        by_category={f"custom_category_{i:02d}_{'x' * 30}": 1 for i in range(9)},
    )
    kpis = NodeKpis(
        month=Month(2026, 11),
        zone=ZONE,
        start=NOW,
        end=NOW,
        now=NOW,
        node=figures,
        child_kind=NodeKind.GRID,
        children=(figures,),
    )
    text = overview_text(kpis, chain, t, AppealPolicy())
    assert len(text) <= CAPTION_LIMIT
    assert "诉求 <b>9</b> 件" in text  # the figures survive; the category list went first
    assert "状态：待受理 9" in text
    assert "custom_category" not in text


# --- the Excel report ------------------------------------------------------------------------


def _rows(ws: Worksheet) -> list[list[object]]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _table(ws: Worksheet) -> dict[str, dict[str, object]]:
    """Rows of a figures table keyed by node code, each a {header: value} dict."""
    rows = _rows(ws)
    start = next(i for i, r in enumerate(rows) if r and r[0] == "编码")
    header = [str(h) for h in rows[start]]
    return {str(r[0]): dict(zip(header, r, strict=True)) for r in rows[start + 1 :] if r[0]}


async def test_report_workbook(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tmp_path: Path
) -> None:
    await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        out = await write_report(
            session, "2026-11", tmp_path / "out" / "r.xlsx", ZONE, AppealPolicy(), now=NOW
        )
    assert out == tmp_path / "out" / "r.xlsx"
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "街道", "社区", "网格", "诉求明细"]
    meta = {r[0]: r[1] for r in _rows(wb["汇总"])[:4]}
    assert meta["月份"] == "2026-11" and meta["时区"] == ZONE
    assert meta["统计时间"] == datetime(2026, 12, 1, 18, 0)  # local wall-clock time

    district = _table(wb["汇总"])["D"]
    assert district["名称"] == "牟平区"
    assert (district["提交总数"], district["诉求总数"]) == (11, 10)
    assert district["按时受理"] == 6
    # Rates are stored as numbers shown as percentages (Excel keeps 15 digits).
    assert district["响应率"] == pytest.approx(6 / 10, rel=1e-12)
    assert district["办结率"] == pytest.approx(5 / 10, rel=1e-12)
    assert district["满意率"] == pytest.approx(4 / 5, rel=1e-12)
    assert district["受理用时中位数（小时）"] == 3
    assert district["办结用时中位数（小时）"] == 8
    assert district["当前超期"] == 4
    assert (district["超时（未兑现承诺）"], district["两次不满意结案"]) == (3, 0)
    assert district["已结案"] == 4 and district["待受理"] == 2

    assert _table(wb["街道"])["D-S"]["诉求总数"] == 10
    communities = _table(wb["社区"])
    assert communities["D-S-C1"]["诉求总数"] == 9
    assert communities["D-S-C1"]["满意率"] == pytest.approx(3 / 4, rel=1e-12)
    assert communities["D-S-C1"]["受理用时中位数（小时）"] == 3.5
    assert communities["D-S-C2"]["诉求总数"] == 1
    grids = _table(wb["网格"])
    assert set(grids) == {"D-S-C1-G1", "D-S-C1-G2", "D-S-C2-G1"}
    g1, g2 = grids["D-S-C1-G1"], grids["D-S-C1-G2"]
    assert (g1["诉求总数"], g1["当前超期"], g1["重新办理"]) == (5, 3, 1)
    assert [g1["响应率"], g1["办结率"], g1["满意率"]] == pytest.approx([4 / 5, 3 / 5, 2 / 3])
    assert (g1["按时办结"], g1["重办过"]) == (3, 1)
    assert [g1["按时办结率"], g1["重办率"]] == pytest.approx([3 / 5, 1 / 5])
    assert (g2["诉求总数"], g2["满意率"], g2["办结用时中位数（小时）"]) == (4, 1, 30)
    assert wb["社区"]["G2"].number_format == "0.0%"

    appeals = _rows(wb["诉求明细"])
    assert appeals[0] == [
        "编号",
        "提交时间",
        "类别",
        "状态",
        "当前层级",
        "网格",
        "受理时间",
        "办结时间",
        "评价",
        "超时（未兑现承诺）",
    ]
    body = appeals[1:]
    assert len(body) == 11  # November's, in submission order
    first = body[0]  # A1, submitted Nov 1 01:00 local
    assert first[1] == datetime(2026, 11, 1, 1, 0)
    assert first[2:6] == ["环境卫生", "已结案", "网格", "D-S-C1-G1 第一网格"]
    assert first[6] == datetime(2026, 11, 1, 2, 0) and first[7] == datetime(2026, 11, 1, 6, 0)
    assert first[8] == "满意" and first[9] is None  # in time
    reopened = next(r for r in body if r[3] == "重新办理")  # A3
    assert (reopened[4], reopened[7], reopened[8], reopened[9]) == ("社区", None, "不满意", "是")
    assert body[-1][1] == datetime(2026, 11, 30, 23, 0)  # A10; A11 is December's
    # No personal data: the appeal texts ("诉求 A1" …) are not in the workbook.
    everything = [c for ws in wb.worksheets for r in _rows(ws) for c in r]
    assert not any(isinstance(c, str) and "诉求 A" in c for c in everything)


async def test_report_for_a_community_and_errors(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, tmp_path: Path
) -> None:
    await build_appeals(sessionmaker, clock)
    async with sessionmaker() as session:
        out = await write_report(
            session, "2026-11", tmp_path / "c.xlsx", ZONE, AppealPolicy(), "D-S-C1", now=NOW
        )
        wb = load_workbook(out)
        assert wb.sheetnames == ["汇总", "网格", "诉求明细"]
        assert list(_table(wb["汇总"])) == ["D-S-C1"]
        assert set(_table(wb["网格"])) == {"D-S-C1-G1", "D-S-C1-G2"}
        assert len(_rows(wb["诉求明细"])) == 1 + 10
        for bad_month, code in (("2026-13", None), ("11/2026", None), ("2026-11", "NOPE")):
            try:
                await write_report(
                    session, bad_month, tmp_path / "x.xlsx", ZONE, AppealPolicy(), code, now=NOW
                )
            except ReportError:
                pass
            else:
                raise AssertionError(f"{bad_month} {code} accepted")


async def test_excel_button_sends_the_report(
    harness: Harness,
    emu: BotAPIEmulator,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    staff = await _community_staff(harness, emu, sessionmaker, clock)
    await harness.command(staff, "stats")
    await harness.press(staff, "◀ 2026年11月")
    await harness.press(staff, "导出 Excel")
    answers = [a.get("text") or "" for a in emu.chat(staff.id).callback_answers]
    assert "正在生成报表，请稍候…" in answers  # the button is answered before the work
    documents = [m for m in emu.chat(staff.id).bot_messages if m.document]
    assert len(documents) == 1
    document = documents[0].document
    assert document is not None and document["file_name"] == "gridbot-D-S-C1-2026-11.xlsx"
    stored = emu.files.get(document["file_id"])
    assert stored is not None
    wb = load_workbook(io.BytesIO(stored.data))
    summary = _table(wb["汇总"])["D-S-C1"]
    assert (summary["诉求总数"], summary["响应率"], summary["当前超期"]) == (9, 5 / 9, 4)
    # The stats follow below the document, still on November.
    assert "通海社区 · 2026年11月" in _photo_message(harness, staff)
    assert emu.errors == []
