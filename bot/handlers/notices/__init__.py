"""Notices (通知): community, street and district officers write a notice once and the bot
delivers it to everyone in the chosen part of the hierarchy, paced in the outbox's bulk
lane, with progress, 已收到 acknowledgements, one reminder and door-visit lists."""

from __future__ import annotations

from bot.dialogs.notices.archive import archive_dialog
from bot.dialogs.notices.compose import compose_dialog
from bot.dialogs.notices.preferences import preferences_dialog
from bot.dialogs.notices.schedule import schedule_dialog
from bot.dialogs.notices.states import NoticeArchive, NoticeCompose, NoticePrefs
from bot.handlers.notices import buttons, commands, jobs
from bot.handlers.notices.config import notice_config
from bot.handlers.notices.renderers import RENDERERS
from bot.registry import (
    ADMINS,
    EVERYONE,
    SUPERVISORS,
    Audience,
    Command,
    Feature,
    Job,
    MenuEntry,
    WebRoutes,
)
from storage.notices import privacy

SENDERS = SUPERVISORS + ADMINS


def _web() -> list[WebRoutes]:
    from web.notices import notices_web

    return notices_web()


FEATURE = Feature(
    name="notices",
    routers=lambda: [commands.build_router(), buttons.build_router()],
    dialogs=lambda: [compose_dialog(), schedule_dialog(), archive_dialog(), preferences_dialog()],
    renderers=RENDERERS,
    jobs=(
        Job("notices-progress", jobs.refresh_progress, every_seconds=5),
        Job("notices-follow-up", jobs.follow_up, every_seconds=60),
    ),
    menu=(
        MenuEntry("notice", "notice.menu", NoticeCompose.content, Audience.SUPERVISOR, rank=30),
        MenuEntry(
            "notices", "notice.menu_archive", NoticeArchive.list, Audience.SUPERVISOR, rank=31
        ),
        MenuEntry("notice_settings", "notice.prefs.menu", NoticePrefs.main, rank=68),
    ),
    commands=(
        Command("notice", "notice.commands.notice", SENDERS, rank=35),
        Command("notices", "notice.commands.notices", SENDERS, rank=36),
        Command("settings", "notice.commands.settings", EVERYONE, rank=65),
    ),
    config=notice_config,
    forget=privacy.forget,
    held=privacy.KEPT,
    web=_web,
)
