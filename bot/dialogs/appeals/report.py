"""The monthly appeal KPI report as an Excel workbook (``gridbot report``).

Sheets: a summary (the district(s), or the chosen node), one sheet per level below it
(streets, communities, grids) with a row per node, and the month's appeals without
personal data (no resident, text, phone or location). Figures come from storage.kpi, so
the workbook and /stats always agree."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.i18n import Translator, translator
from storage.appeals import Appeal, Rating, State
from storage.appeals.kpi import (
    Figures,
    Month,
    all_districts,
    as_zone,
    in_node,
    late_clause,
    level_kpis,
)
from storage.appeals.policy import AppealPolicy
from storage.hierarchy import HierarchyRepo, Node, NodeKind

if TYPE_CHECKING:  # openpyxl takes a second to import; only a report needs it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

PERCENT = "0.0%"
HOURS = "0.0"
DATETIME = "yyyy-mm-dd hh:mm"
APPEAL_BATCH = 1000

FIGURE_COLUMNS = (
    "code",
    "name",
    "level",
    "filed",
    "total",
    "accepted_in_time",
    "response_rate",
    "resolved",
    "resolution_rate",
    "resolved_in_time",
    "on_time_rate",
    "reopened",
    "reopen_rate",
    "rated",
    "satisfied",
    "satisfaction_rate",
    "median_accept",
    "median_resolve",
    "late",
    "overdue",
    "closed_unsatisfied",
)
APPEAL_COLUMNS = (
    "number",
    "submitted",
    "category",
    "state",
    "current_level",
    "grid",
    "accepted",
    "resolved_at",
    "rating",
    "late",
)
SHEET_KINDS = (NodeKind.STREET, NodeKind.COMMUNITY, NodeKind.GRID)


class ReportError(ValueError):
    pass


async def write_report(
    session: AsyncSession,
    month: str,
    out_path: Path,
    zone: ZoneInfo | str,
    policy: AppealPolicy,
    node_code: str | None = None,
    *,
    now: datetime | None = None,
    language: str = "zh",
) -> Path:
    """Write the report of ``month`` (YYYY-MM in ``zone``) for the node with
    ``node_code`` (a district, street, community or grid), or every district, to
    ``out_path``. Raises ``ReportError`` for a bad month or an unknown node."""
    try:
        the_month = Month.parse(month)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    tz = as_zone(zone)
    now = now or datetime.now(UTC)
    t = translator(language)
    node: Node | None = None
    if node_code is not None:
        node = await HierarchyRepo(session).by_code(node_code)
        if node is None or node.node_kind is NodeKind.BUILDING:
            raise ReportError(f"no district, street, community or grid with code {node_code!r}")

    top_kind = node.node_kind if node is not None else NodeKind.DISTRICT
    summary = await level_kpis(session, top_kind, the_month, now=now, zone=tz, within=node)
    levels: list[tuple[NodeKind, list[Figures]]] = []
    for kind in SHEET_KINDS:
        if kind.level > top_kind.level:
            levels.append(
                (kind, await level_kpis(session, kind, the_month, now=now, zone=tz, within=node))
            )
    appeals = await _appeal_rows(session, the_month, tz, node, policy, t, now)
    # Writing the workbook is CPU work (about 0.4 ms a row): off the event loop.
    await asyncio.to_thread(_save, out_path, t, the_month, tz, now, node, summary, levels, appeals)
    return out_path


def _save(
    out_path: Path,
    t: Translator,
    month: Month,
    zone: ZoneInfo,
    now: datetime,
    node: Node | None,
    summary: Sequence[Figures],
    levels: Sequence[tuple[NodeKind, Sequence[Figures]]],
    appeals: Sequence[list[Any]],
) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t("stats.report.summary"))
    _meta(ws, t, month, zone, now, node)
    _figure_table(ws, summary, t)
    for kind, rows in levels:
        _figure_table(wb.create_sheet(t(f"levels.{kind.value}")), rows, t)
    sheet = wb.create_sheet(t("stats.report.appeals"))
    sheet.append([_bold(sheet, t(f"stats.report.col.{c}")) for c in APPEAL_COLUMNS])
    for row in appeals:
        sheet.append(row)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".part")
    wb.save(tmp)
    tmp.replace(out_path)


def _bold(ws: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(ws, value=value)
    cell.font = Font(bold=True)
    return cell


def _cell(ws: WriteOnlyWorksheet, value: Any, number_format: str | None = None) -> Any:
    if number_format is None or value is None:
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    return cell


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Excel has no time zones: local wall-clock time, naive."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None


def _meta(
    ws: WriteOnlyWorksheet,
    t: Translator,
    month: Month,
    zone: ZoneInfo,
    now: datetime,
    node: Node | None,
) -> None:
    ws.append([_bold(ws, t("stats.report.month")), str(month)])
    ws.append([_bold(ws, t("stats.report.zone")), zone.key])
    ws.append([_bold(ws, t("stats.report.generated")), _cell(ws, _local(now, zone), DATETIME)])
    scope = f"{node.code} {node.name}" if node is not None else t("stats.report.everywhere")
    ws.append([_bold(ws, t("stats.report.scope")), scope])
    ws.append([_bold(ws, t("stats.report.definitions")), t("stats.report.definition_text")])
    ws.append([])


def _figure_table(ws: WriteOnlyWorksheet, rows: Sequence[Figures], t: Translator) -> None:
    ws.append(
        [_bold(ws, t(f"stats.report.col.{c}")) for c in FIGURE_COLUMNS]
        + [_bold(ws, t(f"stats.state.{s.value}")) for s in State]
    )
    for f in rows:
        ws.append(
            [
                f.code,
                f.name,
                t(f"levels.{f.kind.value}"),
                f.filed,
                f.total,
                f.accepted_in_time,
                _cell(ws, _float(f.response_rate), PERCENT),
                f.resolved,
                _cell(ws, _float(f.resolution_rate), PERCENT),
                f.resolved_in_time,
                _cell(ws, _float(f.on_time_rate), PERCENT),
                f.reopened,
                _cell(ws, _float(f.reopen_rate), PERCENT),
                f.rated,
                f.satisfied,
                _cell(ws, _float(f.satisfaction_rate), PERCENT),
                _cell(ws, f.median_accept_hours, HOURS),
                _cell(ws, f.median_resolve_hours, HOURS),
                f.late,
                f.overdue,
                f.closed_unsatisfied,
            ]
            + [f.state_count(s) for s in State]
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _rating_name(rating: str | None, reopened: bool, t: Translator) -> str | None:
    """The appeal's latest rating, as the KPIs count it."""
    if rating is None and reopened:
        rating = Rating.UNSATISFIED.value
    if rating is None:
        return None
    key = f"stats.report.rating.{rating}"
    return t(key) if t.has(key) else rating


async def _appeal_rows(
    session: AsyncSession,
    month: Month,
    zone: ZoneInfo,
    node: Node | None,
    policy: AppealPolicy,
    t: Translator,
    now: datetime,
) -> list[list[Any]]:
    """The month's appeals, oldest first, as sheet rows (datetimes are naive local times:
    openpyxl formats them as dates)."""
    start, end = month.bounds(zone)
    scope = in_node(node) if node is not None else [await all_districts(session)]
    grid = aliased(Node)
    stmt = (
        select(
            Appeal.id,
            Appeal.submitted_at,
            Appeal.category,
            Appeal.state,
            Appeal.level,
            grid.code,
            grid.name,
            Appeal.accepted_at,
            Appeal.resolved_at,
            Appeal.rating,
            Appeal.reopened,
            late_clause(now),
        )
        .join(grid, grid.id == Appeal.grid_id)
        .where(
            and_(
                *scope,
                Appeal.submitted_at >= start,
                Appeal.submitted_at < end,
            )
        )
        .order_by(Appeal.submitted_at, Appeal.id)
        .execution_options(yield_per=APPEAL_BATCH)
    )
    rows: list[list[Any]] = []
    result = await session.stream(stmt)
    async for partition in result.partitions():
        for (
            appeal_id,
            submitted,
            category,
            state,
            level,
            grid_code,
            grid_name,
            accepted,
            resolved,
            rating,
            reopened,
            late,
        ) in partition:
            rows.append(
                [
                    f"{appeal_id:06d}",
                    _local(submitted, zone),
                    policy.category_name(category, t.language),
                    t(f"stats.state.{state}") if t.has(f"stats.state.{state}") else state,
                    t(f"levels.{level}") if t.has(f"levels.{level}") else level,
                    f"{grid_code} {grid_name}",
                    _local(accepted, zone),
                    _local(resolved, zone),
                    _rating_name(rating, bool(reopened), t),
                    t("stats.report.late_mark") if late else None,
                ]
            )
    return rows
