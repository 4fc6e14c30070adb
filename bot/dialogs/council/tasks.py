"""自治小组: a group member's (or a named owner's) decisions to carry out, overdue ones
marked; reporting progress (how far, then words or a photo) and marking one done, which
tells everyone who proposed the topic, attended or voted."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.council.decide import owner_label
from bot.dialogs.council.states import CouncilTasks
from bot.dialogs.council.views import decision_items, decision_text
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.council import CouncilError
from storage.council.decisions import DecisionService
from storage.council.models import Decision, DecisionState

PERCENTS = (25, 50, 75, 90)


def _service(c: Ctx) -> DecisionService:
    return c.services.get(DecisionService)


async def _mine(c: Ctx, manager: DialogManager) -> Decision | None:
    """The chosen decision, if it is still this person's to carry out."""
    wanted = int(manager.dialog_data.get("decision", 0))
    for decision in await _service(c).decisions_of(c.user_id):
        if decision.id == wanted:
            return decision
    return None


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    decisions = await _service(c).decisions_of(c.user_id)
    now = c.clock.now()
    return {
        "notice": notice(dialog_manager),
        "items": decision_items(c.t, decisions, now),
        "has": bool(decisions),
        "empty": not decisions,
    }


async def on_pick(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit():
        manager.dialog_data["decision"] = int(item_id)
        await manager.switch_to(CouncilTasks.item)


async def item_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    decision = await _mine(c, dialog_manager)
    if decision is None:
        return {
            "notice": notice(dialog_manager),
            "text": c.t("council.problem.not_found"),
            "open": False,
        }
    service = _service(c)
    return {
        "notice": notice(dialog_manager),
        "text": decision_text(
            c.t,
            decision,
            await owner_label(c, decision),
            service.policy.zone,
            c.clock.now(),
            await service.reports(decision.id),
        ),
        "open": decision.state == DecisionState.OPEN,
        "percents": [(p, f"{p}%") for p in PERCENTS],
    }


async def on_done(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    decision = await _mine(c, manager)
    if decision is None:
        return
    try:
        await _service(c).mark_done(decision.id, c.user_id, c.staffing)
    except CouncilError as exc:
        say(manager, c.t(f"council.problem.{exc.problem.value}"))
        return
    say(manager, c.t("council.decision.marked_done"))


async def on_percent(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if item_id.isdigit() and int(item_id) in PERCENTS:
        manager.dialog_data["percent"] = int(item_id)
        await manager.switch_to(CouncilTasks.text)


async def on_report(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """Words, or a photo with or without a caption."""
    c = ctx(manager)
    decision = await _mine(c, manager)
    if decision is None:
        await manager.switch_to(CouncilTasks.main)
        return
    text = message.text or message.caption or ""
    photo = message.photo[-1].file_id if message.photo else None
    if not text.strip() and photo is None:
        say(manager, c.t("council.decision.report_empty"))
        return
    if len(text) > 1000:
        say(manager, c.t("council.propose.too_long", n=len(text), max=1000))
        return
    try:
        await _service(c).report(
            decision.id,
            c.user_id,
            c.staffing,
            text=text,
            percent=int(manager.dialog_data.get("percent", 0)),
            photo_file_id=photo,
        )
    except CouncilError as exc:
        say(manager, c.t(f"council.problem.{exc.problem.value}"))
        return
    clear_notice(manager)
    say(manager, c.t("council.decision.reported"))
    await manager.switch_to(CouncilTasks.item)


def tasks_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("council.tasks.title", when="has"),
            L("council.tasks.empty", when="empty"),
            picker("task", "items", on_pick, height=8),
            Button(L("council.back"), id="tk_close", on_click=close),
            state=CouncilTasks.main,
            getter=list_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            SwitchTo(
                L("council.decision.report"),
                id="tk_report",
                state=CouncilTasks.percent,
                when="open",
            ),
            Button(L("council.decision.mark_done"), id="tk_done", on_click=on_done, when="open"),
            SwitchTo(L("council.back"), id="tk_back", state=CouncilTasks.main),
            state=CouncilTasks.item,
            getter=item_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.percent_ask"),
            picker("tk_pct", "percents", on_percent, width=4),
            SwitchTo(L("council.back"), id="tp_back", state=CouncilTasks.item),
            state=CouncilTasks.percent,
            getter=item_getter,
        ),
        Window(
            notice_text(),
            L("council.decision.report_ask"),
            MessageInput(on_report, content_types=ContentType.ANY),
            SwitchTo(L("council.back"), id="tt_back", state=CouncilTasks.percent),
            state=CouncilTasks.text,
            getter=notice_getter,
        ),
    )
