from aiogram import Router

from bot.handlers import appeals, appeals_resident, commands, language, start, stats


def handler_routers() -> list[Router]:
    return [
        start.build_router(),
        commands.build_router(),
        language.build_router(),
        appeals_resident.build_router(),
        appeals.build_router(),
        stats.build_router(),
    ]
