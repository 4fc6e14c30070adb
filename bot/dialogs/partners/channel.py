"""Where a community's 晒单 are also posted: staff pick a channel or group with the chat
app's own chat picker (which offers only chats the bot may post in), or stop posting.
The picker is a reply keyboard, so it goes out as its own message and is removed after."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    CallbackQuery,
    ChatAdministratorRights,
    ContentType,
    KeyboardButton,
    KeyboardButtonRequestChat,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column

from bot.dialogs.partners.common import managed_community
from bot.dialogs.partners.states import PartnerChannel
from bot.formatting import e, local_time
from bot.kit.context import ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from storage.partners import PartnerError, PartnerService

CHANNEL_REQUEST = 2001  # the request_id of the channel picker
GROUP_REQUEST = 2002  # the request_id of the group picker

# The picker lists only channels where the bot may post: anywhere else a post would fail.
_POST_RIGHTS = ChatAdministratorRights(
    is_anonymous=False,
    can_manage_chat=False,
    can_delete_messages=False,
    can_manage_video_chats=False,
    can_restrict_members=False,
    can_promote_members=False,
    can_change_info=False,
    can_invite_users=False,
    can_post_stories=False,
    can_edit_stories=False,
    can_delete_stories=False,
    can_send_welcome_messages=False,
    can_post_messages=True,
)


async def channel_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await managed_community(c)
    channel = (
        await c.services.get(PartnerService).showcase_channel(community.id) if community else None
    )
    failing = ""
    if channel is not None and channel.failing_since is not None:
        failing = c.t(
            "partner.channel.failing",
            at=local_time(channel.failing_since, c.zone)[5:],
            title=e(channel.title),
            pick=c.t("partner.channel.pick"),
        )
    return {
        "notice": notice(dialog_manager),
        "community": e(community.name) if community else "",
        "title": e(channel.title) if channel else "",
        "failing": failing,
        "has": channel is not None,
        "none": channel is None,
    }


async def on_pick(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [
                KeyboardButton(
                    text=c.t("partner.channel.pick_channel"),
                    request_chat=KeyboardButtonRequestChat(
                        request_id=CHANNEL_REQUEST,
                        chat_is_channel=True,
                        bot_is_member=True,
                        bot_administrator_rights=_POST_RIGHTS,
                        request_title=True,
                    ),
                ),
                KeyboardButton(
                    text=c.t("partner.channel.pick_group"),
                    request_chat=KeyboardButtonRequestChat(
                        request_id=GROUP_REQUEST,
                        chat_is_channel=False,
                        bot_is_member=True,
                        request_title=True,
                    ),
                ),
            ]
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await c.bot.send_message(c.user_id, c.t("partner.channel.pick_keyboard"), reply_markup=keyboard)
    await manager.switch_to(PartnerChannel.pick, show_mode=ShowMode.SEND)


async def _set(manager: DialogManager, chat_id: int | None, title: str) -> bool:
    c = ctx(manager)
    community = await managed_community(c)
    if community is None:
        say(manager, c.t("partner.admin.no_community"))
        return False
    try:
        await c.services.get(PartnerService).set_showcase_channel(
            c.staffing, community.id, chat_id, title
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return False
    return True


async def on_shared(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    shared = message.chat_shared
    if shared is None or shared.request_id not in (CHANNEL_REQUEST, GROUP_REQUEST):
        say(manager, c.t("partner.channel.pick_hint"))
        return
    title = shared.title or str(shared.chat_id)
    if not await _set(manager, shared.chat_id, title):
        return
    clear_notice(manager)
    await c.bot.send_message(
        c.user_id,
        c.t("partner.channel.set", title=e(title)),
        reply_markup=ReplyKeyboardRemove(),
    )
    await manager.switch_to(PartnerChannel.main, show_mode=ShowMode.SEND)


async def on_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await c.bot.send_message(
        c.user_id, c.t("partner.channel.kept"), reply_markup=ReplyKeyboardRemove()
    )
    await manager.switch_to(PartnerChannel.main, show_mode=ShowMode.SEND)


async def on_stop(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if await _set(manager, None, ""):
        say(manager, c.t("partner.channel.stopped"))


def channel_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.channel.current", when="has"),
            L("partner.channel.unset", when="none"),
            Column(
                Button(L("partner.channel.pick"), id="ch_pick", on_click=on_pick),
                Button(L("partner.channel.stop"), id="ch_stop", on_click=on_stop, when="has"),
                Button(L("partner.back"), id="ch_close", on_click=close),
            ),
            state=PartnerChannel.main,
            getter=channel_getter,
        ),
        Window(
            notice_text(),
            L("partner.channel.pick_ask"),
            MessageInput(on_shared, content_types=ContentType.ANY),
            Button(L("partner.back"), id="ch_back", on_click=on_back),
            state=PartnerChannel.pick,
            getter=channel_getter,
        ),
    )
