"""The short forms behind the task buttons that need input: reject (out of scope, or a
duplicate of another appeal), call up, supervise, progress, resolve, and transfer to
another grid.

A form starts either from a pushed task message (bot.handlers.appeals.worker, on a fresh
stack: when it ends, the updated card is sent with its buttons) or from a task's detail
window (it ends back there). Every step asks the domain's rule again, and the service
decides when the action is carried out; wrong input is explained and what was typed is
kept."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Format

from bot.dialogs.appeals.common import policy, problem_text, service
from bot.dialogs.appeals.states import TaskInput
from bot.dialogs.appeals.views import (
    Viewing,
    category_name,
    owner_name,
    task_buttons,
    task_card,
)
from bot.formatting import e
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.appeals import (
    MAX_PHOTOS,
    MAX_TEXT,
    Action,
    Appeal,
    AppealError,
    AppealService,
    Problem,
    may_handle,
    refusal,
)
from storage.hierarchy import Node, NodeKind

_NUMBER = re.compile(r"^\s*(?:#|＃|no\.?\s*)?\s*(\d{1,12})\s*$", re.IGNORECASE)


def form_appeal_id(manager: DialogManager) -> int:
    return int(start_data(manager).get("appeal_id", 0))


def _action(manager: DialogManager) -> Action | None:
    value = start_data(manager).get("action")
    return Action(value) if value in set(Action) else None


async def _head(c: Ctx, appeal: Appeal | None) -> str:
    if appeal is None:
        return ""
    return c.t(
        "tasks.input.head", number=appeal.number, category=category_name(appeal, policy(c), c.t)
    )


async def _input_base(manager: DialogManager) -> tuple[Ctx, Appeal | None, dict[str, Any]]:
    c = ctx(manager)
    appeal = await (await c.scoped()).appeal(form_appeal_id(manager))
    d = manager.dialog_data
    return c, appeal, {"head": await _head(c, appeal), "notice": d.get("notice", "")}


async def end_form(manager: DialogManager, notice: str, appeal_id: int) -> None:
    """Close the form. Back in the task's detail window the notice shows there; a form
    started from a pushed message sends the updated card with its buttons instead."""
    c = ctx(manager)
    await manager.done({"notice": notice})
    if manager.has_context():
        return
    appeal = await (await c.scoped()).appeal(appeal_id) if appeal_id else None
    if appeal is None or not (may_handle(c.staffing, appeal) or appeal.owner_id == c.user_id):
        await c.bot.send_message(c.user_id, notice)
        return
    card = await task_card(viewing_of(c), appeal, c.staffing)
    await c.bot.send_message(
        c.user_id, f"{notice}\n\n{card}", reply_markup=task_buttons(appeal, c.staffing, c.t)
    )


def viewing_of(c: Ctx) -> Viewing:
    return Viewing(c.session, c.t, c.zone, policy(c), c.clock.now())


async def carry_out(
    manager: DialogManager,
    action: Action,
    run: Callable[[AppealService], Awaitable[Appeal]],
    done_key: str,
    **values: Any,
) -> bool:
    """Run the service call; on success close the form with ``done_key``. A refusal the
    user can fix (bad input) keeps the form open; any other refusal closes it, saying
    why. Returns whether the form is still open."""
    c = ctx(manager)
    appeal_id = form_appeal_id(manager)
    appeal = await (await c.scoped()).appeal(appeal_id) if appeal_id else None
    problem = refusal(action, appeal, c.staffing)
    if problem is None:
        try:
            appeal = await run(service(c))
        except AppealError as exc:
            problem = exc.problem
            await c.rollback()
    if problem is None and appeal is not None:
        await end_form(manager, c.t(done_key, number=appeal.number, **values), appeal_id)
        return False
    assert problem is not None
    if problem in (Problem.BAD_INPUT, Problem.TOO_MANY_PHOTOS):
        manager.dialog_data["notice"] = problem_text(c.t, problem)
        return True
    await toast(manager, problem_text(c.t, problem), alert=True)
    await end_form(manager, problem_text(c.t, problem), appeal_id)
    return False


async def on_cancel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await end_form(manager, c.t("tasks.input.cancelled"), form_appeal_id(manager))


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
    if action is Action.CALL_UP:
        up = appeal.level_enum.up if appeal else None
        level = c.t(f"appeal.level.{up.value}") if up else "—"
        prompt = c.t("tasks.callup.prompt", level=level)
    elif action is Action.SUPERVISE:
        prompt = c.t("tasks.supervise.prompt")
    elif kind == "scope":
        prompt = c.t("tasks.reject.scope_prompt")
    else:
        prompt = c.t("tasks.reject.choose")
    return {
        "text": _join(base["head"], prompt, _kept(c, draft), base["notice"]),
        "choosing": action is Action.REJECT and kind is None,
        "scope": action is Action.REJECT and kind == "scope",
        "has_draft": bool(draft.strip()) and action is Action.REJECT and kind == "scope",
    }


async def _reject_scope(manager: DialogManager, reason: str) -> None:
    c = ctx(manager)
    appeal_id = form_appeal_id(manager)

    async def run(service: AppealService) -> Appeal:
        return await service.reject(appeal_id, c.staffing, reason)

    await carry_out(manager, Action.REJECT, run, "tasks.reject.done")


async def _call_up(manager: DialogManager, reason: str) -> None:
    c = ctx(manager)
    appeal_id = form_appeal_id(manager)

    async def run(service: AppealService) -> Appeal:
        return await service.call_up(appeal_id, c.staffing, reason)

    appeal = await (await c.scoped()).appeal(appeal_id)
    up = appeal.level_enum.up if appeal else None
    level = c.t(f"appeal.level.{up.value}") if up else "—"
    await carry_out(manager, Action.CALL_UP, run, "tasks.callup.done", level=level)


async def _supervise(manager: DialogManager, note: str) -> None:
    c = ctx(manager)
    appeal_id = form_appeal_id(manager)

    async def run(service: AppealService) -> Appeal:
        return await service.supervise(appeal_id, c.staffing, note)

    appeal = await (await c.scoped()).appeal(appeal_id)
    owner = await owner_name(viewing_of(c), appeal) if appeal is not None else "—"
    await carry_out(manager, Action.SUPERVISE, run, "tasks.supervise.done", who=owner)


async def on_reason_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    d = manager.dialog_data
    text = (message.text or "").strip()
    if not text:
        d["notice"] = c.t("tasks.input.text_needed")
        return
    if len(text) > MAX_TEXT:
        d["notice"] = problem_text(c.t, Problem.TOO_LONG)
        return
    d["draft"] = text
    d["notice"] = ""
    if _action(manager) is Action.CALL_UP:
        await _call_up(manager, text)
    elif _action(manager) is Action.SUPERVISE:
        await _supervise(manager, text)
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
    appeal_id = form_appeal_id(manager)
    shown = f"{number:06d}"
    original = await (await c.scoped()).appeal(number)
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
    await carry_out(manager, Action.REJECT, run, "tasks.reject.done")


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
        combined = f"{note}\n{added.strip()}" if note else added.strip()
        if len(combined) > MAX_TEXT:
            d["notice"] = problem_text(c.t, Problem.TOO_LONG)
        else:
            d["note"] = combined
    if (
        manager.current_context().state == TaskInput.resolve
        and not str(d.get("note", "")).strip()
        and not d["notice"]
    ):
        d["notice"] = c.t("tasks.resolve.note_missing")


async def on_progress_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = form_appeal_id(manager)
    note = str(manager.dialog_data.get("note", ""))
    photos = list(manager.dialog_data.get("photos", []))

    async def run(service: AppealService) -> Appeal:
        return await service.progress(appeal_id, c.staffing, note, photos)

    await carry_out(manager, Action.PROGRESS, run, "tasks.progress.done")


async def on_resolve_submit(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = form_appeal_id(manager)
    note = str(manager.dialog_data.get("note", ""))
    photos = list(manager.dialog_data.get("photos", []))
    if not note.strip():
        manager.dialog_data["notice"] = c.t("tasks.resolve.note_missing")
        return

    async def run(service: AppealService) -> Appeal:
        return await service.resolve(appeal_id, c.staffing, note, photos)

    await carry_out(manager, Action.RESOLVE, run, "tasks.resolve.done")


# transfer: community, then grid, within the appeal's district


async def _district(c: Ctx, appeal: Appeal | None) -> Node | None:
    return await c.services.hierarchy.get(appeal.district_id) if appeal else None


async def community_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c, appeal, base = await _input_base(dialog_manager)
    district = await _district(c, appeal)
    communities = (
        await c.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=district) if district else []
    )
    return {
        "text": _join(base["head"], c.t("tasks.transfer.community"), base["notice"]),
        "items": [(n.id, n.name) for n in communities],
    }


async def on_community(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    appeal = await (await c.scoped()).appeal(form_appeal_id(manager))
    node = await c.services.hierarchy.get(int(item)) if item.isdigit() else None
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
    repo = c.services.hierarchy
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
    appeal_id = form_appeal_id(manager)
    appeal = await (await c.scoped()).appeal(appeal_id)
    grid = await c.services.hierarchy.get(int(item)) if item.isdigit() else None
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

    await carry_out(manager, Action.TRANSFER, run, "tasks.transfer.done", grid=e(grid.name))


async def on_grid_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["notice"] = ""
    await manager.switch_to(TaskInput.transfer_community)


def _cancel(window: str) -> Button:
    return Button(L("tasks.input.cancel"), id=f"{window}_cancel", on_click=on_cancel)


def task_input_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            Row(
                Button(
                    L("tasks.reject.out_of_scope"),
                    id="reason_scope",
                    on_click=on_out_of_scope,
                    when="choosing",
                ),
                Button(
                    L("tasks.reject.duplicate"),
                    id="reason_dup",
                    on_click=on_duplicate,
                    when="choosing",
                ),
            ),
            Button(
                L("tasks.reject.use_draft"),
                id="reason_draft",
                on_click=on_use_draft,
                when="has_draft",
            ),
            Row(
                Button(
                    L("tasks.input.back"), id="reason_back", on_click=on_reason_back, when="scope"
                ),
                _cancel("reason"),
            ),
            MessageInput(on_reason_input, content_types=ContentType.ANY),
            state=TaskInput.reason,
            getter=reason_getter,
        ),
        Window(
            Format("{text}"),
            Row(
                Button(L("tasks.input.back"), id="dup_back", on_click=on_duplicate_back),
                _cancel("dup"),
            ),
            MessageInput(on_duplicate_input, content_types=ContentType.ANY),
            state=TaskInput.duplicate,
            getter=duplicate_getter,
        ),
        Window(
            Format("{text}"),
            Button(
                L("tasks.progress.submit"),
                id="progress_submit",
                on_click=on_progress_submit,
                when="has_any",
            ),
            _cancel("progress"),
            MessageInput(on_note_input, content_types=ContentType.ANY),
            state=TaskInput.progress,
            getter=progress_getter,
        ),
        Window(
            Format("{text}"),
            Button(
                L("tasks.resolve.submit"),
                id="resolve_submit",
                on_click=on_resolve_submit,
                when="has_note",
            ),
            _cancel("resolve"),
            MessageInput(on_note_input, content_types=ContentType.ANY),
            state=TaskInput.resolve,
            getter=resolve_getter,
        ),
        Window(
            Format("{text}"),
            picker("community", "items", on_community),
            _cancel("community"),
            state=TaskInput.transfer_community,
            getter=community_getter,
        ),
        Window(
            Format("{text}"),
            picker("grid", "items", on_grid),
            Row(
                Button(L("tasks.input.back"), id="grid_back", on_click=on_grid_back),
                _cancel("grid"),
            ),
            state=TaskInput.transfer_grid,
            getter=grid_getter,
        ),
    )
