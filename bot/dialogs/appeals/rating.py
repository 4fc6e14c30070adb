"""The comment after a rating: text or a voice note, or skipped."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.dialogs.appeals.common import problem_text, service, text_problem
from bot.dialogs.appeals.states import RateAppeal
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.notice import notice, say
from bot.kit.text import L
from storage.appeals import AppealError, AppealEvent, AppealMedia


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
    c = ctx(manager)
    # No reason coming: the reopened card need not wait for one.
    await service(c).release_reason_wait(int(start_data(manager).get("appeal_id", 0)))
    await manager.done()


async def comment_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    asking_reason = bool(start_data(dialog_manager).get("reason"))
    return {
        "notice": notice(dialog_manager),
        "reason": asking_reason,
        "comment": not asking_reason,
    }


def rate_comment_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("resident_appeal.rate.comment", when="comment"),
            L("resident_appeal.rate.reason", when="reason"),
            Button(L("resident_appeal.rate.skip"), id="skip", on_click=on_comment_skip),
            MessageInput(on_comment_input, content_types=ContentType.ANY),
            state=RateAppeal.comment,
            getter=comment_getter,
        ),
    )
