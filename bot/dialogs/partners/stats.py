"""The partners' figures (/stats → 🤝 合伙人数据) for the node and month the appeal figures
were showing: active partners by skill, orders by state, the median wait until taken,
completion and satisfaction rates, points issued."""

from __future__ import annotations

from typing import Any

from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.text import Format

from bot.dialogs.partners.states import PartnerStats
from bot.dialogs.partners.views import skill_label
from bot.formatting import e
from bot.kit.context import ctx, start_data
from bot.kit.menu import close, menu_button
from bot.kit.text import L
from storage.partners.kpi import partner_kpis
from storage.partners.rules import DECIDERS
from storage.partners.service import month_bounds, month_bounds_of
from storage.roles import Role


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = start_data(dialog_manager)
    node_id = data.get("node_id")
    node = await c.services.hierarchy.get(int(node_id)) if node_id else None
    if node is None or not c.staffing.covers(node, (*DECIDERS, Role.WORKER)):
        return {"text": c.t("partner.problem.not_allowed")}
    label = str(data.get("month") or "")
    try:
        start, end, label = month_bounds_of(label, c.zone)
    except ValueError:
        start, end, label = month_bounds(c.clock.now(), c.zone)
    k = await partner_kpis(c.session, node, start, end)
    skills = c.t("common.list_sep").join(
        f"{skill_label(c.t, s)} {n}" for s, n in k.active_by_skill.items()
    )
    states = c.t("common.list_sep").join(
        f"{c.t(f'partner.order_state.{s}')} {n}" for s, n in sorted(k.orders_by_state.items())
    )
    text = c.t(
        "partner.stats.text",
        node=e(node.name),
        month=label,
        active=k.active,
        skills=skills or "—",
        orders=k.orders,
        states=states or "—",
        wait="—" if k.median_take_minutes is None else f"{k.median_take_minutes:.0f}",
        completion=_rate(k.completion),
        satisfaction=_rate(k.satisfaction),
        issued=k.points_issued,
        deducted=k.points_deducted,
    )
    return {"text": text}


def stats_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            Button(L("partner.back"), id="pstats_back", on_click=close),
            menu_button(),
            state=PartnerStats.main,
            getter=getter,
        ),
    )
