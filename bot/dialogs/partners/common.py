"""What the partner forms share: a multi-select of (id, label) items, the phone asked
through the chat's contact button (never typed) and taken from the contact message, the
community a staff member manages partners of."""

from __future__ import annotations

from operator import itemgetter

from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.kbd import Group, ManagedMultiselect, Multiselect
from aiogram_dialog.widgets.text import Format

from bot.kit.choice import CHOSEN, UNCHOSEN
from bot.kit.context import Ctx
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
