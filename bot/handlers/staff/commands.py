"""/invite, /staff, and /start with an invite link (``i_<token>``), which makes the person
staff."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode

from bot.commands import apply_chat_commands
from bot.config import Settings
from bot.dialogs.staff.common import INVITE_PREFIX
from bot.dialogs.staff.states import StaffAdmin, StaffInvite
from bot.formatting import e, node_path
from bot.i18n import Translator
from bot.kit.menu import open_menu
from bot.kit.roles import role_name
from bot.registry import Registry
from storage.outbox import Lane
from storage.roles import Role, Staffing
from storage.services import Services
from storage.staff.invites import InviteRepo
from storage.users import User


async def on_invite(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_admin:
        await message.answer(t("common.not_allowed"))
        return
    await dialog_manager.start(StaffInvite.role, mode=StartMode.RESET_STACK)


async def on_staff(
    message: Message, dialog_manager: DialogManager, staffing: Staffing, t: Translator
) -> None:
    if not staffing.is_admin:
        await message.answer(t("common.not_allowed"))
        return
    await dialog_manager.start(StaffAdmin.staff, mode=StartMode.RESET_STACK)


async def on_redeem(
    message: Message,
    command: CommandObject,
    dialog_manager: DialogManager,
    services: Services,
    user: User | None,
    t: Translator,
    settings: Settings,
    bot: Bot,
    language: str,
    features: Registry,
) -> None:
    tg_user = message.from_user
    assert tg_user is not None and command.args is not None
    token = command.args[len(INVITE_PREFIX) :]
    now = services.now()
    invite, problem = await services.get(InviteRepo).redeem(token, user_id=tg_user.id, now=now)
    if problem is not None or invite is None:
        await message.answer(t(f"invite.{problem.value if problem else 'unknown'}"))
        return
    if user is None:
        # Staff accounts are created by the invite itself; residents' by their consent.
        await services.users.touch(
            user_id=tg_user.id,
            first_name=tg_user.first_name,
            last_name=tg_user.last_name,
            username=tg_user.username,
            telegram_language=tg_user.language_code,
            now=now,
        )
    # The admin who made the link hears that it was used, and by whom.
    services.outbox.add(
        [invite.created_by], "staff.joined", now=now, lane=Lane.STATUS, subject_id=invite.id
    )
    await services.audit.record(
        actor_id=tg_user.id,
        action="staff.join",
        at=now,
        object_type="invite",
        object_id=invite.id,
        role=invite.role,
        node_id=invite.node_id,
    )
    where = (
        node_path(await services.hierarchy.ancestors(invite.node))
        if invite.node
        else t("roles.everywhere")
    )
    await message.answer(
        t(
            "invite.welcome",
            name=e(tg_user.first_name),
            role=role_name(Role(invite.role), t),
            where=where,
        )
    )
    staffing = await services.staff.staffing(tg_user.id, config_admins=settings.admin_ids)
    await apply_chat_commands(bot, features, tg_user.id, staffing, language)
    # The menu shows the new role at once, not from the next update on.
    dialog_manager.middleware_data["staffing"] = staffing
    await open_menu(dialog_manager)


def build_router() -> Router:
    router = Router(name="staff")
    router.message.filter(F.chat.type == "private")
    router.message.register(
        on_redeem, CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX))
    )
    router.message.register(on_invite, Command("invite"))
    router.message.register(on_staff, Command("staff"))
    return router
