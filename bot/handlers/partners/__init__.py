"""幸福合伙人 (partners): residents apply to volunteer a skill and community staff decide;
residents order a service (点单) and the first partner of that skill in the community to
press 接单 gets it (抢单), or staff assign one when nobody does in time (派单); the partner
marks visits and completion, the resident confirms and rates, and only then are points
credited to an append-only ledger."""

from __future__ import annotations

from bot.dialogs.partners.admin import admin_dialog, assign_dialog, reject_dialog
from bot.dialogs.partners.apply import apply_dialog
from bot.dialogs.partners.call import call_dialog
from bot.dialogs.partners.channel import channel_dialog
from bot.dialogs.partners.from_appeal import from_appeal_dialog
from bot.dialogs.partners.home import home_dialog
from bot.dialogs.partners.nominate import nominate_dialog
from bot.dialogs.partners.order import order_dialog
from bot.dialogs.partners.relay import relay_dialog
from bot.dialogs.partners.showcase import comment_dialog, photo_dialog, showcase_dialog
from bot.dialogs.partners.states import (
    OrderForm,
    PartnerAdmin,
    PartnerHome,
    PartnerStats,
    Showcase,
)
from bot.dialogs.partners.stats import stats_dialog
from bot.dialogs.partners.teams import hand_dialog, new_team_dialog, team_dialog
from bot.handlers.partners import buttons, commands, jobs
from bot.handlers.partners.config import partner_config
from bot.handlers.partners.renderers import RENDERERS
from bot.registry import (
    ADMINS,
    EVERYONE,
    RESIDENTS,
    SUPERVISORS,
    WORKERS,
    Audience,
    Command,
    Feature,
    Job,
    MenuEntry,
    WebRoutes,
)
from storage.partners import privacy


def _web() -> list[WebRoutes]:
    from web.partners import partners_web

    return partners_web()


FEATURE = Feature(
    name="partners",
    routers=lambda: [commands.build_router(), buttons.build_router()],
    dialogs=lambda: [
        home_dialog(),
        apply_dialog(),
        order_dialog(),
        admin_dialog(),
        reject_dialog(),
        assign_dialog(),
        showcase_dialog(),
        photo_dialog(),
        comment_dialog(),
        call_dialog(),
        nominate_dialog(),
        new_team_dialog(),
        team_dialog(),
        hand_dialog(),
        relay_dialog(),
        stats_dialog(),
        from_appeal_dialog(),
        channel_dialog(),
    ],
    renderers=RENDERERS,
    jobs=(Job("partner-orders", jobs.sweep_orders, every_seconds=30),),
    menu=(
        MenuEntry("order", "partner.menu_order", OrderForm.skill, Audience.RESIDENT, rank=20),
        MenuEntry("partner", "partner.menu", PartnerHome.main, Audience.RESIDENT, rank=40),
        MenuEntry("showcase", "partner.menu_showcase", Showcase.main, Audience.RESIDENT, rank=43),
        MenuEntry(
            "order_proxy",
            "partner.menu_proxy",
            OrderForm.building,
            Audience.STAFF,
            rank=41,
            data={"proxy": True},
        ),
        MenuEntry(
            "partners", "partner.menu_admin", PartnerAdmin.main, Audience.SUPERVISOR, rank=42
        ),
    ),
    commands=(
        Command("order", "partner.commands.order", RESIDENTS + WORKERS, rank=32),
        Command("partner", "partner.commands.partner", EVERYONE, rank=45),
        Command("partners", "partner.commands.partners", SUPERVISORS + ADMINS, rank=46),
        Command("showcase", "partner.commands.showcase", RESIDENTS, rank=47),
    ),
    config=partner_config,
    forget=privacy.forget,
    held=privacy.KEPT,
    web=_web,
    help_tips={None: "partner.help_partner"},
    stats_views=(
        MenuEntry("partner_stats", "partner.stats.button", PartnerStats.main, Audience.STAFF),
    ),
)
