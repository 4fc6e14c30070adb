"""/start: plain, with a building's QR payload, or with a staff invite."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from aiogram_dialog import DialogManager, StartMode
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.deeplinks import parse_payload
from bot.dialogs.states import MainMenu, Onboarding
from bot.formatting import e, node_path
from bot.i18n import Translator
from bot.roles import apply_chat_commands, role_name
from storage.audit import AuditRepo
from storage.clock import Clock
from storage.hierarchy import HierarchyRepo
from storage.staff import Role, StaffRepo
from storage.users import User, UserRepo


async def on_start(
    message: Message,
    command: CommandObject,
    dialog_manager: DialogManager,
    session: AsyncSession,
    user: User | None,
    t: Translator,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    language: str,
) -> None:
    payload = parse_payload(command.args)
    if payload is not None and payload.kind == "invite":
        if await _redeem_invite(
            message, payload.token, session, user, t, clock, settings, bot, language
        ):
            await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK)
        return
    building = None
    if payload is not None and payload.kind == "building":
        building = await HierarchyRepo(session).by_qr_token(payload.token)
    bad_link = payload is not None and building is None
    consented = user is not None and user.has_consented
    if building is not None and consented and user is not None:
        if user.building_id == building.id:
            await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK)
        else:
            await dialog_manager.start(
                Onboarding.switch, mode=StartMode.RESET_STACK, data={"building_id": building.id}
            )
        return
    if consented and user is not None and user.building_id is not None:
        data = {"notice": t("onboarding.bad_link")} if bad_link else {}
        await dialog_manager.start(MainMenu.main, mode=StartMode.RESET_STACK, data=data)
        return
    if consented:
        await dialog_manager.start(
            Onboarding.community, mode=StartMode.RESET_STACK, data={"bad_link": bad_link}
        )
        return
    await dialog_manager.start(
        Onboarding.consent,
        mode=StartMode.RESET_STACK,
        data={"building_id": building.id if building else None, "bad_link": bad_link},
    )


async def _redeem_invite(
    message: Message,
    token: str,
    session: AsyncSession,
    user: User | None,
    t: Translator,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    language: str,
) -> bool:
    tg_user = message.from_user
    assert tg_user is not None
    now = clock.now()
    staff = StaffRepo(session)
    invite, problem = await staff.redeem(token, user_id=tg_user.id, now=now)
    if problem is not None or invite is None:
        await message.answer(t(f"invite.{problem.value if problem else 'unknown'}"))
        return False
    if user is None:
        # Staff accounts are created by the invite itself; residents' by their consent.
        user = await UserRepo(session).touch(
            user_id=tg_user.id,
            first_name=tg_user.first_name,
            last_name=tg_user.last_name,
            username=tg_user.username,
            telegram_language=tg_user.language_code,
            now=now,
        )
    await AuditRepo(session).record(
        actor_id=tg_user.id,
        action="staff.join",
        at=now,
        object_type="invite",
        object_id=invite.id,
        role=invite.role,
        node_id=invite.node_id,
    )
    await session.commit()
    where = (
        node_path(await HierarchyRepo(session).ancestors(invite.node))
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
    staffing = await staff.staffing(tg_user.id, config_admins=settings.admin_ids)
    await apply_chat_commands(bot, tg_user.id, staffing, language)
    return True


def build_router() -> Router:
    router = Router(name="start")
    router.message.filter(F.chat.type == "private")
    router.message.register(on_start, CommandStart())
    return router
