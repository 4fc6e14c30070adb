"""/notices: the notices of the officer's part of the hierarchy, newest first, each with
its figures; one opens to its report (progress, acknowledgements per grid, the text)."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import SwitchTo

from bot.dialogs.notices.states import NoticeArchive
from bot.dialogs.notices.views import waiting_lines
from bot.formatting import MESSAGE_LIMIT, e, local_time, visible_length
from bot.kit.context import ctx
from bot.kit.menu import menu_button
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.notices import NoticeService
from storage.notices.rules import SENDERS

PAGE_HEIGHT = 8
LABEL = 24


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    scopes = c.staffing.scopes(SENDERS)
    notices = await c.services.get(NoticeService).archive(scopes) if scopes else []
    items = []
    for n in notices:
        first = (n.body.splitlines() or [""])[0] if n.body else c.t(f"notice.media.{n.media}")
        if len(first) > LABEL:  # a label: the whole text is one tap away, in the report
            first = first[: LABEL - 1] + "…"
        items.append(
            (
                n.id,
                c.t(
                    "notice.archive.item",
                    id=n.id,
                    date=local_time(n.created_at, c.zone),
                    first=first,
                    count=n.recipients,
                ),
            )
        )
    return {"items": items, "empty": not items}


async def on_open(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    notice = await (await c.scoped()).notice(int(item)) if item.isdigit() else None
    node = await c.services.hierarchy.get(notice.node_id) if notice else None
    if notice is None or node is None or not c.staffing.covers(node, SENDERS):
        await toast(manager, c.t("notice.not_allowed"), alert=True)
        return
    manager.dialog_data["notice_id"] = notice.id
    await manager.switch_to(NoticeArchive.detail)


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = c.services.get(NoticeService)
    notice = await (await c.scoped()).notice(int(dialog_manager.dialog_data.get("notice_id", 0)))
    node = await c.services.hierarchy.get(notice.node_id) if notice else None
    if notice is None or node is None or not c.staffing.covers(node, SENDERS):
        return {"report": c.t("notice.not_allowed")}
    progress = await service.progress(notice)
    lines = [
        c.t(
            "notice.archive.head",
            id=notice.id,
            place=e(node.name),
            date=local_time(notice.created_at, c.zone),
            state=c.t(f"notice.state.{notice.state}"),
        ),
        c.t(
            "notice.progress.figures",
            total=notice.recipients,
            sent=progress.sent,
            waiting=progress.waiting,
            failed=progress.failed,
            blocked=progress.blocked + notice.blocked,
        ),
        *waiting_lines(c.t, notice.state, progress, c.settings.send_rate, c.zone),
    ]
    if notice.muted:
        lines.append(c.t("notice.archive.muted", n=notice.muted))
    if notice.ack_required:
        receipts = await service.receipts(notice)
        lines.append(c.t("notice.progress.acked", acked=receipts.acked, sent=receipts.reached))
        for grid, acked, reached in receipts.grids:
            lines.append(c.t("notice.archive.grid", grid=e(grid), acked=acked, reached=reached))
        acked, reached = receipts.others
        if reached:
            lines.append(c.t("notice.archive.others", acked=acked, reached=reached))
    body = e(notice.body) if notice.body else c.t(f"notice.media.{notice.media}")
    if visible_length("\n".join([*lines, "", body])) > MESSAGE_LIMIT:
        body = c.t("notice.archive.long_body", n=len(notice.body))  # said, not cut
    return {"report": "\n".join([*lines, "", body])}


def archive_dialog() -> Dialog:
    return Dialog(
        Window(
            L("notice.archive.title"),
            L("notice.archive.empty", when="empty"),
            picker("open", "items", on_open, height=PAGE_HEIGHT),
            menu_button(widget_id="list_menu"),
            state=NoticeArchive.list,
            getter=list_getter,
        ),
        Window(
            L("notice.archive.report"),
            SwitchTo(L("common.back"), id="to_list", state=NoticeArchive.list),
            menu_button(widget_id="detail_menu"),
            state=NoticeArchive.detail,
            getter=detail_getter,
        ),
    )
