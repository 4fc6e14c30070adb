"""Teams of partners (e.g. 共享奶奶): community staff create one (name, leader, skills);
the leader (or staff) invites approved partners of the community, who accept or
decline; a leader takes an order for the team (团队接单) and hands it to a member."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Row,
    SwitchTo,
)
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.dialogs.partners.common import checked, close_form, multiselect, own_community
from bot.dialogs.partners.states import PartnerAdmin, PartnerHand, PartnerTeamNew, PartnerTeamView
from bot.dialogs.partners.views import skills_text
from bot.formatting import e
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close, close_to_menu, menu_button
from bot.kit.notice import clear_notice, notice, say, take_notice
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.partners import Partner, PartnerError, PartnerService, PartnerState, Team
from storage.partners.rules import DECIDERS


async def _approved(c: Ctx, community_id: int) -> list[Partner]:
    stmt = (
        select(Partner)
        .where(Partner.community_id == community_id, Partner.state == PartnerState.APPROVED)
        .order_by(Partner.real_name)
    )
    return list((await c.session.execute(stmt)).scalars().all())


# --- staff: a new team ---------------------------------------------------------------


async def on_team_name(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    name = (message.text or "").strip()
    if not 1 <= len(name) <= 40:
        say(manager, c.t("partner.team.name_bad"))
        return
    manager.dialog_data["name"] = name
    clear_notice(manager)
    await manager.next()


async def on_leader(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    manager.dialog_data["leader_id"] = int(item_id)
    await manager.next()


async def on_create(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    community = await own_community(c)
    skills = checked(manager, "team_skills")
    if not skills:
        say(manager, c.t("partner.apply.skills_none"))
        return
    if community is None:
        say(manager, c.t("partner.admin.no_community"))
        return
    try:
        team = await c.services.get(PartnerService).create_team(
            c.staffing,
            community,
            str(manager.dialog_data.get("name", "")),
            int(manager.dialog_data.get("leader_id", 0)),
            skills,
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await manager.start(
        PartnerAdmin.main, data={"notice": c.t("partner.team.created", name=e(team.name))}
    )


async def new_team_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await own_community(c)
    partners = await _approved(c, community.id) if community else []
    policy = c.services.get(PartnerService).policy
    return {
        "notice": notice(dialog_manager),
        "partners": [(str(p.user_id), p.real_name) for p in partners],
        "skills": [(s, c.t(f"partner.skill.{s}")) for s in policy.skills],
        "name": e(dialog_manager.dialog_data.get("name", "")),
    }


def new_team_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.team.ask_name"),
            MessageInput(on_team_name, content_types=ContentType.ANY),
            Button(L("partner.cancel_form"), id="team_cancel_1", on_click=close),
            state=PartnerTeamNew.name,
            getter=new_team_getter,
        ),
        Window(
            notice_text(),
            L("partner.team.ask_leader"),
            picker("team_leader", "partners", on_leader, width=2, height=6),
            Row(
                Back(L("partner.back"), id="team_back_2"),
                Button(L("partner.cancel_form"), id="team_cancel_2", on_click=close),
            ),
            state=PartnerTeamNew.leader,
            getter=new_team_getter,
        ),
        Window(
            notice_text(),
            L("partner.team.ask_skills"),
            multiselect("team_skills", "skills"),
            Row(
                Back(L("partner.back"), id="team_back_3"),
                Button(L("partner.team.create"), id="team_create", on_click=on_create),
            ),
            state=PartnerTeamNew.skills,
            getter=new_team_getter,
        ),
    )


# --- the leader's team -------------------------------------------------------------------


async def _my_team(c: Ctx, manager: DialogManager) -> Team | None:
    """The team shown: the one staff opened (within their scope), else the one this
    partner leads."""
    service = c.services.get(PartnerService)
    team_id = start_data(manager).get("team_id")
    if not team_id:
        led = await service.teams_led(c.user_id)
        return led[0] if led else None
    team = await service.team(int(team_id))
    if team is None or team.leader_id == c.user_id:
        return team
    node = await c.services.hierarchy.get(team.community_id)
    return team if node is not None and c.staffing.covers(node, DECIDERS) else None


async def team_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    team = await _my_team(c, dialog_manager)
    if team is None:
        return {"notice": take_notice(dialog_manager), "none": True, "some": False}
    service = c.services.get(PartnerService)
    everyone = await service.members(team.id, invited=True)
    members = {p.user_id for p in await service.members(team.id)}
    lines = [
        f"{'👑' if p.user_id == team.leader_id else '·'} {e(p.real_name)}"
        + ("" if p.user_id in members else c.t("partner.team.invited"))
        for p in everyone
    ]
    outside = [
        p
        for p in await _approved(c, team.community_id)
        if p.user_id not in {x.user_id for x in everyone}
    ]
    return {
        "notice": take_notice(dialog_manager),
        "none": False,
        "some": True,
        "name": e(team.name),
        "skills": skills_text(c.t, team.skills),
        "members": "\n".join(lines),
        "outside": [(str(p.user_id), p.real_name) for p in outside],
    }


async def on_invite(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    team = await _my_team(c, manager)
    if team is None:
        return
    try:
        await c.services.get(PartnerService).invite(c.staffing, team.id, int(item_id))
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    say(manager, c.t("partner.team.invite_sent"))
    await manager.switch_to(PartnerTeamView.main)


def team_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("partner.team.none", when="none"),
            L("partner.team.view", when="some"),
            SwitchTo(
                L("partner.team.invite"),
                id="team_invite",
                state=PartnerTeamView.invite,
                when="some",
            ),
            menu_button(),
            state=PartnerTeamView.main,
            getter=team_getter,
        ),
        Window(
            L("partner.team.pick_invitee"),
            picker("team_invitee", "outside", on_invite, width=2, height=6),
            Back(L("partner.back"), id="team_invite_back"),
            state=PartnerTeamView.invite,
            getter=team_getter,
        ),
    )


# --- the leader hands a team order to a member -----------------------------------------


async def hand_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = c.services.get(PartnerService)
    order = await (await c.scoped()).order(int(start_data(dialog_manager).get("ref", 0)))
    team = await service.team(order.team_id) if order and order.team_id else None
    mine = team is not None and team.leader_id == c.user_id
    members = await service.members(team.id) if team is not None and mine else []
    return {
        "notice": notice(dialog_manager),
        "number": order.number if order else "",
        "members": [(str(p.user_id), p.real_name) for p in members],
    }


async def on_hand(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    service = c.services.get(PartnerService)
    try:
        await service.hand_to(int(start_data(manager).get("ref", 0)), c.user_id, int(item_id))
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    partner = await service.partner(int(item_id))
    await close_to_menu(manager)
    await c.bot.send_message(
        c.user_id, c.t("partner.team.handed", name=e(partner.real_name if partner else ""))
    )


def hand_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.team.hand_pick"),
            picker("hand_to", "members", on_hand, width=2, height=6),
            Button(L("partner.cancel_form"), id="hand_cancel", on_click=close_form),
            state=PartnerHand.pick,
            getter=hand_getter,
        ),
    )
