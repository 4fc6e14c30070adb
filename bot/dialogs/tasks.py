"""Staff side of appeals: "My tasks" (deadline-sorted, paged) and the short forms behind
the task buttons (reject, call up, progress, resolve, transfer).

The forms start either from a pushed task message (bot.handlers.appeals, on a fresh
stack: when they end, the updated card is sent with its buttons) or from a task's detail
window (they end back there). Every step re-checks the appeal through AppealService;
wrong input is explained and what was typed is kept."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import CallbackQuery, ContentType, InputMediaPhoto, Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, Select
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.appeal_views import (
    category_name,
    resident_media,
    task_buttons,
    task_card,
)
from bot.dialogs.common import Ctx, L, ctx, start_data
from bot.dialogs.states import MainMenu, TaskInput, Tasks
from bot.dialogs.toast import toast
from bot.formatting import e
from bot.i18n import Translator
from storage.appeals import (
    MAX_PHOTOS,
    OPEN_STATES,
    UNACCEPTED,
    WORKING,
    Appeal,
    AppealError,
    AppealService,
    Problem,
    may_handle,
)
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from storage.staff import Role, Staffing
from storage.users import User

PAGE_SIZE = 8
INPUT_ACTIONS = {
    "reject": TaskInput.reason,
    "callup": TaskInput.reason,
    "progress": TaskInput.progress,
    "resolve": TaskInput.resolve,
    "transfer": TaskInput.transfer_community,
}
ACTIONS = frozenset({"accept", "open", *INPUT_ACTIONS})
_NUMBER = re.compile(r"^\s*(?:#|＃|no\.?\s*)?\s*(\d{1,12})\s*$", re.IGNORECASE)


# --- shared rules and rendering (used by bot.handlers.appeals too) -------------------------


def is_supervisor(staffing: Staffing, appeal: Appeal) -> bool:
    """Staff above the grid whose area covers the appeal may take over from its owner."""
    return any(
        grant.role is not Role.WORKER
        and (grant.node is None or appeal.scope_path.startswith(grant.node.path))
        for grant in staffing.grants
    )


def precheck(action: str, appeal: Appeal | None, staffing: Staffing) -> Problem | None:
    """Why ``action`` cannot start now, checked before asking for input. AppealService
    checks again when the action is carried out: this only spares typing in vain."""
    if appeal is None:
        return Problem.NOT_FOUND
    if action not in ACTIONS or not may_handle(staffing, appeal):
        return Problem.NOT_ALLOWED
    me = staffing.user_id
    owned_by_other = appeal.owner_id is not None and appeal.owner_id != me
    if action == "accept":
        if appeal.state in WORKING and appeal.owner_id is not None:
            return Problem.ALREADY_TAKEN
        if appeal.state not in UNACCEPTED:
            return Problem.WRONG_STATE
    elif action in ("progress", "resolve"):
        if appeal.state not in WORKING:
            return Problem.WRONG_STATE
        if appeal.owner_id != me:
            return Problem.ALREADY_TAKEN if appeal.owner_id else Problem.WRONG_STATE
    elif action in ("reject", "callup", "transfer"):
        if appeal.state not in OPEN_STATES:
            return Problem.WRONG_STATE
        if owned_by_other and (action == "reject" or not is_supervisor(staffing, appeal)):
            return Problem.ALREADY_TAKEN
        if action == "callup" and appeal.level_enum.up is None:
            return Problem.TOP_LEVEL
    return None


def problem_text(problem: Problem, t: Translator) -> str:
    return t(f"appeal.problem.{problem.value}")


def short_time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%m-%d %H:%M") if moment else "—"


def current_deadline(appeal: Appeal) -> datetime | None:
    if appeal.state in UNACCEPTED:
        return appeal.accept_due
    if appeal.state in WORKING:
        return appeal.resolve_due
    return None


async def recover(session: AsyncSession, staffing: Staffing, user: User | None) -> None:
    """After a failed write (a conflict with a concurrent change) the session must be
    rolled back; that expires what the middleware loaded, so reload it."""
    await session.rollback()
    for grant in staffing.grants:
        if grant.node is not None:
            await session.refresh(grant.node)
    if user is not None:
        await session.refresh(user)


# --- My tasks ------------------------------------------------------------------------------


async def _building_names(session: AsyncSession, appeals: Sequence[Appeal]) -> dict[int, str]:
    ids = {a.building_id for a in appeals if a.building_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(Node.id, Node.name).where(Node.id.in_(ids)))
    return {int(i): str(n) for i, n in rows.all()}


def task_row(appeal: Appeal, building: str, c: Ctx, now: datetime) -> str:
    parts = [f"#{appeal.number} {c.policy.category_name(appeal.category, c.t.language)}"]
    if building:
        parts.append(building)
    parts.append(f"⏰ {short_time(current_deadline(appeal), c.settings.zone)}")
    mark = "⚠️ " if appeal.overdue(now) else ""
    urgent = "🆘 " if appeal.urgent else ""
    return mark + urgent + " · ".join(parts)


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_staff:
        return {"allowed": False, "text": c.t("common.not_allowed"), "items": []}
    service = AppealService(c.session, c.policy, c.clock.now())
    page = int(dialog_manager.dialog_data.get("page", 0))
    rows, total = await service.tasks(c.staffing, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if not rows and page > 0:
        # Tasks were done meanwhile: show the last page that still has some.
        page = pages - 1
        dialog_manager.dialog_data["page"] = page
        rows, total = await service.tasks(c.staffing, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
    now = c.clock.now()
    names = await _building_names(c.session, rows)
    items = [(a.id, task_row(a, names.get(a.building_id or 0, ""), c, now)) for a in rows]
    if not items:
        text = c.t("tasks.list.empty")
    else:
        lines = [c.t("tasks.list.title", total=total)]
        if pages > 1:
            lines.append(c.t("tasks.list.page", page=page + 1, pages=pages))
        if any(a.overdue(now) for a in rows):
            lines.append(c.t("tasks.list.overdue_hint"))
        text = "\n".join(lines)
    return {
        "allowed": True,
        "text": text,
        "items": items,
        "has_prev": page > 0,
        "has_next": page + 1 < pages,
    }


async def _page(manager: DialogManager, delta: int) -> None:
    manager.dialog_data["page"] = max(0, int(manager.dialog_data.get("page", 0)) + delta)


async def on_prev(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _page(manager, -1)


async def on_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _page(manager, 1)


async def on_task(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    if not item.isdigit():
        return
    manager.dialog_data["appeal_id"] = int(item)
    await manager.switch_to(Tasks.detail)


async def to_menu(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


def _flags(appeal: Appeal, staffing: Staffing) -> dict[str, bool]:
    return {
        f"can_{action}": precheck(action, appeal, staffing) is None
        for action in ("accept", "reject", "callup", "progress", "resolve", "transfer")
    }


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    notice = dialog_manager.dialog_data.pop("notice", "")
    appeal_id = int(dialog_manager.dialog_data.get("appeal_id", 0))
    appeal = await c.session.get(Appeal, appeal_id) if appeal_id else None
    flags = dict.fromkeys(
        ("can_accept", "can_reject", "can_callup", "can_progress", "can_resolve", "can_transfer"),
        False,
    )
    if appeal is None or not may_handle(c.staffing, appeal):
        text = c.t("tasks.detail.gone")
        return {"text": f"{notice}\n\n{text}" if notice else text, "has_media": False, **flags}
    card = await task_card(
        c.session,
        appeal,
        c.user_id,
        c.t,
        c.settings.zone,
        c.policy,
        c.clock.now(),
        timeline=True,
    )
    return {
        "text": f"{notice}\n\n{card}" if notice else card,
        "has_media": bool(await resident_media(c.session, appeal)),
        **_flags(appeal, c.staffing),
    }


async def on_detail_accept(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = int(manager.dialog_data.get("appeal_id", 0))
    try:
        await AppealService(c.session, c.policy, c.clock.now()).accept(appeal_id, c.staffing)
    except AppealError as exc:
        problem = exc.problem
        if problem is Problem.CONFLICT:
            await recover(c.session, c.staffing, c.user)
            problem = Problem.ALREADY_TAKEN
        await toast(manager, problem_text(problem, c.t), alert=True)
        return
    await c.session.commit()
    await toast(manager, c.t("tasks.accepted_toast"))


def _start_from_detail(
    action: str,
) -> Callable[[CallbackQuery, Button, DialogManager], Awaitable[None]]:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        c = ctx(manager)
        appeal_id = int(manager.dialog_data.get("appeal_id", 0))
        appeal = await c.session.get(Appeal, appeal_id) if appeal_id else None
        problem = precheck(action, appeal, c.staffing)
        if problem is not None:
            await toast(manager, problem_text(problem, c.t), alert=True)
            return
        await manager.start(INPUT_ACTIONS[action], data={"appeal_id": appeal_id, "action": action})

    return handler


async def on_media(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal = await c.session.get(Appeal, int(manager.dialog_data.get("appeal_id", 0)))
    if appeal is None or not may_handle(c.staffing, appeal):
        await toast(manager, problem_text(Problem.NOT_ALLOWED, c.t), alert=True)
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


def tasks_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            Column(
                Select(
                    Format("{item[1]}"),
                    id="task",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_task,
                )
            ),
            Row(
                Button(L("tasks.list.prev"), id="prev", on_click=on_prev, when="has_prev"),
                Button(L("tasks.list.next"), id="next", on_click=on_next, when="has_next"),
            ),
            Button(L("tasks.list.menu"), id="menu", on_click=to_menu),
            state=Tasks.list,
            getter=list_getter,
        ),
        Window(
            Format("{text}"),
            Button(
                L("appeal.button.accept"), id="accept", on_click=on_detail_accept, when="can_accept"
            ),
            Row(
                Button(
                    L("appeal.button.progress"),
                    id="progress",
                    on_click=_start_from_detail("progress"),
                    when="can_progress",
                ),
                Button(
                    L("appeal.button.resolve"),
                    id="resolve",
                    on_click=_start_from_detail("resolve"),
                    when="can_resolve",
                ),
            ),
            Row(
                Button(
                    L("appeal.button.reject"),
                    id="reject",
                    on_click=_start_from_detail("reject"),
                    when="can_reject",
                ),
                Button(
                    L("appeal.button.transfer"),
                    id="transfer",
                    on_click=_start_from_detail("transfer"),
                    when="can_transfer",
                ),
                Button(
                    L("appeal.button.callup"),
                    id="callup",
                    on_click=_start_from_detail("callup"),
                    when="can_callup",
                ),
            ),
            Button(L("tasks.detail.media"), id="media", on_click=on_media, when="has_media"),
            Button(L("tasks.detail.back"), id="list", on_click=_back_to_list),
            state=Tasks.detail,
            getter=detail_getter,
        ),
        on_process_result=on_input_result,
    )


async def _back_to_list(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.switch_to(Tasks.list)


# --- the inputs behind the task buttons ------------------------------------------------------


def _appeal_id(manager: DialogManager) -> int:
    return int(start_data(manager).get("appeal_id", 0))


def _action(manager: DialogManager) -> str:
    return str(start_data(manager).get("action", ""))


async def _head(c: Ctx, appeal: Appeal | None) -> str:
    if appeal is None:
        return ""
    return c.t(
        "tasks.input.head", number=appeal.number, category=category_name(appeal, c.policy, c.t)
    )


async def _input_base(manager: DialogManager) -> tuple[Ctx, Appeal | None, dict[str, Any]]:
    c = ctx(manager)
    appeal = await c.session.get(Appeal, _appeal_id(manager))
    d = manager.dialog_data
    return c, appeal, {"head": await _head(c, appeal), "notice": d.get("notice", "")}


async def _end(manager: DialogManager, notice: str, appeal_id: int) -> None:
    """Close the form. Back in the task's detail window the notice shows there; a form
    started from a pushed message sends the updated card with its buttons instead."""
    c = ctx(manager)
    await c.session.commit()
    await manager.done({"notice": notice})
    if manager.has_context():
        return
    appeal = await c.session.get(Appeal, appeal_id) if appeal_id else None
    if appeal is None or not (may_handle(c.staffing, appeal) or appeal.owner_id == c.user_id):
        await c.bot.send_message(c.user_id, notice)
        return
    card = await task_card(
        c.session, appeal, c.user_id, c.t, c.settings.zone, c.policy, c.clock.now()
    )
    await c.bot.send_message(
        c.user_id, f"{notice}\n\n{card}", reply_markup=task_buttons(appeal, c.user_id, c.t)
    )


async def _carry_out(
    manager: DialogManager,
    action: str,
    run: Callable[[AppealService], Awaitable[Appeal]],
    done_key: str,
    **values: Any,
) -> bool:
    """Run the service call; on success close the form with ``done_key``. A refusal the
    user can fix (bad input) keeps the form open; any other refusal closes it, saying
    why. Returns whether the form is still open."""
    c = ctx(manager)
    appeal_id = _appeal_id(manager)
    appeal = await c.session.get(Appeal, appeal_id) if appeal_id else None
    problem = precheck(action, appeal, c.staffing)
    if problem is None:
        try:
            appeal = await run(AppealService(c.session, c.policy, c.clock.now()))
        except AppealError as exc:
            problem = exc.problem
            await recover(c.session, c.staffing, c.user)
    if problem is None and appeal is not None:
        await _end(manager, c.t(done_key, number=appeal.number, **values), appeal_id)
        return False
    assert problem is not None
    if problem in (Problem.BAD_INPUT, Problem.TOO_MANY_PHOTOS):
        manager.dialog_data["notice"] = problem_text(problem, c.t)
        return True
    await toast(manager, problem_text(problem, c.t), alert=True)
    await _end(manager, problem_text(problem, c.t), appeal_id)
    return False


async def on_cancel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await _end(manager, c.t("tasks.input.cancelled"), _appeal_id(manager))


def _kept(c: Ctx, text: str) -> str:
    return c.t("tasks.input.kept", text=e(text[:1000])) if text.strip() else ""


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


# reason: reject (out of scope / duplicate) and call up


async def reason_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c, appeal, base = await _input_base(dialog_manager)
    d = dialog_manager.dialog_data
    action = _action(dialog_manager)
    kind = d.get("kind")
    draft = str(d.get("draft", ""))
    if action == "callup":
        up = appeal.level_enum.up if appeal else None
        level = c.t(f"appeal.level.{up.value}") if up else "—"
        prompt = c.t("tasks.callup.prompt", level=level)
    elif kind == "scope":
        prompt = c.t("tasks.reject.scope_prompt")
    else:
        prompt = c.t("tasks.reject.choose")
    return {
        "text": _join(base["head"], prompt, _kept(c, draft), base["notice"]),
        "choosing": action == "reject" and kind is None,
        "scope": action == "reject" and kind == "scope",
        "has_draft": bool(draft.strip()) and action == "reject" and kind == "scope",
    }


async def _reject_scope(manager: DialogManager, reason: str) -> None:
    c = ctx(manager)
    appeal_id = _appeal_id(manager)

    async def run(service: AppealService) -> Appeal:
        return await service.reject(appeal_id, c.staffing, reason)

    await _carry_out(manager, "reject", run, "tasks.reject.done")


async def _call_up(manager: DialogManager, reason: str) -> None:
    c = ctx(manager)
    appeal_id = _appeal_id(manager)

    async def run(service: AppealService) -> Appeal:
        return await service.call_up(appeal_id, c.staffing, reason)

    appeal = await c.session.get(Appeal, appeal_id)
    up = appeal.level_enum.up if appeal else None
    level = c.t(f"appeal.level.{up.value}") if up else "—"
    await _carry_out(manager, "callup", run, "tasks.callup.done", level=level)


async def on_reason_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    d = manager.dialog_data
    text = (message.text or "").strip()
    if not text:
        d["notice"] = c.t("tasks.input.text_needed")
        return
    d["draft"] = text
    d["notice"] = ""
    if _action(manager) == "callup":
        await _call_up(manager, text)
    elif d.get("kind") == "scope":
        await _reject_scope(manager, text)
    else:
        d["notice"] = c.t("tasks.reject.choose_first")


async def on_out_of_scope(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data.update(kind="scope", notice="")


async def on_use_draft(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    draft = str(manager.dialog_data.get("draft", "")).strip()
    if draft:
        await _reject_scope(manager, draft)


async def on_duplicate(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data.update(notice="")
    await manager.switch_to(TaskInput.duplicate)


async def on_reason_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data.update(kind=None, notice="")


# duplicate: the number of the original


async def duplicate_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c, _appeal, base = await _input_base(dialog_manager)
    return {"text": _join(base["head"], c.t("tasks.reject.dup_prompt"), base["notice"])}


async def on_duplicate_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    d = manager.dialog_data
    typed = (message.text or "").strip()
    if not typed:
        d["notice"] = c.t("tasks.input.text_needed")
        return
    match = _NUMBER.match(typed)
    if match is None:
        d["notice"] = c.t("tasks.reject.dup_format", text=e(typed[:100]))
        return
    number = int(match.group(1))
    appeal_id = _appeal_id(manager)
    shown = f"{number:06d}"
    original = await c.session.get(Appeal, number) if number < 2**31 else None
    if number == appeal_id:
        d["notice"] = c.t("tasks.reject.dup_self")
        return
    if original is None:
        d["notice"] = c.t("tasks.reject.dup_unknown", number=shown)
        return
    if not may_handle(c.staffing, original):
        d["notice"] = c.t("tasks.reject.dup_foreign", number=shown)
        return
    if not original.is_open:
        d["notice"] = c.t("tasks.reject.dup_closed", number=shown)
        return
    reason = c.t("tasks.reject.dup_reason", number=shown)

    async def run(service: AppealService) -> Appeal:
        return await service.reject(appeal_id, c.staffing, reason, duplicate_of=number)

    d["notice"] = ""
    await _carry_out(manager, "reject", run, "tasks.reject.done")


async def on_duplicate_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data.update(kind=None, notice="")
    await manager.switch_to(TaskInput.reason)


# progress and resolve: a note and photos


async def _note_getter(
    dialog_manager: DialogManager, prompt_key: str, status_key: str
) -> dict[str, Any]:
    c, _appeal, base = await _input_base(dialog_manager)
    d = dialog_manager.dialog_data
    note = str(d.get("note", ""))
    photos = list(d.get("photos", []))
    status = c.t(status_key, note=e(note[:1000]) if note else "—", photos=len(photos))
    return {
        "text": _join(base["head"], c.t(prompt_key), status, base["notice"]),
        "has_any": bool(note.strip() or photos),
        "has_note": bool(note.strip()),
    }


async def progress_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return await _note_getter(dialog_manager, "tasks.progress.prompt", "tasks.progress.status")


async def resolve_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return await _note_getter(dialog_manager, "tasks.resolve.prompt", "tasks.resolve.status")


async def on_note_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    d = manager.dialog_data
    d["notice"] = ""
    added = message.text or message.caption or ""
    if message.photo:
        photos = list(d.get("photos", []))
        if len(photos) >= MAX_PHOTOS:
            d["notice"] = c.t("tasks.progress.too_many", n=MAX_PHOTOS)
        else:
            photos.append(message.photo[-1].file_id)
            d["photos"] = photos
    elif message.voice:
        d["notice"] = c.t("tasks.input.text_needed")
    elif not message.text:
        d["notice"] = c.t("tasks.input.unsupported")
    if added.strip():
        note = str(d.get("note", ""))
        d["note"] = f"{note}\n{added.strip()}" if note else added.strip()
    if (
        manager.current_context().state == TaskInput.resolve
        and not str(d.get("note", "")).strip()
        and not d["notice"]
    ):
        d["notice"] = c.t("tasks.resolve.note_missing")


async def on_progress_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = _appeal_id(manager)
    note = str(manager.dialog_data.get("note", ""))
    photos = list(manager.dialog_data.get("photos", []))

    async def run(service: AppealService) -> Appeal:
        return await service.progress(appeal_id, c.staffing, note, photos)

    await _carry_out(manager, "progress", run, "tasks.progress.done")


async def on_resolve_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = _appeal_id(manager)
    note = str(manager.dialog_data.get("note", ""))
    photos = list(manager.dialog_data.get("photos", []))
    if not note.strip():
        manager.dialog_data["notice"] = c.t("tasks.resolve.note_missing")
        return

    async def run(service: AppealService) -> Appeal:
        return await service.resolve(appeal_id, c.staffing, note, photos)

    await _carry_out(manager, "resolve", run, "tasks.resolve.done")


# transfer: community, then grid, within the appeal's district


async def _district(c: Ctx, appeal: Appeal | None) -> Node | None:
    return await HierarchyRepo(c.session).get(appeal.district_id) if appeal else None


async def community_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c, appeal, base = await _input_base(dialog_manager)
    district = await _district(c, appeal)
    communities = (
        await HierarchyRepo(c.session).of_kind(NodeKind.COMMUNITY, within=district)
        if district
        else []
    )
    return {
        "text": _join(base["head"], c.t("tasks.transfer.community"), base["notice"]),
        "items": [(n.id, n.name) for n in communities],
    }


async def on_community(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    appeal = await c.session.get(Appeal, _appeal_id(manager))
    node = await HierarchyRepo(c.session).get(int(item)) if item.isdigit() else None
    district = await _district(c, appeal)
    if (
        node is None
        or district is None
        or node.node_kind is not NodeKind.COMMUNITY
        or not node.is_within(district)
    ):
        manager.dialog_data["notice"] = c.t("tasks.transfer.wrong_place")
        return
    manager.dialog_data.update(community_id=node.id, notice="")
    await manager.switch_to(TaskInput.transfer_grid)


async def grid_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c, appeal, base = await _input_base(dialog_manager)
    repo = HierarchyRepo(c.session)
    community = await repo.get(int(dialog_manager.dialog_data.get("community_id", 0)))
    grids = (
        [
            g
            for g in await repo.children(community.id, NodeKind.GRID)
            if appeal is None or g.id != appeal.grid_id
        ]
        if community
        else []
    )
    prompt = c.t("tasks.transfer.grid", community=e(community.name) if community else "—")
    if not grids:
        prompt = _join(prompt, c.t("tasks.transfer.no_grids"))
    return {
        "text": _join(base["head"], prompt, base["notice"]),
        "items": [(g.id, g.name) for g in grids],
    }


async def on_grid(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    appeal_id = _appeal_id(manager)
    appeal = await c.session.get(Appeal, appeal_id)
    grid = await HierarchyRepo(c.session).get(int(item)) if item.isdigit() else None
    district = await _district(c, appeal)
    if (
        grid is None
        or district is None
        or grid.node_kind is not NodeKind.GRID
        or not grid.is_within(district)
    ):
        manager.dialog_data["notice"] = c.t("tasks.transfer.wrong_place")
        return
    target = grid

    async def run(service: AppealService) -> Appeal:
        return await service.transfer(appeal_id, c.staffing, target)

    await _carry_out(manager, "transfer", run, "tasks.transfer.done", grid=e(grid.name))


async def on_grid_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["notice"] = ""
    await manager.switch_to(TaskInput.transfer_community)


def _cancel() -> Button:
    return Button(L("tasks.input.cancel"), id="cancel", on_click=on_cancel)


def task_input_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            Row(
                Button(
                    L("tasks.reject.out_of_scope"),
                    id="scope",
                    on_click=on_out_of_scope,
                    when="choosing",
                ),
                Button(
                    L("tasks.reject.duplicate"), id="dup", on_click=on_duplicate, when="choosing"
                ),
            ),
            Button(
                L("tasks.reject.use_draft"), id="use_draft", on_click=on_use_draft, when="has_draft"
            ),
            Row(
                Button(L("tasks.input.back"), id="back", on_click=on_reason_back, when="scope"),
                _cancel(),
            ),
            MessageInput(on_reason_input, content_types=ContentType.ANY),
            state=TaskInput.reason,
            getter=reason_getter,
        ),
        Window(
            Format("{text}"),
            Row(Button(L("tasks.input.back"), id="back", on_click=on_duplicate_back), _cancel()),
            MessageInput(on_duplicate_input, content_types=ContentType.ANY),
            state=TaskInput.duplicate,
            getter=duplicate_getter,
        ),
        Window(
            Format("{text}"),
            Button(
                L("tasks.progress.submit"), id="submit", on_click=on_progress_submit, when="has_any"
            ),
            _cancel(),
            MessageInput(on_note_input, content_types=ContentType.ANY),
            state=TaskInput.progress,
            getter=progress_getter,
        ),
        Window(
            Format("{text}"),
            Button(
                L("tasks.resolve.submit"), id="submit", on_click=on_resolve_submit, when="has_note"
            ),
            _cancel(),
            MessageInput(on_note_input, content_types=ContentType.ANY),
            state=TaskInput.resolve,
            getter=resolve_getter,
        ),
        Window(
            Format("{text}"),
            Column(
                Select(
                    Format("{item[1]}"),
                    id="community",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_community,
                )
            ),
            _cancel(),
            state=TaskInput.transfer_community,
            getter=community_getter,
        ),
        Window(
            Format("{text}"),
            Column(
                Select(
                    Format("{item[1]}"),
                    id="grid",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_grid,
                )
            ),
            Row(Button(L("tasks.input.back"), id="back", on_click=on_grid_back), _cancel()),
            state=TaskInput.transfer_grid,
            getter=grid_getter,
        ),
    )


def task_dialogs() -> list[Dialog]:
    return [tasks_dialog(), task_input_dialog()]
