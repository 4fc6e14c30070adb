"""Answering in place what the outbox owes: the press that made a message owed (✅ 确认提交
makes "filed" owed) answers in its own message at once, so nobody waits on the delivery
queue to learn that what they did happened.

The message stays in the outbox, claimed by this process in the transaction that made it
owed, which is committed before anything is said. Told: it is recorded as sent. Refused
(the message cannot be edited any more): it is given back and the delivery sends it. The
process dying in between: its claim dies with it (storage.processes) and the next live
process sends it (at least once)."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import DialogManager, ShowMode

from bot.delivery import Delivery
from bot.kit.context import ctx
from bot.middlewares import commit_now
from storage.outbox import OutboxRepo

log = logging.getLogger(__name__)


async def answer_in_place(
    call: CallbackQuery, manager: DialogManager, kind: str, subject_id: int, text: str
) -> bool:
    """Commit, close the dialog and turn the pressed message into ``text``. True when it
    was said there; False when the owed message ``kind`` about ``subject_id`` is left to
    the delivery."""
    c = ctx(manager)
    delivery: Delivery | None = manager.middleware_data.get("delivery")
    pressed = call.message if isinstance(call.message, Message) else None
    outbox = OutboxRepo(c.session)
    owed = None
    if delivery is not None and pressed is not None:
        owed = await outbox.take(kind, subject_id, c.user_id, c.services.now(), delivery.me)
    await commit_now(c.services)
    told = False
    if owed is not None and pressed is not None:
        try:
            await c.bot.edit_message_text(
                text=text, chat_id=c.user_id, message_id=pressed.message_id
            )
            told = True
        except TelegramAPIError as exc:
            log.warning("could not answer %s #%s in place: %s", kind, subject_id, exc)
            await outbox.give_back(owed.id)
    stack = manager.current_stack()
    if told and pressed is not None and stack.last_message_id == pressed.message_id:
        # The edit took its buttons off already: closing must not take them off again
        # (an edit that changes nothing, which Telegram refuses).
        stack.last_message_id = None
    # Closing takes the buttons off the pressed message (unless told in it); a dialog
    # underneath (the menu) shows again as a new message below it.
    await manager.done(show_mode=ShowMode.SEND)
    if told and owed is not None and pressed is not None:
        await outbox.mark_sent(owed.id, c.services.now(), pressed.message_id)
    # The update's last write ends here, not after the press is answered: SQLite's one
    # writer at a time is not held across a call to the Bot API.
    await commit_now(c.services)
    return told
