"""The appeal KPIs (接诉即办) of a staff member's area for a month.

Staff land on the node of their top grant (global admins on the first district) and the
current month; buttons move a month back or forth, drill into a child node (street →
community → grid) and back up, and export the month as an Excel workbook. The message is
the chart (a photo) with the figures as its caption. Residents are refused."""

from __future__ import annotations

import asyncio
import re
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from aiogram.enums import ContentType
from aiogram.types import BufferedInputFile, CallbackQuery
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.api.entities import MediaAttachment
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.media import DynamicMedia
from aiogram_dialog.widgets.text import Format

from bot.dialogs.appeals.common import policy
from bot.dialogs.appeals.report import write_report
from bot.dialogs.appeals.states import Stats
from bot.formatting import e, node_path
from bot.i18n import Translator
from bot.kit.context import Ctx, ctx
from bot.kit.menu import menu_button
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.appeals import AppealPolicy, State
from storage.appeals.kpi import Figures, Month, NodeKpis, node_kpis
from storage.appeals.ranking import home_node as figures_home
from storage.appeals.ranking import is_global, may_see
from storage.hierarchy import Node, NodeKind

CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption (visible characters)
CHILD_BUTTON_WIDTH = 2
CHILD_PAGE_HEIGHT = 4


# --- formatting ----------------------------------------------------------------------------


def percent(value: Fraction | None, t: Translator) -> str:
    return t("stats.none") if value is None else f"{float(value) * 100:.1f}%"


def hours(value: float | None, t: Translator) -> str:
    if value is None:
        return t("stats.none")
    text = f"{value:.1f}"
    return t("stats.hours", hours=text.removesuffix(".0"))


def month_name(month: Month, t: Translator) -> str:
    return t("stats.month", year=month.year, month=month.month)


def overview_text(kpis: NodeKpis, chain: list[Node], t: Translator, policy: AppealPolicy) -> str:
    """The figures as a photo caption: always within Telegram's 1024 characters (the
    category and state lines go first if a long name would push it over)."""
    f = kpis.node
    head = [
        t("stats.title", node=e(f.name), month=month_name(kpis.month, t)),
    ]
    if len(chain) > 1:
        head.append(t("stats.path", path=node_path(chain[:-1])))
    head += [
        t("stats.total", total=f.total)
        + (t("stats.excluded", excluded=f.excluded) if f.excluded else ""),
        t("stats.late", late=f.late, overdue=f.overdue, unsatisfied=f.closed_unsatisfied),
        t(
            "stats.response",
            rate=percent(f.response_rate, t),
            part=f.accepted_in_time,
            whole=f.total,
        ),
        t("stats.resolution", rate=percent(f.resolution_rate, t), part=f.resolved, whole=f.total),
        t(
            "stats.on_time",
            rate=percent(f.on_time_rate, t),
            part=f.resolved_in_time,
            whole=f.total,
            reopen_rate=percent(f.reopen_rate, t),
            reopened=f.reopened,
        ),
        t(
            "stats.satisfaction",
            rate=percent(f.satisfaction_rate, t),
            part=f.satisfied,
            whole=f.rated,
        ),
        t(
            "stats.times",
            accept=hours(f.median_accept_hours, t),
            resolve=hours(f.median_resolve_hours, t),
        ),
    ]
    extra = []
    states = [
        t("stats.item", name=t(f"stats.state.{s.value}"), n=f.state_count(s))
        for s in State
        if f.state_count(s)
    ]
    if states:
        extra.append(t("stats.states", items=" · ".join(states)))
    categories = [
        t("stats.item", name=e(policy.category_name(code, t.language)), n=n)
        for code, n in f.by_category.items()
    ]
    if categories:
        extra.append(t("stats.categories", items=" · ".join(categories)))
    tail = []
    if kpis.children and kpis.child_kind is not None:
        tail.append(t("stats.drill", level=t(f"levels.{kpis.child_kind.value}")))
    while True:
        text = "\n".join(head + extra + tail)
        # Tags do not count towards the limit, so the raw length is a safe bound.
        if len(text) <= CAPTION_LIMIT or not (extra or tail):
            break
        (extra or tail).pop()
    if len(text) > CAPTION_LIMIT:
        text = text[: CAPTION_LIMIT - 1] + "…"
    return text


def child_label(figures: Figures) -> str:
    return f"{figures.name} · {figures.total}"


# --- scope ------------------------------------------------------------------------------------


async def home_node(c: Ctx) -> Node | None:
    """Where a staff member's stats open (the desk's ranking opens there too)."""
    return await figures_home(c.session, c.staffing)


async def current_node(c: Ctx, manager: DialogManager) -> Node | None:
    node_id = manager.dialog_data.get("node_id")
    node = await c.services.hierarchy.get(int(node_id)) if node_id is not None else None
    return node if may_see(c.staffing, node) else None


def current_month(manager: DialogManager) -> Month:
    c = ctx(manager)
    this_month = Month.of(c.clock.now(), c.zone)
    try:
        month = Month.parse(str(manager.dialog_data.get("month", "")))
    except ValueError:
        return this_month
    return min(month, this_month)


# --- the dialog ---------------------------------------------------------------------------------


async def on_dialog_start(_: Any, manager: DialogManager) -> None:
    c = ctx(manager)
    node = await home_node(c) if c.staffing.is_staff else None
    manager.dialog_data.update(
        node_id=node.id if node else None,
        month=str(Month.of(c.clock.now(), c.zone)),
    )
    if isinstance(manager.event, CallbackQuery):
        # From a text menu: a text message cannot be edited into a photo.
        manager.show_mode = ShowMode.DELETE_AND_SEND


async def overview_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    blank: dict[str, Any] = {
        "text": "",
        "chart": None,
        "prev_month": "",
        "next_month": "",
        "has_next": False,
        "children": [],
        "districts": [],
        "up_name": "",
        "allowed": False,
        "views": [],
    }
    if not c.staffing.is_staff:
        return {**blank, "text": c.t("common.not_allowed")}
    node = await current_node(c, dialog_manager)
    if node is None:
        return {**blank, "text": c.t("stats.no_scope")}
    repo = c.services.hierarchy
    month = current_month(dialog_manager)
    this_month = Month.of(c.clock.now(), c.zone)
    kpis = await node_kpis(c.session, node, month, now=c.clock.now(), zone=c.zone)
    chain = await repo.ancestors(node)
    # matplotlib is heavy to import (and builds a font cache on first use): only when a
    # chart is actually drawn, not at every start of the bot.
    from bot.dialogs.appeals.charts import chart_file, kpi_chart

    path = await asyncio.to_thread(chart_file, kpi_chart(kpis, c.t, policy(c)))
    parent = await repo.get(node.parent_id) if node.parent_id is not None else None
    districts: list[tuple[int, str]] = []
    if node.node_kind is NodeKind.DISTRICT and is_global(c.staffing):
        districts = [
            (d.id, d.name) for d in await repo.of_kind(NodeKind.DISTRICT) if d.id != node.id
        ]
    return {
        **blank,
        "text": overview_text(kpis, chain, c.t, policy(c)),
        "chart": MediaAttachment(ContentType.PHOTO, path=str(path)),
        "prev_month": month_name(month.prev(), c.t),
        "next_month": month_name(month.next(), c.t),
        "has_next": month < this_month,
        "children": [(f.node_id, child_label(f)) for f in kpis.children],
        "districts": districts,
        "up_name": parent.name if parent is not None and may_see(c.staffing, parent) else "",
        "allowed": True,
        "views": [(v.id, c.t(v.label)) for v in c.features.stats_views_for(c.user, c.staffing)],
    }


async def _refuse(manager: DialogManager) -> None:
    await toast(manager, ctx(manager).t("common.not_allowed"), alert=True)
    # Nothing changed: re-sending the same photo and caption is an error to Telegram.
    manager.show_mode = ShowMode.NO_UPDATE


async def _move_month(manager: DialogManager, step: int) -> None:
    old = current_month(manager)
    month = old.next() if step > 0 else old.prev()
    c = ctx(manager)
    month = min(month, Month.of(c.clock.now(), c.zone))
    if month == old:
        manager.show_mode = ShowMode.NO_UPDATE
        return
    manager.dialog_data["month"] = str(month)


async def on_prev(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _move_month(manager, -1)


async def on_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _move_month(manager, +1)


async def _go(manager: DialogManager, node_id: int | None) -> None:
    c = ctx(manager)
    node = await c.services.hierarchy.get(node_id) if node_id is not None else None
    if not may_see(c.staffing, node):
        await _refuse(manager)
        return
    assert node is not None
    manager.dialog_data["node_id"] = node.id


async def on_node(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    await _go(manager, int(item) if item.isdigit() else None)


async def on_district(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if not is_global(ctx(manager).staffing):
        await _refuse(manager)
        return
    await _go(manager, int(item) if item.isdigit() else None)


async def on_up(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node = await current_node(c, manager)
    await _go(manager, node.parent_id if node is not None else None)


async def on_excel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    node = await current_node(c, manager)
    if node is None:
        await _refuse(manager)
        return
    month = current_month(manager)
    # Answer the button now: a district's month takes a while to write.
    await toast(manager, c.t("stats.report_wait"))
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"gridbot-{node.code}-{month}.xlsx")
    with tempfile.TemporaryDirectory(prefix="gridbot-report-") as tmp:
        out = Path(tmp) / name
        await write_report(
            c.session,
            str(month),
            out,
            c.zone,
            policy(c),
            node.code,
            now=c.clock.now(),
            language=c.t.language,
        )
        data = await asyncio.to_thread(out.read_bytes)
    await c.bot.send_document(
        c.user_id,
        BufferedInputFile(data, filename=out.name),
        caption=c.t("stats.report_caption", node=e(node.name), month=month_name(month, c.t)),
    )
    # The stats message follows the document to the bottom of the chat.
    manager.show_mode = ShowMode.DELETE_AND_SEND


async def on_view(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    """Another feature's figures for the node and month on show (bot.registry
    ``stats_views``)."""
    c = ctx(manager)
    entry = next(
        (v for v in c.features.stats_views_for(c.user, c.staffing) if v.id == item_id), None
    )
    if entry is None:
        return
    await manager.start(
        entry.state,
        data={"node_id": manager.dialog_data.get("node_id"), "month": str(current_month(manager))},
        show_mode=ShowMode.DELETE_AND_SEND,
    )


def stats_dialog() -> Dialog:
    return Dialog(
        Window(
            DynamicMedia("chart", when="chart"),
            Format("{text}"),
            Row(
                Button(L("stats.button.prev"), id="prev", on_click=on_prev, when="allowed"),
                Button(L("stats.button.next"), id="next", on_click=on_next, when="has_next"),
            ),
            picker(
                "child",
                "children",
                on_node,
                width=CHILD_BUTTON_WIDTH,
                height=CHILD_PAGE_HEIGHT,
                when="children",
            ),
            picker(
                "district",
                "districts",
                on_district,
                width=CHILD_BUTTON_WIDTH,
                height=CHILD_PAGE_HEIGHT,
                when="districts",
            ),
            Button(L("stats.button.up"), id="up", on_click=on_up, when="up_name"),
            picker("views", "views", on_view, width=2, when="views"),
            Row(
                Button(L("stats.button.excel"), id="excel", on_click=on_excel, when="allowed"),
                menu_button("stats.button.menu", "menu"),
            ),
            state=Stats.overview,
            getter=overview_getter,
        ),
        on_start=on_dialog_start,
    )
