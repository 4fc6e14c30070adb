"""The ranking (红黑榜) on the desk: the figures are /stats' for the same node and month
(read back from the chat's captions and from the KPI code), ranked and marked, the
month before beside each; the XLSX holds exactly the table on show; a node outside
the person's scope reads as one that does not exist."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from aiohttp.test_utils import TestServer
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogs.appeals.stats import percent
from bot.i18n import translator
from emulator.world import EmulatedUser
from storage.appeals.kpi import Figures, node_kpis
from storage.appeals.ranking import Measure
from storage.clock import ManualClock
from storage.hierarchy import HierarchyRepo, Node
from storage.roles import Role
from tests.appeals.test_kpi import NOW, build_appeals
from tests.desk.client import Page, signed_in
from tests.factories import Tree
from tests.harness import Harness, World

ZH = translator("zh")


@dataclass(frozen=True)
class Shown:
    value: str
    before: str
    mark: str


@dataclass(frozen=True)
class Row:
    node_id: int
    rank: str
    name: str
    cells: dict[str, Shown]


_ROW = re.compile(r'<tr data-node="(\d+)"[^>]*>(.*?)</tr>', re.S)
_CELL = re.compile(
    r'<td class="fig ?(\w*)" data-measure="(\w+)" data-value="([^"]*)" data-before="([^"]*)"'
)
_RANK = re.compile(r'<td class="rank">([^<]*)</td>')
_NAME = re.compile(r'<td class="name">(?:<a href="[^"]*">)?([^<]+)')


def table(page: Page) -> list[Row]:
    """The ranking's rows as the page shows them, the total last."""
    rows = []
    for node_id, body in _ROW.findall(page.text):
        rank = _RANK.search(body)
        name = _NAME.search(body)
        assert name is not None, body
        cells = {m: Shown(v, b, mark) for mark, m, v, b in _CELL.findall(body)}
        rows.append(Row(int(node_id), rank.group(1) if rank else "", name.group(1), cells))
    return rows


def expected(figures: Figures) -> dict[str, str]:
    """A node's figures as /stats writes them (``percent``), the count as a number."""
    f = figures
    return {
        "response": percent(f.response_rate, ZH),
        "on_time": percent(f.on_time_rate, ZH),
        "resolution": percent(f.resolution_rate, ZH),
        "satisfaction": percent(f.satisfaction_rate, ZH),
        "reopen": percent(f.reopen_rate, ZH),
        "late": str(f.late) if f.filed else "—",
    }


async def _setup(
    harness: Harness, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> tuple[Tree, World, EmulatedUser]:
    tree, _ = await build_appeals(sessionmaker, clock)
    world = World(harness, tree)
    staff = await world.staff(Role.COMMUNITY_STAFF, tree.community, "郑红梅")
    return tree, world, staff


async def _node(harness: Harness, node: Node) -> Node:
    async with harness.app.services() as s:
        fresh = await HierarchyRepo(s.session).get(node.id)
        assert fresh is not None
        return fresh


def _caption(harness: Harness, user: EmulatedUser) -> str:
    message = harness.last(user)
    return message.caption or ""


async def test_the_ranking_shows_the_figures_stats_computes(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _, staff = await _setup(harness, sessionmaker, clock)
    browser = await signed_in(harness, server, staff)
    page = await browser.get("/desk/ranking?month=2026-11")
    assert page.status == 200, page.text[:500]
    rows = table(page)
    assert [r.name for r in rows] == ["第一网格", "第二网格", "通海社区（合计）"]

    # The KPI code /stats calls, for the community and the month, and the month before.
    async with harness.app.services() as s:
        community = await _node(harness, tree.community)
        kpis = await node_kpis(s.session, community, "2026-11", now=NOW, zone="Asia/Shanghai")
        before = await node_kpis(s.session, community, "2026-10", now=NOW, zone="Asia/Shanghai")
    by_id = {r.node_id: r for r in rows}
    for now_f, old_f in zip(
        (*kpis.children, kpis.node), (*before.children, before.node), strict=True
    ):
        row = by_id[now_f.node_id] if now_f is not kpis.node else rows[-1]
        assert {m: c.value for m, c in row.cells.items()} == expected(now_f), row.name
        assert {m: c.before for m, c in row.cells.items()} == expected(old_f), row.name

    # The chat's /stats, read from its captions: the community, then each grid.
    await harness.command(staff, "stats")
    await harness.press(staff, "◀ 2026年11月")
    captions = {"通海社区（合计）": _caption(harness, staff)}
    for grid in ("第一网格", "第二网格"):
        await harness.press(staff, grid)
        captions[grid] = _caption(harness, staff)
        await harness.press(staff, "⬆ 通海社区")
    for row in rows:
        caption = captions[row.name]
        c = row.cells
        assert f"响应率 {c['response'].value}（" in caption, (row.name, caption)
        assert f"办结率 {c['resolution'].value}（" in caption
        assert f"按时办结率 {c['on_time'].value}（" in caption
        assert f"重办率 {c['reopen'].value}（" in caption
        assert f"满意率 {c['satisfaction'].value}（" in caption
        assert f"超时 {c['late'].value} 件" in caption
    # By hand (tests/appeals/test_kpi.py): G1 4/5 accepted in time, G2 1/4.
    assert rows[0].cells["response"] == Shown("80.0%", "50.0%", "top")
    assert rows[1].cells["response"] == Shown("25.0%", "—", "bottom")
    assert rows[0].cells["late"] == Shown("2", "1", "bottom")


async def test_sorted_by_any_measure_marked_best_and_worst_with_the_month_before(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _, staff = await _setup(harness, sessionmaker, clock)
    browser = await signed_in(harness, server, staff)
    page = await browser.get("/desk/ranking?month=2026-11&sort=satisfaction")
    rows = table(page)
    # G2's one rated appeal was satisfied (100%), G1's 2 of 3 (66.7%).
    assert [(r.rank, r.name) for r in rows[:2]] == [("1", "第二网格"), ("2", "第一网格")]
    assert rows[0].cells["satisfaction"].mark == "top"
    assert rows[1].cells["satisfaction"].mark == "bottom"
    # Lower is better for the reopen rate and the overdue count.
    page = await browser.get("/desk/ranking?month=2026-11&sort=reopen")
    assert [r.name for r in table(page)[:2]] == ["第二网格", "第一网格"]
    assert page.has("▲ 上月 50.0%")  # G1's response rate went up from October's
    assert '<small class="before better"' in page.text
    # Each measure's chart, drawn on the server.
    assert page.text.count('<figure class="chart"') == len(Measure)
    assert "<script>" not in page.text and "style=" not in page.text

    # A junk sort, month or node: the default order, this month, nothing at all.
    december = await browser.get("/desk/ranking?month=2027-05&sort=nonsense")
    assert december.status == 200 and december.has("通海社区 · 2026年12月 红黑榜")
    assert (await browser.get("/desk/ranking?month=junk")).has("2026年12月")

    # Down a level: a grid's row opens its open appeals on the queue; the way up stops
    # at the person's own node.
    assert f'href="/desk/appeals?grid={tree.grid.id}"' in page.text
    grid_page = await browser.get(f"/desk/ranking?node={tree.grid.id}&month=2026-11")
    assert grid_page.status == 200
    assert grid_page.has("网格是最小的考核单位")
    assert f'href="/desk/ranking?node={tree.community.id}&' in grid_page.text
    assert f'href="/desk/ranking?node={tree.street.id}&' not in grid_page.text


async def test_a_street_drills_down_to_its_communities_then_grids(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, world, _ = await _setup(harness, sessionmaker, clock)
    street = await world.staff(Role.STREET_STAFF, tree.street, "街道老周")
    browser = await signed_in(harness, server, street)
    page = await browser.get("/desk/ranking?month=2026-11")
    # 正阳社区 accepted its one appeal in time (100%), 通海社区 5 of 9.
    assert [r.name for r in table(page)] == ["正阳社区", "通海社区", "宁海街道（合计）"]
    link = f"/desk/ranking?node={tree.community.id}&amp;month=2026-11&amp;sort=response"
    assert f'href="{link}"' in page.text
    down = await browser.get(link.replace("&amp;", "&"))
    assert [r.name for r in table(down)][:2] == ["第一网格", "第二网格"]
    # Up again through the breadcrumbs, which name the district without a link.
    assert f'href="/desk/ranking?node={tree.street.id}&' in down.text
    assert f"node={tree.district.id}" not in down.text


async def test_the_xlsx_holds_exactly_the_table_on_show(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _, staff = await _setup(harness, sessionmaker, clock)
    browser = await signed_in(harness, server, staff)
    query = f"node={tree.community.id}&month=2026-11&sort=late"
    page = await browser.get(f"/desk/ranking?{query}")
    assert f'href="/desk/ranking.xlsx?{query.replace("&", "&amp;")}"' in page.text
    got = await browser.get(f"/desk/ranking.xlsx?{query}")
    assert got.status == 200
    assert got.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "ranking-D-S-C1-2026-11.xlsx" in got.headers["Content-Disposition"]
    async with browser.http.get(browser.url(f"/desk/ranking.xlsx?{query}")) as response:
        data = await response.read()
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0][0] == "通海社区 · 2026年11月 红黑榜"
    assert cells[1][0] == "按超期件数排名"
    header = cells[2]
    assert header[:4] == ["排名", "名称", "响应率", "响应率（上月）"]

    def text(value: object, measure: Measure) -> str:
        if value == "—":
            return "—"
        if measure.is_rate:
            assert isinstance(value, (int, float))
            return f"{value * 100:.1f}%"
        return str(value)

    shown = table(page)
    assert len(cells) == 3 + len(shown)
    for row, line in zip(shown, cells[3:], strict=True):
        assert str(line[0] if line[0] is not None else "") == row.rank
        assert line[1] == row.name
        for i, measure in enumerate(Measure):
            cell = row.cells[measure.value]
            assert text(line[2 + 2 * i], measure) == cell.value, (row.name, measure)
            assert text(line[3 + 2 * i], measure) == cell.before, (row.name, measure)
    # Marked as on the page: the worst overdue count red, the best green.
    late_column = 2 + 2 * list(Measure).index(Measure.LATE) + 1
    fills = [sheet.cell(4 + i, late_column).fill.fgColor.rgb for i in range(2)]
    assert fills == ["00D7F0DD", "00FBD9D5"]


async def test_a_node_outside_scope_reads_as_one_that_does_not_exist(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, _, staff = await _setup(harness, sessionmaker, clock)
    browser = await signed_in(harness, server, staff)
    paths = ("/desk/ranking", "/desk/ranking.xlsx")
    missing = {path: await browser.get(f"{path}?node=999999") for path in paths}
    for node in (tree.street, tree.district, tree.other_community, tree.other_grid, tree.building):
        for path in paths:
            page = await browser.get(f"{path}?node={node.id}")
            assert page.status == 404, (path, node.name)
            assert page.text == missing[path].text
            assert "正阳社区" not in page.text
    for junk in ("abc", "-1", "99999999999999999999", "1e3"):
        assert (await browser.get(f"/desk/ranking?node={junk}")).status == 404
    assert (await browser.get(f"/desk/ranking?node={tree.grid2.id}")).status == 200


async def test_several_areas_a_global_admin_and_english(
    harness: Harness,
    server: TestServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tree, world, _ = await _setup(harness, sessionmaker, clock)
    # Staff of two communities: the page opens at one and offers the other.
    both = await world.staff(Role.COMMUNITY_STAFF, tree.community, "两个社区", language="en")
    async with harness.app.services() as s:
        other = await HierarchyRepo(s.session).get(tree.other_community.id)
        await s.staff.grant(
            user_id=both.id, role=Role.COMMUNITY_STAFF, node=other, granted_by=None, now=s.now()
        )
    browser = await signed_in(harness, server, both)
    page = await browser.get("/desk/ranking?month=2026-11")
    assert page.has("My areas:")
    for community in (tree.community, tree.other_community):
        assert f'href="/desk/ranking?node={community.id}&amp;month=2026-11' in page.text
    assert page.has("Response rate") and page.has("Satisfaction")
    assert not page.has("2026年11月") and not page.has("响应率")
    assert page.has("通海社区 (total)")
    other_page = await browser.get(f"/desk/ranking?node={tree.other_community.id}")
    assert [r.name for r in table(other_page)] == ["第一网格", "正阳社区 (total)"]
    assert (await browser.get(f"/desk/ranking?node={tree.street.id}")).status == 404

    # A global admin starts at the district and may go anywhere.
    admin = await world.staff(Role.ADMIN, None, "管理员")
    browser = await signed_in(harness, server, admin)
    page = await browser.get("/desk/ranking?month=2026-11")
    assert [r.name for r in table(page)] == ["宁海街道", "牟平区（合计）"]
    assert (await browser.get(f"/desk/ranking?node={tree.other_grid.id}")).status == 200


def test_ranks_share_ties_and_marks_never_overlap() -> None:
    from fractions import Fraction

    from storage.appeals.ranking import HeatMeasure, _marks, _ranks, heat

    half, most = Fraction(1, 2), Fraction(9, 10)
    # Higher is better; no figure is unranked.
    assert _ranks([half, most, None, half], True) == [2, 1, None, 2]
    assert _ranks([3, 0, 1], False) == [3, 1, 2]  # a count: fewer is better
    # Seven ranked: the best three and the worst three marked, the middle one not.
    ranks = [1, 2, 3, 4, 5, 6, 7]
    assert _marks(ranks) == ["top"] * 3 + [""] + ["bottom"] * 3
    # Five: two of each (never the same child twice); one alone: neither.
    assert _marks([1, 2, 3, 4, 5]) == ["top", "top", "", "bottom", "bottom"]
    assert _marks([1]) == [""] and _marks([None, 1]) == ["", ""]
    # All equal: nobody is better or worse than anyone.
    assert _marks([1, 1, 1, 1]) == ["", "", "", ""]
    assert _marks([1, 2, 2, 2]) == ["top", "", "", ""]  # three tied at once best and worst
    assert _marks([1, 1, 3, 4]) == ["top", "top", "bottom", "bottom"]
    # Heat: counts against the worst sibling, rates by how far below 100%.
    assert [heat(HeatMeasure.OVERDUE, v, [0, 1, 4]) for v in (0, 1, 4)] == [0, 1, 4]
    assert heat(HeatMeasure.RESPONSE, Fraction(1), []) == 0
    assert heat(HeatMeasure.RESPONSE, Fraction(85, 100), []) == 2
    assert heat(HeatMeasure.REOPEN, Fraction(0), []) == 0
    assert heat(HeatMeasure.REOPEN, Fraction(1, 2), []) == 4
    assert heat(HeatMeasure.SATISFACTION, None, []) is None
