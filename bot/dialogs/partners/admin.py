"""/partners for community staff (and those above): pending applications to decide, this
month's points table with the partners the published rule proposes, the table as XLSX;
and the two forms a pushed card opens: the reason for a rejection, and 派单 (picking a
partner of the order's skill, those of its grid first)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from aiogram.types import BufferedInputFile, CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Back, Button, Column, Start, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlalchemy import func, select

from bot.dialogs.partners.common import close_form, managed_community, restore_card
from bot.dialogs.partners.states import (
    PartnerAdmin,
    PartnerAssign,
    PartnerCall,
    PartnerChannel,
    PartnerFromAppeal,
    PartnerReject,
    PartnerTeamNew,
    PartnerTeamView,
)
from bot.dialogs.partners.views import skill_label, skills_text
from bot.formatting import e, local_time
from bot.kit.context import Ctx, ctx, start_data
from bot.kit.menu import close_to_menu, menu_button
from bot.kit.notice import notice, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.hierarchy import Node
from storage.partners import (
    CallState,
    OrderState,
    Partner,
    PartnerError,
    PartnerService,
    PartnerState,
    ServiceOrder,
)
from storage.partners.rules import may_decide
from storage.partners.service import MonthRow, month_bounds


def _month(c: Ctx) -> tuple[datetime, datetime, str]:
    return month_bounds(c.clock.now(), c.zone)


async def _table(c: Ctx, community: Node) -> tuple[list[MonthRow], str]:
    start, end, label = _month(c)
    return await c.services.get(PartnerService).month(community.id, start, end), label


async def admin_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await managed_community(c)
    if community is None:
        return {
            "notice": notice(dialog_manager),
            "none": True,
            "some": False,
            "pending": 0,
            "teams": [],
        }
    service = c.services.get(PartnerService)
    rows, label = await _table(c, community)
    lines = [
        c.t(
            "partner.admin.table_line",
            i=i,
            name=e(r.name),
            points=r.points,
            confirmed=r.confirmed,
            satisfied=r.satisfied,
            rated=r.rated,
            chased=c.t("partner.admin.chased", n=r.chased) if r.chased else "",
        )
        for i, r in enumerate(rows[:10], 1)
        if r.points or r.confirmed
    ]
    best = service.outstanding(rows)
    outstanding = (
        c.t("partner.admin.outstanding", names=c.t("common.list_sep").join(e(r.name) for r in best))
        if best
        else c.t("partner.admin.outstanding_none")
    )
    partners = await c.session.scalar(
        select(func.count())
        .select_from(Partner)
        .where(Partner.community_id == community.id, Partner.state == PartnerState.APPROVED)
    )
    open_orders = await c.session.scalar(
        select(func.count())
        .select_from(ServiceOrder)
        .where(
            ServiceOrder.community_id == community.id,
            ServiceOrder.state.in_(
                [OrderState.OPEN, OrderState.ASSIGNED, OrderState.TAKEN, OrderState.VISITED]
            ),
        )
    )
    pending = len(await service.applications(c.staffing))
    calls = [
        c.t(
            "partner.call.line",
            title=e(f.call.title),
            applied=f.applied,
            quota=f.call.quota,
            approved=f.approved,
            state=c.t("partner.call.open", deadline=local_time(f.call.deadline, c.zone)[5:10])
            if f.call.state == CallState.OPEN
            else c.t("partner.call.ended"),
        )
        for f in await service.calls(community.id)
    ]
    teams = await service.teams_of(community.id)
    for team in teams:
        members = await service.members(team.id)
        calls.append(
            c.t(
                "partner.team.line",
                name=e(team.name),
                n=len(members),
                skills=skills_text(c.t, team.skills),
            )
        )
    return {
        "teams": [(str(team.id), "👥 " + team.name) for team in teams],
        "calls": "\n".join(calls),
        "notice": notice(dialog_manager),
        "none": False,
        "some": True,
        "pending": pending,
        "partners": int(partners or 0),
        "open": int(open_orders or 0),
        "month": label,
        "table": "\n".join(lines) or c.t("partner.admin.table_empty"),
        "outstanding": outstanding,
        "n": pending,
    }


async def applications_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    pending = await c.services.get(PartnerService).applications(c.staffing)
    items = [
        (str(p.user_id), f"{p.real_name} · {skills_text(c.t, p.skills)}") for p in pending[:50]
    ]
    return {"items": items, "has": bool(items), "empty": not items}


async def on_application(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    """Show the application card again (with its 通过 / 不通过 buttons) in the chat."""
    c = ctx(manager)
    partner = await (await c.scoped()).application(int(item_id)) if item_id.isdigit() else None
    community = await c.services.hierarchy.get(partner.community_id) if partner else None
    if partner is None or may_decide(c.staffing, community) is not None:
        say(manager, c.t("partner.problem.not_found"))
        return
    if partner.state != PartnerState.PENDING:
        say(manager, c.t("partner.problem.already"))
        return
    c.services.outbox.add(
        [c.user_id], "partner.application", now=c.services.now(), subject_id=partner.user_id
    )


async def on_export(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    from openpyxl import Workbook

    c = ctx(manager)
    community = await managed_community(c)
    if community is None:
        return
    rows, label = await _table(c, community)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = label
    columns = ("name", "points", "orders", "satisfied", "rated", "chased")
    sheet.append([c.t(f"partner.admin.column.{column}") for column in columns])
    for r in rows:
        sheet.append([r.name, r.points, r.confirmed, r.satisfied, r.rated, r.chased])
    buffer = io.BytesIO()
    book.save(buffer)
    name = f"partners-{community.code}-{label}.xlsx"
    await c.bot.send_document(
        c.user_id,
        BufferedInputFile(buffer.getvalue(), filename=name),
        caption=c.t("partner.admin.exported", month=label),
    )


async def on_team(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    await manager.start(PartnerTeamView.main, data={"team_id": int(item_id)})


async def on_admin_start(data: Any, manager: DialogManager) -> None:
    if isinstance(data, dict) and data.get("notice"):
        say(manager, str(data["notice"]))


def admin_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.admin.no_community", when="none"),
            L("partner.admin.title", when="some"),
            Column(
                SwitchTo(
                    L("partner.admin.applications"),
                    id="adm_apps",
                    state=PartnerAdmin.applications,
                    when="some",
                ),
                Start(
                    L("partner.call.button"), id="adm_call", state=PartnerCall.title, when="some"
                ),
                Start(L("partner.team.new"), id="adm_team", state=PartnerTeamNew.name, when="some"),
                Button(L("partner.admin.export"), id="adm_export", on_click=on_export, when="some"),
                Start(
                    L("partner.from_appeal.button"),
                    id="adm_from_appeal",
                    state=PartnerFromAppeal.number,
                    when="some",
                ),
                SwitchTo(
                    L("partner.admin.people"),
                    id="adm_people",
                    state=PartnerAdmin.people,
                    when="some",
                ),
                Start(
                    L("partner.channel.button"),
                    id="adm_channel",
                    state=PartnerChannel.main,
                    when="some",
                ),
                picker("adm_team_open", "teams", on_team, width=2, when="some"),
                menu_button(),
            ),
            state=PartnerAdmin.main,
            getter=admin_getter,
        ),
        Window(
            L("partner.admin.pick", when="has"),
            L("partner.admin.empty", when="empty"),
            picker("adm_app", "items", on_application, height=8),
            Back(L("partner.back"), id="apps_back"),
            state=PartnerAdmin.applications,
            getter=applications_getter,
        ),
        Window(
            L("partner.admin.people_pick", when="has"),
            L("partner.admin.people_empty", when="empty"),
            picker("adm_person", "items", on_person, width=2, height=8),
            SwitchTo(L("partner.back"), id="people_back", state=PartnerAdmin.main),
            state=PartnerAdmin.people,
            getter=people_getter,
        ),
        Window(
            notice_text(),
            Format("{text}"),
            SwitchTo(
                L("partner.admin.suspend"),
                id="person_suspend",
                state=PartnerAdmin.suspend,
                when="approved",
            ),
            Button(
                L("partner.admin.reinstate"),
                id="person_reinstate",
                on_click=on_reinstate,
                when="suspended",
            ),
            SwitchTo(L("partner.admin.adjust"), id="person_points", state=PartnerAdmin.points),
            SwitchTo(L("partner.back"), id="person_back", state=PartnerAdmin.people),
            state=PartnerAdmin.person,
            getter=person_getter,
        ),
        Window(
            notice_text(),
            L("partner.admin.suspend_reason"),
            MessageInput(on_suspend_reason, content_types=ContentType.ANY),
            SwitchTo(L("partner.back"), id="suspend_back", state=PartnerAdmin.person),
            state=PartnerAdmin.suspend,
            getter=_notice_getter,
        ),
        Window(
            notice_text(),
            L("partner.admin.points_ask"),
            MessageInput(on_points, content_types=ContentType.ANY),
            SwitchTo(L("partner.back"), id="points_back", state=PartnerAdmin.person),
            state=PartnerAdmin.points,
            getter=_notice_getter,
        ),
        on_start=on_admin_start,
    )


# --- one partner: suspend, reinstate, adjust points ---------------------------------------


async def people_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    community = await managed_community(c)
    rows: list[Partner] = []
    if community is not None:
        stmt = (
            select(Partner)
            .where(
                Partner.community_id == community.id,
                Partner.state.in_([PartnerState.APPROVED, PartnerState.SUSPENDED]),
            )
            .order_by(Partner.real_name)
        )
        rows = list((await c.session.execute(stmt)).scalars().all())
    items = [
        (str(p.user_id), ("⏸ " if p.state == PartnerState.SUSPENDED else "") + p.real_name)
        for p in rows
    ]
    return {"items": items, "has": bool(items), "empty": not items}


async def on_person(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    manager.dialog_data["person"] = int(item_id)
    await manager.switch_to(PartnerAdmin.person)


async def _person(c: Ctx, manager: DialogManager) -> Partner | None:
    partner = await (await c.scoped()).application(int(manager.dialog_data.get("person", 0)))
    if partner is None:
        return None
    # Staff screens: the person's own row is no partner of theirs to manage.
    community = await c.services.hierarchy.get(partner.community_id)
    return partner if may_decide(c.staffing, community) is None else None


async def person_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    partner = await _person(c, dialog_manager)
    if partner is None:
        return {
            "notice": notice(dialog_manager),
            "text": c.t("partner.problem.not_found"),
            "approved": False,
            "suspended": False,
        }
    service = c.services.get(PartnerService)
    history = await service.history(partner.user_id, limit=5)
    text = c.t(
        "partner.admin.person",
        name=e(partner.real_name),
        phone=e(partner.phone),
        skills=skills_text(c.t, partner.skills),
        state=c.t(f"partner.state.{partner.state}"),
        balance=await service.balance(partner.user_id),
        history="\n".join(
            f"{local_time(h.at, c.zone)[5:10]} {h.points:+d} · {e(h.reason)}" for h in history
        )
        or c.t("partner.home.no_history"),
    )
    return {
        "notice": notice(dialog_manager),
        "text": text,
        "approved": partner.state == PartnerState.APPROVED,
        "suspended": partner.state == PartnerState.SUSPENDED,
    }


async def on_reinstate(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    try:
        await c.services.get(PartnerService).reinstate(
            c.staffing, int(manager.dialog_data.get("person", 0))
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    say(manager, c.t("partner.admin.reinstated"))


async def on_suspend_reason(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    reason = (message.text or "").strip()
    if not reason or len(reason) > 200:
        say(manager, c.t("partner.admin.reason_empty"))
        return
    try:
        await c.services.get(PartnerService).suspend(
            c.staffing, int(manager.dialog_data.get("person", 0)), reason
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    say(manager, c.t("partner.admin.suspended"))
    await manager.switch_to(PartnerAdmin.person)


async def on_points(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """ "+5 社区活动" or "-3 兑换理发券": a number and a reason."""
    c = ctx(manager)
    text = (message.text or "").strip()
    number, _sep, reason = text.partition(" ")
    try:
        points = int(number)
    except ValueError:
        say(manager, c.t("partner.admin.points_bad"))
        return
    try:
        await c.services.get(PartnerService).adjust(
            c.staffing, int(manager.dialog_data.get("person", 0)), points, reason
        )
    except PartnerError:
        say(manager, c.t("partner.admin.points_bad"))
        return
    say(manager, c.t("partner.admin.points_done", points=f"{points:+d}"))
    await manager.switch_to(PartnerAdmin.person)


# --- the reason for a rejection --------------------------------------------------------


async def on_reason(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    reason = (message.text or "").strip()
    if not reason or len(reason) > 200:
        say(manager, c.t("partner.admin.reason_empty"))
        return
    try:
        await c.services.get(PartnerService).decide(
            c.staffing, int(start_data(manager).get("ref", 0)), approve=False, reason=reason
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    await manager.done()
    await c.bot.send_message(c.user_id, c.t("partner.admin.rejected"))


async def on_reject_cancel(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    """Not rejected after all: the card the form opened below gets its buttons back while
    the application is still waiting."""
    c = ctx(manager)
    partner = await c.services.get(PartnerService).partner(int(start_data(manager).get("ref", 0)))
    if partner is not None and partner.state == PartnerState.PENDING:
        await restore_card(c, manager)
    await close_to_menu(manager)


def reject_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.admin.reject_reason"),
            MessageInput(on_reason, content_types=ContentType.ANY),
            Button(L("partner.cancel_form"), id="reject_cancel", on_click=on_reject_cancel),
            state=PartnerReject.reason,
            getter=_notice_getter,
        ),
    )


async def _notice_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": notice(dialog_manager)}


# --- 派单 -------------------------------------------------------------------------------


async def assign_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = c.services.get(PartnerService)
    order = await (await c.scoped()).order(int(start_data(dialog_manager).get("ref", 0)))
    community = await c.services.hierarchy.get(order.community_id) if order else None
    if may_decide(c.staffing, community) is not None:
        order = None  # only those who assign see whom it could go to
    partners = await service.partners_for(order) if order is not None else []
    return {
        "notice": notice(dialog_manager),
        "number": order.number if order else "",
        "skill": skill_label(c.t, order.skill) if order else "",
        "items": [(str(p.user_id), p.real_name) for p in partners[:60]],
        "has": bool(partners),
        "empty": not partners,
    }


async def on_assign(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    c = ctx(manager)
    service = c.services.get(PartnerService)
    try:
        await service.assign(c.staffing, int(start_data(manager).get("ref", 0)), int(item_id))
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    partner = await service.partner(int(item_id))
    await restore_card(c, manager)  # 派单 again, or cancel, if nobody answers
    await close_to_menu(manager)
    await c.bot.send_message(
        c.user_id, c.t("partner.admin.assigned", name=e(partner.real_name if partner else ""))
    )


def assign_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.admin.assign_pick", when="has"),
            L("partner.admin.assign_none", when="empty"),
            picker("assign_to", "items", on_assign, width=2, height=6),
            Button(L("partner.cancel_form"), id="assign_cancel", on_click=close_form),
            state=PartnerAssign.pick,
            getter=assign_getter,
        ),
    )
