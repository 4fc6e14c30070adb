from aiogram import Router

from bot.handlers import commands, language, start


def handler_routers() -> list[Router]:
    return [start.build_router(), commands.build_router(), language.build_router()]
