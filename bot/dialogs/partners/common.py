"""What the partner forms share: a multi-select of (id, label) items, the phone asked
through the chat's contact button (never typed) and taken from the contact message, the
community a staff member manages partners of, and the pushed message a form was opened
from getting its buttons back."""

from __future__ import annotations

from operator import itemgetter

from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Group, ManagedMultiselect, Multiselect
from aiogram_dialog.widgets.text import Format

from bot.kit.choice import CHOSEN, UNCHOSEN
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close_to_menu
from bot.kit.notice import say
from storage.hierarchy import Node, NodeKind
from storage.partners.rules import DECIDERS


def multiselect(widget_id: str, items: str) -> Group:
    """Two per row, each ticked or not as every multi-select reads (bot/kit/choice.py)."""
    return Group(
        Multiselect(
            Format(CHOSEN + "{item[1]}"),
            Format(UNCHOSEN + "{item[1]}"),
            id=widget_id,
            item_id_getter=itemgetter(0),
            items=items,
        ),
        width=2,
    )


def checked(manager: DialogManager, widget_id: str) -> list[str]:
    found = manager.find(widget_id)
    assert isinstance(found, ManagedMultiselect), widget_id
    return [str(i) for i in found.get_checked()]


async def ask_phone(c: Ctx) -> None:
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=c.t("partner.apply.phone_button"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await c.bot.send_message(c.user_id, c.t("partner.apply.phone_keyboard"), reply_markup=keyboard)


async def take_phone(c: Ctx, manager: DialogManager, message: Message) -> str | None:
    """The sender's own number from a contact message (remembered on their profile, the
    keyboard taken away); None, with a sentence saying what to send, for anything else."""
    contact = message.contact
    if contact is None:
        say(manager, c.t("partner.apply.phone_typed"))
        return None
    if contact.user_id != c.user_id:
        say(manager, c.t("partner.apply.contact_not_own"))
        return None
    phone = contact.phone_number.strip()[:32]
    if c.user is not None:
        c.user.phone = phone
    await c.bot.send_message(
        c.user_id, c.t("partner.apply.phone_saved"), reply_markup=ReplyKeyboardRemove()
    )
    return phone


async def own_community(c: Ctx) -> Node | None:
    """The community this staff member holds a role at (calls and teams are a
    community's own)."""
    for scope in c.staffing.scopes(DECIDERS):
        if scope is not None and scope.node_kind is NodeKind.COMMUNITY:
            return scope
    return None


async def managed_community(c: Ctx) -> Node | None:
    """Their own community, or for street and district staff the first community under
    them."""
    own = await own_community(c)
    if own is not None:
        return own
    for scope in c.staffing.scopes(DECIDERS):
        found = await c.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=scope)
        if found:
            return found[0]
    return None


async def restore_card(c: Ctx, manager: DialogManager) -> None:
    """A form opened from a pushed message (an order's card, an application, a call)
    opens below it, which takes the message's buttons off; they come back when what they
    offer still applies (a message passed on, a photo added, a form cancelled)."""
    data = start_data(manager)
    card, markup = data.get("card"), data.get("card_markup")
    if not card or not markup:
        return
    await c.bot.edit_message_reply_markup(
        chat_id=c.user_id,
        message_id=int(card),
        reply_markup=InlineKeyboardMarkup.model_validate(markup),
    )


async def close_form(call: CallbackQuery, _: object, manager: DialogManager) -> None:
    """✖️ 取消: nothing done, so the message the form came from is as it was."""
    await restore_card(ctx(manager), manager)
    await close_to_menu(manager)
