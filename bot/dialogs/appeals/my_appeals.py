"""A resident's own appeals: the paged list, each appeal's timeline, withdrawing it before
acceptance, and adding details while it is open."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row, Start, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.dialogs.appeals.common import (
    photos_of,
    policy,
    problem_text,
    service,
    take_photo,
    text_problem,
)
from bot.dialogs.appeals.states import FileAppeal, MyAppeals
from bot.dialogs.appeals.views import Viewing, full_pages, resident_detail, state_name
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import current_page, fetch_page, page_count, pager, picker
from storage.appeals import Appeal, AppealError, AppealFollower, AppealMedia
from storage.appeals import State as AppealState

PAGE_SIZE = 5
SCROLL = "mine_pages"


# --- my appeals (MyAppeals) ---------------------------------------------------------------


async def on_mine_start(data: Any, manager: DialogManager) -> None:
    appeal_id = start_data(manager).get("appeal_id")
    if appeal_id is not None:
        manager.dialog_data["appeal_id"] = int(appeal_id)


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    svc = service(c)

    async def fetch(offset: int, limit: int) -> tuple[Sequence[Appeal], int]:
        return await svc.of_resident(c.user_id, offset=offset, limit=limit)

    rows, total = await fetch_page(dialog_manager, SCROLL, PAGE_SIZE, fetch)
    items = [
        (
            a.id,
            c.t(
                "resident_appeal.mine.item",
                number=a.number,
                category=policy(c).category_name(a.category, c.t.language),
                state=state_name(a.state, c.t),
            ),
        )
        for a in rows
    ]
    return {
        "notice": notice(dialog_manager),
        "items": items,
        "total": total,
        "page": await current_page(dialog_manager, SCROLL) + 1,
        "pages": page_count(total, PAGE_SIZE),
        "has_items": total > 0,
        "empty": total == 0,
    }


async def on_pick(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if not item.isdigit():
        await toast(manager, c.t("common.stale_button"), alert=True)
        return
    manager.dialog_data["appeal_id"] = int(item)
    clear_notice(manager)
    await manager.switch_to(MyAppeals.detail)


async def may_view(c: Ctx, appeal: Appeal) -> tuple[bool, bool]:
    """(is the resident's own appeal, may see it at all: own or followed)."""
    if appeal.resident_id == c.user_id:
        return True, True
    followed = await c.session.get(AppealFollower, (appeal.id, c.user_id))
    return False, followed is not None


async def _viewed(manager: DialogManager) -> Appeal | None:
    c = ctx(manager)
    appeal_id = manager.dialog_data.get("appeal_id")
    appeal = await (await c.scoped()).appeal(int(appeal_id)) if appeal_id is not None else None
    if appeal is None:
        return None
    _, allowed = await may_view(c, appeal)
    return appeal if allowed else None


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _viewed(dialog_manager)
    flags: dict[str, Any] = {
        "can_cancel": False,
        "can_add": False,
        "following": "",
        "shortened": False,
    }
    if appeal is None:
        return {
            "notice": notice(dialog_manager),
            "body": c.t("appeal.problem.not_allowed"),
        } | flags
    mine, _allowed = await may_view(c, appeal)
    body, shortened = await resident_detail(_viewing(c), appeal)
    return {
        "notice": notice(dialog_manager),
        "body": body,
        "can_cancel": mine and appeal.state == AppealState.SUBMITTED,
        "can_add": mine and appeal.is_open,
        "following": "" if mine else c.t("resident_appeal.mine.following"),
        "shortened": shortened,
    }


def _viewing(c: Ctx) -> Viewing:
    return Viewing(c.session, c.t, c.zone, policy(c), c.clock.now())


async def on_full_text(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal = await _viewed(manager)
    if appeal is None:
        await toast(manager, c.t("appeal.problem.not_allowed"), alert=True)
        return
    for page in await full_pages(_viewing(c), appeal, None):
        await c.bot.send_message(c.user_id, page)
    # The appeal's buttons follow below what was just sent.
    manager.show_mode = ShowMode.DELETE_AND_SEND


async def on_back_to_list(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    clear_notice(manager)
    await manager.switch_to(MyAppeals.list)


async def number_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    appeal = await _viewed(dialog_manager)
    return {"notice": notice(dialog_manager), "number": appeal.number if appeal else "—"}


async def on_cancel_yes(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = int(manager.dialog_data.get("appeal_id", 0))
    try:
        appeal = await service(c).cancel(appeal_id, c.user_id)
    except AppealError as exc:
        say(manager, problem_text(c.t, exc))
        await manager.switch_to(MyAppeals.detail)
        return
    say(manager, c.t("resident_appeal.mine.cancelled_ok", number=appeal.number))
    await manager.switch_to(MyAppeals.detail)


async def on_cancel_no(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    clear_notice(manager)
    await manager.switch_to(MyAppeals.detail)


async def on_add_details(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    for key in ("d_text", "d_photos", "d_voice", "d_voice_seconds"):
        manager.dialog_data.pop(key, None)
    clear_notice(manager)
    await manager.switch_to(MyAppeals.add_details)


def _collected(c: Ctx, data: dict[str, Any]) -> str:
    parts = []
    text = str(data.get("d_text") or "")
    if text:
        parts.append(c.t("resident_appeal.mine.details_text", length=len(text)))
    if data.get("d_voice"):
        parts.append(
            c.t("resident_appeal.voice_yes", seconds=int(data.get("d_voice_seconds") or 0))
        )
    photos = len(data.get("d_photos") or [])
    if photos:
        parts.append(c.t("resident_appeal.mine.details_photos", n=photos))
    return " · ".join(parts) or c.t("resident_appeal.nothing")


async def details_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _viewed(dialog_manager)
    data = dialog_manager.dialog_data
    ready = bool(data.get("d_text") or data.get("d_voice") or data.get("d_photos"))
    return {
        "notice": notice(dialog_manager),
        "number": appeal.number if appeal else "—",
        "collected": _collected(c, data),
        "ready": ready,
    }


async def _existing_photos(c: Ctx, appeal_id: int) -> int:
    rows = await c.session.execute(
        select(AppealMedia.id).where(
            AppealMedia.appeal_id == appeal_id, AppealMedia.kind == "photo"
        )
    )
    return len(rows.all())


async def on_details_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    data = manager.dialog_data
    hint = t("resident_appeal.input.hint_details")
    text = (
        message.text if message.text is not None else (message.caption if message.photo else None)
    )
    if message.photo:
        appeal_id = int(data.get("appeal_id", 0))
        stored = await _existing_photos(c, appeal_id)
        added, note = take_photo(manager, message, key="d_photos", already=stored)
        if added:
            clear_notice(manager)
        else:
            say(manager, note)
    elif message.voice is not None:
        data["d_voice"] = message.voice.file_id
        data["d_voice_seconds"] = message.voice.duration
        clear_notice(manager)
    elif message.text is None:
        say(manager, t("resident_appeal.input.not_supported"), hint)
        return
    if text is not None and text.strip():
        combined = "\n".join(p for p in (str(data.get("d_text") or ""), text.strip()) if p)
        problem = text_problem(t, combined)
        if problem:
            say(manager, problem)
            return
        data["d_text"] = combined
        if not message.photo:
            clear_notice(manager)


async def on_details_send(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    try:
        await service(c).add_details(
            int(data.get("appeal_id", 0)),
            c.user_id,
            text=str(data.get("d_text") or ""),
            photos=tuple(photos_of(manager, "d_photos")),
            voice_file_id=data.get("d_voice") or None,
        )
    except AppealError as exc:
        say(manager, problem_text(c.t, exc))
        return
    for key in ("d_text", "d_photos", "d_voice", "d_voice_seconds"):
        data.pop(key, None)
    say(manager, c.t("resident_appeal.mine.details_sent"))
    await manager.switch_to(MyAppeals.detail)


async def on_details_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    clear_notice(manager)
    await manager.switch_to(MyAppeals.detail)


def my_appeals_dialog() -> Dialog:
    notice = Format("{notice}\n", when="notice")
    return Dialog(
        Window(
            notice,
            L("resident_appeal.mine.title", when="has_items"),
            L("resident_appeal.mine.empty", when="empty"),
            picker("pick", "items", on_pick),
            *pager(SCROLL, "resident_appeal.mine.prev", "resident_appeal.mine.next"),
            Start(L("resident_appeal.mine.new"), id="new", state=FileAppeal.category, when="empty"),
            Button(L("resident_appeal.mine.menu"), id="menu", on_click=close),
            state=MyAppeals.list,
            getter=list_getter,
        ),
        Window(
            notice,
            Format("{body}"),
            Format("\n{following}", when="following"),
            Button(L("appeal.button.open"), id="full", on_click=on_full_text, when="shortened"),
            Button(
                L("resident_appeal.mine.add_details"),
                id="add",
                on_click=on_add_details,
                when="can_add",
            ),
            SwitchTo(
                L("resident_appeal.mine.cancel"),
                id="cancel",
                state=MyAppeals.cancel_confirm,
                when="can_cancel",
            ),
            Button(L("resident_appeal.mine.back_to_list"), id="list", on_click=on_back_to_list),
            state=MyAppeals.detail,
            getter=detail_getter,
        ),
        Window(
            notice,
            L("resident_appeal.mine.details_prompt"),
            Button(
                L("resident_appeal.mine.details_send"),
                id="send",
                on_click=on_details_send,
                when="ready",
            ),
            Button(L("common.back"), id="back", on_click=on_details_back),
            MessageInput(on_details_input, content_types=ContentType.ANY),
            state=MyAppeals.add_details,
            getter=details_getter,
        ),
        Window(
            L("resident_appeal.mine.cancel_confirm"),
            Row(
                Button(L("resident_appeal.mine.cancel_yes"), id="yes", on_click=on_cancel_yes),
                Button(L("resident_appeal.mine.cancel_no"), id="no", on_click=on_cancel_no),
            ),
            state=MyAppeals.cancel_confirm,
            getter=number_getter,
        ),
        on_start=on_mine_start,
    )
