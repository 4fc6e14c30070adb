"""指派: staff of the level holding an appeal hand it to a named grid worker of its grid,
with a handling window of their choosing; the worker owns it from then on and that
level keeps supervising."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.dialogs.appeals.common import policy, service
from bot.dialogs.appeals.states import AssignTask
from bot.dialogs.appeals.task_forms import carry_out, end_form, form_appeal_id
from bot.formatting import e
from bot.kit.context import ctx
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.appeals import Action, Appeal, AppealService, Level, refusal
from storage.users import User

WINDOWS_HOURS = (4, 24, 48)


async def _appeal(manager: DialogManager) -> Appeal | None:
    c = ctx(manager)
    return await (await c.scoped()).appeal(form_appeal_id(manager))


async def workers_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _appeal(dialog_manager)
    if refusal(Action.ASSIGN, appeal, c.staffing) is not None or appeal is None:
        return {"text": c.t("tasks.detail.gone"), "items": []}
    ids = [i for i in await service(c).level_staff(appeal, Level.GRID) if i != appeal.owner_id]
    names = {
        u.id: u.display_name
        for u in (await c.session.execute(select(User).where(User.id.in_(ids)))).scalars()
    }
    text = c.t(
        "tasks.assign.worker",
        number=appeal.number,
        category=e(policy(c).category_name(appeal.category, c.t.language)),
    )
    if not ids:
        text += "\n\n" + c.t("tasks.assign.no_workers")
    return {"text": text, "items": [(i, names.get(i, str(i))) for i in ids]}


async def on_worker(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    appeal = await _appeal(manager)
    workers = await service(c).level_staff(appeal, Level.GRID) if appeal is not None else []
    if not item.isdigit() or int(item) not in workers:
        await toast(manager, c.t("common.stale_button"), alert=True)
        return
    manager.dialog_data["worker_id"] = int(item)
    await manager.switch_to(AssignTask.window)


async def window_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    worker = await c.session.get(User, int(dialog_manager.dialog_data.get("worker_id", 0)))
    default = int(policy(c).standard.work_window.total_seconds() // 3600)
    return {
        "text": c.t("tasks.assign.window", worker=e(worker.display_name) if worker else "—"),
        "hours": [(h, c.t("tasks.assign.hours", n=h)) for h in sorted({*WINDOWS_HOURS, default})],
    }


async def on_window(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if not item.isdigit() or not 0 < int(item) <= 24 * 30:
        await toast(manager, c.t("common.stale_button"), alert=True)
        return
    appeal_id = form_appeal_id(manager)
    worker_id = int(manager.dialog_data.get("worker_id", 0))
    worker = await c.session.get(User, worker_id)

    async def run(svc: AppealService) -> Appeal:
        return await svc.assign(appeal_id, c.staffing, worker_id, timedelta(hours=int(item)))

    await carry_out(
        manager,
        Action.ASSIGN,
        run,
        "tasks.assign.done",
        worker=e(worker.display_name) if worker else "—",
    )


async def on_cancel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await end_form(manager, c.t("tasks.input.cancelled"), form_appeal_id(manager))


async def on_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.switch_to(AssignTask.worker)


def assign_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            picker("worker", "items", on_worker),
            Button(L("tasks.input.cancel"), id="worker_cancel", on_click=on_cancel),
            state=AssignTask.worker,
            getter=workers_getter,
        ),
        Window(
            Format("{text}"),
            picker("hours", "hours", on_window, width=3),
            Row(
                Button(L("tasks.input.back"), id="window_back", on_click=on_back),
                Button(L("tasks.input.cancel"), id="window_cancel", on_click=on_cancel),
            ),
            state=AssignTask.window,
            getter=window_getter,
        ),
    )
