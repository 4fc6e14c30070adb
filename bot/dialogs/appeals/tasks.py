"""Staff side of appeals: "My tasks" (deadline-sorted, paged) and each task's detail with
the buttons the staff member may press (storage.appeals.rules decides which). The forms
behind the buttons that need input are in task_forms.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram.types import CallbackQuery, InputMediaPhoto
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.dialogs.appeals.common import policy, problem_text, service
from bot.dialogs.appeals.states import AssignTask, TaskInput, Tasks
from bot.dialogs.appeals.views import (
    Viewing,
    full_pages,
    resident_media,
    short_deadline,
    task_detail,
)
from bot.kit.context import Ctx, ctx
from bot.kit.menu import menu_button
from bot.kit.notice import take_notice
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import current_page, fetch_page, page_count, pager, picker
from storage.appeals import (
    MAX_PHOTOS,
    Action,
    Appeal,
    AppealError,
    Problem,
    allowed_actions,
    refusal,
)
from storage.hierarchy import Node

PAGE_SIZE = 8
SCROLL = "tasks_pages"
# The actions that need input open a form; accept and open act at once.
INPUT_ACTIONS = {
    Action.ASSIGN: AssignTask.worker,
    Action.REJECT: TaskInput.reason,
    Action.CALL_UP: TaskInput.reason,
    Action.SUPERVISE: TaskInput.reason,
    Action.PROGRESS: TaskInput.progress,
    Action.RESOLVE: TaskInput.resolve,
    Action.TRANSFER: TaskInput.transfer_community,
}


def viewing(c: Ctx) -> Viewing:
    return Viewing(c.session, c.t, c.zone, policy(c), c.clock.now())


# --- My tasks ------------------------------------------------------------------------------


async def _building_names(c: Ctx, appeals: Sequence[Appeal]) -> dict[int, str]:
    ids = {a.building_id for a in appeals if a.building_id is not None}
    if not ids:
        return {}
    rows = await c.session.execute(select(Node.id, Node.name).where(Node.id.in_(ids)))
    return {int(i): str(n) for i, n in rows.all()}


def task_row(appeal: Appeal, building: str, c: Ctx) -> str:
    """One line of the list: overdue ones say by how long, in front."""
    v = viewing(c)
    parts = [f"#{appeal.number} {policy(c).category_name(appeal.category, c.t.language)}"]
    if building:
        parts.append(building)
    deadline = short_deadline(appeal, v)
    urgent = "🆘 " if appeal.urgent else ""
    if appeal.overdue(v.now):
        return f"{deadline} · {urgent}" + " · ".join(parts)
    return urgent + " · ".join([*parts, deadline] if deadline else parts)


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_staff:
        return {"text": c.t("common.not_allowed"), "items": [], "pages": 1}
    svc = service(c)

    async def fetch(offset: int, limit: int) -> tuple[Sequence[Appeal], int]:
        return await svc.tasks(c.staffing, offset=offset, limit=limit)

    rows, total = await fetch_page(dialog_manager, SCROLL, PAGE_SIZE, fetch)
    pages = page_count(total, PAGE_SIZE)
    now = c.clock.now()
    names = await _building_names(c, rows)
    items = [(a.id, task_row(a, names.get(a.building_id or 0, ""), c)) for a in rows]
    if not items:
        text = c.t("tasks.list.empty")
    else:
        lines = [c.t("tasks.list.title", total=total)]
        if pages > 1:
            page = await current_page(dialog_manager, SCROLL)
            lines.append(c.t("tasks.list.page", page=page + 1, pages=pages))
        if any(a.overdue(now) for a in rows):
            lines.append(c.t("tasks.list.overdue_hint"))
        text = "\n".join(lines)
    return {"text": text, "items": items, "pages": pages}


async def on_task(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if not item.isdigit():
        return
    manager.dialog_data["appeal_id"] = int(item)
    await manager.switch_to(Tasks.detail)


# --- one task -----------------------------------------------------------------------------

DETAIL_FLAGS = tuple(a for a in Action if a is not Action.OPEN)


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    notice = take_notice(dialog_manager)
    appeal_id = int(dialog_manager.dialog_data.get("appeal_id", 0))
    appeal = await (await c.scoped()).appeal(appeal_id) if appeal_id else None
    flags = {f"can_{a.value}": False for a in DETAIL_FLAGS}
    if refusal(Action.OPEN, appeal, c.staffing) is not None or appeal is None:
        text = c.t("tasks.detail.gone")
        return {
            "text": f"{notice}\n\n{text}" if notice else text,
            "has_media": False,
            "shortened": False,
            **flags,
        }
    card, shortened = await task_detail(viewing(c), appeal, c.staffing)
    allowed = allowed_actions(appeal, c.staffing)
    return {
        "text": f"{notice}\n\n{card}" if notice else card,
        "has_media": bool(await resident_media(c.session, appeal)),
        "shortened": shortened,
        **{f"can_{a.value}": a in allowed for a in DETAIL_FLAGS},
    }


async def on_full_text(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal = await _detail_appeal(manager)
    if refusal(Action.OPEN, appeal, c.staffing) is not None or appeal is None:
        await toast(manager, problem_text(c.t, Problem.NOT_ALLOWED), alert=True)
        return
    for page in await full_pages(viewing(c), appeal, c.staffing):
        await c.bot.send_message(c.user_id, page)
    # Keep the task's buttons below what was just sent.
    manager.show_mode = ShowMode.DELETE_AND_SEND


async def _detail_appeal(manager: DialogManager) -> Appeal | None:
    c = ctx(manager)
    appeal_id = int(manager.dialog_data.get("appeal_id", 0))
    return await (await c.scoped()).appeal(appeal_id) if appeal_id else None


async def on_detail_accept(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = int(manager.dialog_data.get("appeal_id", 0))
    try:
        await service(c).accept(appeal_id, c.staffing)
    except AppealError as exc:
        problem = exc.problem
        if problem is Problem.CONFLICT:
            await c.rollback()
            problem = Problem.ALREADY_TAKEN
        await toast(manager, problem_text(c.t, problem), alert=True)
        return
    await toast(manager, c.t("tasks.accepted_toast"))


def _start_from_detail(
    action: Action,
) -> Callable[[CallbackQuery, Button, DialogManager], Awaitable[None]]:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        appeal = await _detail_appeal(manager)
        problem = refusal(action, appeal, c.staffing)
        if problem is not None or appeal is None:
            await toast(manager, problem_text(c.t, problem or Problem.NOT_FOUND), alert=True)
            return
        await manager.start(
            INPUT_ACTIONS[action], data={"appeal_id": appeal.id, "action": action.value}
        )

    return handler


async def on_media(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal = await _detail_appeal(manager)
    if refusal(Action.OPEN, appeal, c.staffing) is not None or appeal is None:
        await toast(manager, problem_text(c.t, Problem.NOT_ALLOWED), alert=True)
        return
    media = await resident_media(c.session, appeal)
    photos = [m.file_id for m in media if m.kind == "photo"]
    if len(photos) == 1:
        await c.bot.send_photo(c.user_id, photos[0])
    elif photos:
        group: list[Any] = [InputMediaPhoto(media=f) for f in photos[:MAX_PHOTOS]]
        await c.bot.send_media_group(c.user_id, group)
    for m in media:
        if m.kind == "voice":
            await c.bot.send_voice(c.user_id, m.file_id)
    if not media:
        await toast(manager, c.t("tasks.detail.no_media"), alert=True)
        return
    # Keep the task's buttons below the media just sent.
    manager.show_mode = ShowMode.DELETE_AND_SEND


async def on_input_result(start: Any, result: Any, manager: DialogManager) -> None:
    if isinstance(result, dict) and result.get("notice"):
        manager.dialog_data["notice"] = result["notice"]


async def _back_to_list(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.switch_to(Tasks.list)


def _action_button(action: Action) -> Button:
    return Button(
        L(f"appeal.button.{action.value}"),
        id=f"detail_{action.value}",
        on_click=on_detail_accept if action is Action.ACCEPT else _start_from_detail(action),
        when=f"can_{action.value}",
    )


def tasks_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            picker("task", "items", on_task),
            *pager(SCROLL, "tasks.list.prev", "tasks.list.next"),
            menu_button("tasks.list.menu", "list_menu"),
            state=Tasks.list,
            getter=list_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                _action_button(Action.ACCEPT),
                _action_button(Action.ASSIGN),
                _action_button(Action.SUPERVISE),
            ),
            Row(_action_button(Action.PROGRESS), _action_button(Action.RESOLVE)),
            Row(
                _action_button(Action.REJECT),
                _action_button(Action.TRANSFER),
                _action_button(Action.CALL_UP),
            ),
            Row(
                Button(
                    L("appeal.button.open"),
                    id="detail_full",
                    on_click=on_full_text,
                    when="shortened",
                ),
                Button(
                    L("tasks.detail.media"), id="detail_media", on_click=on_media, when="has_media"
                ),
            ),
            Button(L("tasks.detail.back"), id="detail_list", on_click=_back_to_list),
            state=Tasks.detail,
            getter=detail_getter,
        ),
        on_process_result=on_input_result,
    )
