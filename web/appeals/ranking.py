"""The monthly ranking (红黑榜): a node's children ranked on the six measures of
``storage.appeals.ranking`` for a month, the month before beside each figure, sortable
by any of them, the best three green and the worst three red; a child opens its own
children's ranking, down to the grids. The figures are /stats' (one ``node_kpis``).
``/ranking.xlsx`` writes the table on show, row for row, as a workbook."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from storage.appeals.kpi import Month
from storage.appeals.ranking import Cell, Measure, Ranking, Value, ranking
from storage.hierarchy import Node, NodeKind
from web.appeals.figures import areas, chosen_month, chosen_node, crumbs, figure_text
from web.desk.session import DESK, Desk, desk_page
from web.desk.texts import PageTexts

routes = web.RouteTableDef()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHART_WIDTH = 320
CHART_LABEL = 96
CHART_BAR = 150
CHART_ROW = 22


@dataclass(frozen=True)
class Shown:
    """A figure as the table shows it: the text, the month before's, which way it went
    (up/down, better/worse) and its mark (top/bottom)."""

    value: Value
    previous: Value
    text: str
    before: str
    arrow: str  # "▲", "▼" or ""
    trend: str  # "better", "worse" or ""
    mark: str


@dataclass(frozen=True)
class Line:
    id: int
    name: str
    href: str  # its own ranking; a grid's: its open appeals on the queue
    rank: int | None
    cells: dict[str, Shown]


@dataclass(frozen=True)
class Bar:
    name: str
    width: int
    text: str
    mark: str
    y: int


@dataclass(frozen=True)
class Chart:
    measure: str
    title: str
    height: int
    bars: list[Bar]


@dataclass(frozen=True)
class Table:
    """Exactly what the page shows, and so what the XLSX holds."""

    title: str
    sort: Measure
    headers: list[tuple[str, str]]  # (measure, label)
    lines: list[Line]
    total: Line
    month: Month


def shown(measure: Measure, cell: Cell) -> Shown:
    change = cell.change
    arrow = trend = ""
    if change is not None and change != 0:
        arrow = "▲" if change > 0 else "▼"
        trend = "better" if (change > 0) == measure.higher_is_better else "worse"
    return Shown(
        value=cell.value,
        previous=cell.previous,
        text=figure_text(cell.value, rate=measure.is_rate),
        before=figure_text(cell.previous, rate=measure.is_rate),
        arrow=arrow,
        trend=trend,
        mark=cell.mark,
    )


def measure_label(t: PageTexts, measure: Measure) -> str:
    return t.plain(f"desk.ranking.measure.{measure.value}")


def month_label(t: PageTexts, month: Month) -> str:
    return t.plain("stats.month", year=month.year, month=month.month)


def _query(node: Node, month: Month, sort: Measure, **extra: str) -> str:
    return urlencode({"node": node.id, "month": str(month), "sort": sort.value, **extra})


def build_table(t: PageTexts, node: Node, ranked: Ranking, sort: Measure) -> Table:
    month = ranked.kpis.month
    lines = []
    for row in ranked.sorted(sort):
        f = row.figures
        if f.kind is NodeKind.GRID:
            href = f"{DESK}/appeals?grid={f.node_id}"
        else:
            href = f"{DESK}/ranking?" + urlencode(
                {"node": f.node_id, "month": str(month), "sort": sort.value}
            )
        lines.append(
            Line(
                id=f.node_id,
                name=f.name,
                href=href,
                rank=row.cells[sort].rank,
                cells={m.value: shown(m, row.cells[m]) for m in Measure},
            )
        )
    total = Line(
        id=node.id,
        name=t.plain("desk.ranking.total", node=node.name),
        href="",
        rank=None,
        cells={m.value: shown(m, ranked.total(m)) for m in Measure},
    )
    title = t.plain("desk.ranking.heading", node=node.name, month=month_label(t, month))
    headers = [(m.value, measure_label(t, m)) for m in Measure]
    return Table(title, sort, headers, lines, total, month)


def charts(t: PageTexts, ranked: Ranking) -> list[Chart]:
    """One horizontal bar chart per measure (best first), drawn as SVG on the server:
    rates against 100%, counts against the largest."""
    drawn = []
    for measure in Measure:
        rows = ranked.sorted(measure)
        values = [r.cells[measure].value for r in rows]
        top = max((Fraction(v) for v in values if v is not None), default=Fraction(0))
        scale = Fraction(1) if measure.is_rate else (top or Fraction(1))
        bars = []
        for i, row in enumerate(rows):
            cell = row.cells[measure]
            share = Fraction(cell.value) / scale if cell.value is not None else Fraction(0)
            bars.append(
                Bar(
                    name=row.figures.name,
                    width=round(share * CHART_BAR),
                    text=figure_text(cell.value, rate=measure.is_rate),
                    mark=cell.mark,
                    y=i * CHART_ROW,
                )
            )
        drawn.append(
            Chart(measure.value, measure_label(t, measure), len(bars) * CHART_ROW + 4, bars)
        )
    return drawn


async def _table(desk: Desk) -> tuple[Node, Ranking, Table] | None:
    node = await chosen_node(desk)
    if node is None:
        return None
    month = chosen_month(desk)
    raw = desk.request.query.get("sort", "")
    sort = Measure(raw) if raw in set(Measure) else Measure.RESPONSE
    ranked = await ranking(desk.services.session, node, month, now=desk.now(), zone=desk.zone)
    return node, ranked, build_table(desk.t, node, ranked, sort)


def missing(desk: Desk) -> web.Response:
    return desk.render("appeals/figures_missing.html", status=404)


@routes.get("/ranking")
@desk_page
async def ranking_page(desk: Desk) -> web.StreamResponse:
    found = await _table(desk)
    if found is None:
        return missing(desk)
    node, ranked, table = found
    t = desk.t
    month = table.month
    this_month = Month.of(desk.now(), desk.zone)
    context: dict[str, Any] = {
        "node": node,
        "table": table,
        "charts": charts(t, ranked),
        "chart": {"width": CHART_WIDTH, "label": CHART_LABEL, "bar": CHART_BAR},
        "crumbs": await crumbs(desk, node),
        "areas": await areas(desk),
        "month": str(month),
        "max_month": str(this_month),
        "month_name": month_label(t, month),
        "before_name": month_label(t, month.prev()),
        "after_name": month_label(t, month.next()),
        "is_grid": node.node_kind is NodeKind.GRID,
        "prev_query": _query(node, month.prev(), table.sort),
        "next_query": _query(node, month.next(), table.sort) if month < this_month else None,
        "sort_query": {m.value: _query(node, month, m) for m in Measure},
        "xlsx_query": _query(node, month, table.sort),
        "heat_query": urlencode({"node": node.id}),
        "child_level": t.plain(f"levels.{ranked.kpis.child_kind.value}")
        if ranked.kpis.child_kind
        else "",
    }
    return desk.render("appeals/ranking.html", **context)


@routes.get("/ranking.xlsx")
@desk_page
async def ranking_xlsx(desk: Desk) -> web.StreamResponse:
    found = await _table(desk)
    if found is None:
        return missing(desk)
    node, _, table = found
    data = await asyncio.to_thread(workbook, table, desk.t)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"ranking-{node.code}-{table.month}.xlsx")
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def workbook(table: Table, t: PageTexts) -> bytes:
    """The table as one sheet: the title, a header row (each measure, then the month
    before), a row per child in the page's order with its rank, and the total. Rates are
    numbers shown as 0.0%, so Excel reads what the page shows and can compute with it."""
    # openpyxl takes a second to import: only when someone exports.
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    fills = {
        "top": PatternFill("solid", fgColor="D7F0DD"),
        "bottom": PatternFill("solid", fgColor="FBD9D5"),
    }
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t.plain("desk.ranking.sheet")
    ws.append([table.title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([t.plain("desk.ranking.sorted_by", measure=dict(table.headers)[table.sort.value])])
    header = [t.plain("desk.ranking.column.rank"), t.plain("desk.ranking.column.name")]
    for _, label in table.headers:
        header += [label, t.plain("desk.ranking.column.before", measure=label)]
    ws.append(header)
    for cell in ws[3]:
        cell.font = Font(bold=True)

    def put(line: Line) -> None:
        row: list[Any] = [line.rank if line.rank is not None else "", line.name]
        for measure in Measure:
            shown_cell = line.cells[measure.value]
            row += [_number(shown_cell.value), _number(shown_cell.previous)]
        ws.append(row)
        at = ws.max_row
        for i, measure in enumerate(Measure):
            shown_cell = line.cells[measure.value]
            for col in (3 + 2 * i, 4 + 2 * i):
                if measure.is_rate:
                    ws.cell(at, col).number_format = "0.0%"
            if shown_cell.mark in fills:
                ws.cell(at, 3 + 2 * i).fill = fills[shown_cell.mark]

    for line in table.lines:
        put(line)
    put(table.total)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.column_dimensions["B"].width = 18
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _number(value: Value) -> float | int | str:
    if value is None:
        return "—"
    if isinstance(value, Fraction):
        return float(value)
    return value
