"""A resident's own appeals: the paged list, each appeal's timeline, withdrawing it before
acceptance, adding details while it is open, and the comment after a rating."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    CallbackQuery,
    ContentType,
    Message,
)
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Row, Select, Start, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.appeal_views import state_name, timeline_text
from bot.dialogs.common import Ctx, L, ctx, start_data
from bot.dialogs.resident_common import (
    clear_notice,
    close_to_menu,
    notice,
    notice_getter,
    photos_of,
    problem_text,
    say,
    service,
    take_photo,
    text_problem,
)
from bot.dialogs.states import (
    FileAppeal,
    MyAppeals,
    RateAppeal,
)
from bot.dialogs.toast import toast
from storage.appeals import (
    Appeal,
    AppealError,
    AppealEvent,
    AppealFollower,
    AppealMedia,
)
from storage.appeals import (
    State as AppealState,
)

PAGE_SIZE = 5


# --- my appeals (MyAppeals) ---------------------------------------------------------------


async def on_mine_start(data: Any, manager: DialogManager) -> None:
    appeal_id = start_data(manager).get("appeal_id")
    if appeal_id is not None:
        manager.dialog_data["appeal_id"] = int(appeal_id)


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    svc = service(c)
    page = max(0, int(dialog_manager.dialog_data.get("page", 0)))
    rows, total = await svc.of_resident(c.user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page >= pages:
        page = pages - 1
        dialog_manager.dialog_data["page"] = page
        rows, total = await svc.of_resident(c.user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    items = [
        (
            a.id,
            c.t(
                "resident_appeal.mine.item",
                number=a.number,
                category=c.policy.category_name(a.category, c.t.language),
                state=state_name(a.state, c.t),
            ),
        )
        for a in rows
    ]
    return {
        "notice": notice(dialog_manager),
        "items": items,
        "total": total,
        "page": page + 1,
        "pages": pages,
        "has_items": total > 0,
        "empty": total == 0,
        "has_prev": page > 0,
        "has_next": page + 1 < pages,
    }


async def on_prev(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["page"] = max(0, int(manager.dialog_data.get("page", 0)) - 1)
    clear_notice(manager)


async def on_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["page"] = int(manager.dialog_data.get("page", 0)) + 1
    clear_notice(manager)


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
    appeal = await c.session.get(Appeal, int(appeal_id)) if appeal_id is not None else None
    if appeal is None:
        return None
    _, allowed = await may_view(c, appeal)
    return appeal if allowed else None


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _viewed(dialog_manager)
    flags: dict[str, Any] = {"can_cancel": False, "can_add": False, "following": ""}
    if appeal is None:
        return {
            "notice": notice(dialog_manager),
            "body": c.t("appeal.problem.not_allowed"),
        } | flags
    mine, _allowed = await may_view(c, appeal)
    tl = await service(c).timeline(appeal.id)
    body = timeline_text(tl.appeal, tl.events, tl.media, c.t, c.settings.zone, c.policy)
    return {
        "notice": notice(dialog_manager),
        "body": body,
        "can_cancel": mine and appeal.state == AppealState.SUBMITTED,
        "can_add": mine and appeal.is_open,
        "following": "" if mine else c.t("resident_appeal.mine.following"),
    }


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
    await c.session.commit()
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
    await c.session.commit()
    for key in ("d_text", "d_photos", "d_voice", "d_voice_seconds"):
        data.pop(key, None)
    say(manager, c.t("resident_appeal.mine.details_sent"))
    await manager.switch_to(MyAppeals.detail)


async def on_details_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    clear_notice(manager)
    await manager.switch_to(MyAppeals.detail)


async def on_mine_close(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await close_to_menu(manager)


def my_appeals_dialog() -> Dialog:
    notice = Format("{notice}\n", when="notice")
    return Dialog(
        Window(
            notice,
            L("resident_appeal.mine.title", when="has_items"),
            L("resident_appeal.mine.empty", when="empty"),
            Column(
                Select(
                    Format("{item[1]}"),
                    id="pick",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_pick,
                ),
            ),
            Row(
                Button(
                    L("resident_appeal.mine.prev"), id="prev", on_click=on_prev, when="has_prev"
                ),
                Button(
                    L("resident_appeal.mine.next"), id="next", on_click=on_next, when="has_next"
                ),
            ),
            Start(L("resident_appeal.mine.new"), id="new", state=FileAppeal.category, when="empty"),
            Button(L("resident_appeal.mine.menu"), id="menu", on_click=on_mine_close),
            state=MyAppeals.list,
            getter=list_getter,
        ),
        Window(
            notice,
            Format("{body}"),
            Format("\n{following}", when="following"),
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


# --- the comment after a rating (RateAppeal) ----------------------------------------------


async def on_comment_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    appeal_id = int(start_data(manager).get("appeal_id", 0))
    svc = service(c)
    try:
        if message.text is not None:
            problem = text_problem(t, message.text)
            if problem:
                say(manager, problem)
                return
            await svc.set_rating_comment(appeal_id, c.user_id, message.text)
        elif message.voice is not None:
            await svc.set_rating_comment(
                appeal_id, c.user_id, t("resident_appeal.rate.voice_comment")
            )
            await _attach_voice_to_comment(c, appeal_id, message.voice.file_id)
        else:
            say(
                manager,
                t("resident_appeal.input.not_supported"),
                t("resident_appeal.input.hint_comment"),
            )
            return
    except AppealError as exc:
        say(manager, problem_text(t, exc))
        return
    await c.session.commit()
    await manager.done()
    await c.bot.send_message(c.user_id, t("resident_appeal.rate.comment_saved"))


async def _attach_voice_to_comment(c: Ctx, appeal_id: int, file_id: str) -> None:
    """The storage keeps comments as text; the voice itself is kept as the comment
    event's media so the timeline and staff can play it."""
    event_id = (
        await c.session.execute(
            select(AppealEvent.id)
            .where(AppealEvent.appeal_id == appeal_id, AppealEvent.kind == "comment")
            .order_by(AppealEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    c.session.add(
        AppealMedia(
            appeal_id=appeal_id,
            event_id=event_id,
            kind="voice",
            file_id=file_id,
            added_by=c.user_id,
            at=c.clock.now(),
        )
    )
    await c.session.flush()


async def on_comment_skip(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.done()


def rate_comment_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("resident_appeal.rate.comment"),
            Button(L("resident_appeal.rate.skip"), id="skip", on_click=on_comment_skip),
            MessageInput(on_comment_input, content_types=ContentType.ANY),
            state=RateAppeal.comment,
            getter=notice_getter,
        ),
    )
