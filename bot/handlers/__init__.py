from aiogram import Router

from bot.handlers import commands, language, start


def handler_routers() -> list[Router]:
    return [start.router, commands.router, language.router]
