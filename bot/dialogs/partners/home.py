"""/partner: what a resident sees of 幸福合伙人 in the state they are in — an invitation to
apply, the application under review, why it was rejected or suspended, or, for a partner,
points, rank, recent ledger lines, the switch for taking orders, and their orders. The
points rule is published here, as the monthly recognition follows it."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Back, Button, Column, Start, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.partners.states import (
    OrderForm,
    PartnerApply,
    PartnerHome,
    PartnerNominate,
    PartnerTeamView,
)
from bot.dialogs.partners.views import skill_label, skills_text
from bot.formatting import e, local_time
from bot.kit.context import ctx
from bot.kit.menu import menu_button
from bot.kit.notice import say, take_notice
from bot.kit.text import L, notice_text
from storage.partners import PartnerError, PartnerService, PartnerState


async def home_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    service = c.services.get(PartnerService)
    partner = await service.partner(c.user_id)
    state = partner.state if partner else None
    data: dict[str, Any] = {
        "notice": take_notice(dialog_manager),
        "none": partner is None,
        "may_apply": partner is None or state == PartnerState.REJECTED,
        "pending": state == PartnerState.PENDING,
        "rejected": state == PartnerState.REJECTED,
        "suspended": state == PartnerState.SUSPENDED,
        "approved": state == PartnerState.APPROVED,
        "is_partner": state in (PartnerState.APPROVED, PartnerState.SUSPENDED),
        "reason": e(partner.reason or "") if partner else "",
        "date": local_time(partner.created_at, c.zone) if partner else "",
    }
    p = service.policy
    data.update(
        p1=p.points[0],
        p2=p.points[1],
        p3=p.points[2],
        min=p.recognise_min_orders,
        rate=int(p.recognise_min_satisfied * 100),
        top=p.recognise_top,
    )
    if partner is not None and state == PartnerState.APPROVED:
        standing = await service.standing(partner)
        lines = [
            c.t(
                "partner.home.history_line",
                date=local_time(entry.at, c.zone)[5:10],
                points=f"{entry.points:+d}",
                reason=e(entry.reason)
                if entry.order_id is None
                else c.t("partner.reason.order", number=f"F{entry.order_id:05d}"),
            )
            for entry in await service.history(partner.user_id, limit=5)
        ]
        history = (
            c.t("partner.home.history_title") + "\n" + "\n".join(lines)
            if lines
            else c.t("partner.home.no_history")
        )
        data.update(
            name=e(partner.real_name),
            skills=skills_text(c.t, partner.skills),
            balance=standing.balance,
            rank=standing.rank,
            partners=standing.partners,
            confirmed=standing.confirmed,
            available=c.t(f"partner.home.available_{'on' if partner.available else 'off'}"),
            history=history,
            on=partner.available,
            off=not partner.available,
            leads=bool(await service.teams_led(partner.user_id)),
        )
    return data


async def orders_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    orders = await c.services.get(PartnerService).orders_of(c.user_id, limit=15)
    lines = [
        c.t(
            "partner.orders.line",
            number=o.number,
            skill=skill_label(c.t, o.skill),
            state=c.t(f"partner.order_state.{o.state}"),
            date=local_time(o.created_at, c.zone)[5:16],
        )
        for o in orders
    ]
    return {"lines": "\n".join(lines), "has": bool(lines), "empty": not lines}


async def on_start(data: Any, manager: DialogManager) -> None:
    if isinstance(data, dict) and data.get("notice"):
        say(manager, str(data["notice"]))


async def on_toggle(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    service = c.services.get(PartnerService)
    partner = await service.partner(c.user_id)
    try:
        await service.set_available(c.user_id, not (partner and partner.available))
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))


def home_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.home.intro", when="none"),
            L("partner.home.pending", when="pending"),
            L("partner.home.rejected", when="rejected"),
            L("partner.home.suspended", when="suspended"),
            L("partner.home.approved", when="approved"),
            L("partner.home.rule", when="is_partner"),
            Column(
                Start(
                    L("partner.apply.button"),
                    id="home_apply",
                    state=PartnerApply.name,
                    when="may_apply",
                ),
                Button(L("partner.home.toggle_off"), id="home_off", on_click=on_toggle, when="on"),
                Button(L("partner.home.toggle_on"), id="home_on", on_click=on_toggle, when="off"),
                SwitchTo(L("partner.home.orders"), id="home_orders", state=PartnerHome.orders),
                Start(L("partner.nominate.button"), id="home_nominate", state=PartnerNominate.how),
                Start(
                    L("partner.team.mine"), id="home_team", state=PartnerTeamView.main, when="leads"
                ),
                Start(L("partner.menu_order"), id="home_order", state=OrderForm.skill),
                menu_button(),
            ),
            state=PartnerHome.main,
            getter=home_getter,
        ),
        Window(
            L("partner.orders.title", when="has"),
            L("partner.orders.empty", when="empty"),
            Format("{lines}", when="has"),
            Back(L("partner.back"), id="orders_back"),
            state=PartnerHome.orders,
            getter=orders_getter,
        ),
        on_start=on_start,
    )
