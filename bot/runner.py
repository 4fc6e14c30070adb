"""``gridbot run``: migrate, then long polling, or an aiohttp webhook server when
WEBHOOK_URL is set. SIGTERM and SIGINT stop it cleanly either way."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot import heap
from bot.app import App, bootstrap
from bot.bytecode import compile_own_code
from bot.commands import refresh_staff_commands, set_default_commands
from bot.config import ConfigError, Settings
from storage.migrate import upgrade
from storage.sessions import create_engine, create_sessionmaker
from web.server import build_web_app, mount_web, start_web_server

log = logging.getLogger(__name__)


async def run(settings: Settings) -> None:
    settings.require_token()
    engine = create_engine(settings.database_url, pool=settings.database_pool)
    try:
        await upgrade(engine)
        app = bootstrap(settings, create_sessionmaker(engine))
    except BaseException:
        await engine.dispose()
        raise
    try:
        await _check_telegram(app.bot, settings)
    except ConfigError:
        await app.bot.session.close()
        await engine.dispose()
        raise
    await app.start()
    heap.settle()
    try:
        if settings.webhook_url:
            await _run_webhook(app, settings)
        else:
            await _run_polling(app)
    finally:
        await app.close()
        await engine.dispose()
        log.info("stopped")


async def _check_telegram(bot: Bot, settings: Settings) -> None:
    """Fail at start with one line, not a traceback, when the Bot API cannot be used."""
    where = settings.telegram_api_url or "https://api.telegram.org"
    try:
        await bot.me()  # kept: polling asks again for it before its first getUpdates
    except TelegramUnauthorizedError:
        raise ConfigError(
            f"BOT_TOKEN: {where} does not accept this token — copy it again from @BotFather"
        ) from None
    except TelegramNetworkError as exc:
        raise ConfigError(
            f"TELEGRAM_API_URL: cannot reach the Bot API at {where} ({exc.message}); check the "
            "network, or point TELEGRAM_API_URL at a reachable self-hosted Bot API server"
        ) from None


async def _on_startup(bot: Bot, app: App) -> None:
    """Updates first; the menus are sent in the background: everyone's (two calls, which
    Telegram keeps from the last start anyway), then each staff member's own, paced like
    any message (a district's 400 staff at 30 a second held every resident up for 13
    seconds when they went before the first update)."""
    me = await bot.me()
    log.info("running as @%s", me.username)
    app.in_background(_refresh_menus(bot, app), name="menus")
    app.in_background(asyncio.to_thread(compile_own_code), name="bytecode")


async def _refresh_menus(bot: Bot, app: App) -> None:
    try:
        await set_default_commands(bot, app.registry)
    except Exception:  # a menu is a courtesy: the bot runs on without it
        log.exception("could not set the default command menus")
    await _refresh_staff_menus(bot, app)


async def _refresh_staff_menus(bot: Bot, app: App) -> None:
    try:
        staff = await refresh_staff_commands(
            bot, app.registry, app.sessionmaker, app.sender, app.settings
        )
    except Exception:  # a menu is a courtesy: the bot runs on without it
        log.exception("could not send the staff their command menus")
        return
    log.info("command menus set for %d staff", staff)


async def _run_polling(app: App) -> None:
    bot = app.bot
    settings = app.settings
    # The desk, the public page and Open311 are served when polling too.
    server = await start_web_server(
        build_web_app(app), settings.web_host, settings.web_port, "WEB_PORT"
    )
    try:
        await _poll(app, bot)
    finally:
        await server.stop()


async def _poll(app: App, bot: Bot) -> None:

    async def on_startup(bot: Bot) -> None:
        await _on_startup(bot, app)

    app.dispatcher.startup.register(on_startup)
    await bot.delete_webhook(drop_pending_updates=False)
    # aiogram installs SIGTERM/SIGINT handlers that stop polling after the current updates.
    await app.dispatcher.start_polling(
        bot,
        handle_signals=True,
        close_bot_session=False,
        tasks_concurrency_limit=app.settings.max_concurrent_updates,
    )


def build_webhook_app(app: App, settings: Settings) -> web.Application:
    """The aiohttp application that receives updates; requests without Telegram's
    secret-token header are refused."""
    web_app = web.Application()
    # Answered once handled, not on arrival: if the process dies mid-update, Telegram
    # retries it (and the dispatcher drops copies of updates it did handle).
    SimpleRequestHandler(
        dispatcher=app.dispatcher,
        bot=app.bot,
        secret_token=settings.webhook_secret,
        handle_in_background=False,
    ).register(web_app, path=settings.webhook_path)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    mount_web(web_app, app)
    return web_app


async def _run_webhook(app: App, settings: Settings) -> None:
    assert settings.webhook_url is not None
    bot = app.bot
    web_app = build_webhook_app(app, settings)
    await _on_startup(bot, app)
    await bot.set_webhook(
        settings.webhook_url + settings.webhook_path,
        secret_token=settings.webhook_secret,
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
