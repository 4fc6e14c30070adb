"""🖥 指挥台 (``/web``): a one-time link to the desk, valid minutes and opened once, made
when the screen opens (and again on 🔄, which retires the previous one); beside it the
desk as a Telegram Mini App, which signs the person in with the data Telegram signs
(Telegram opens Mini Apps only from an https address). Residents have no desk."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.kbd import Button, Url, WebApp
from aiogram_dialog.widgets.text import Format

from bot.dialogs.desk.states import DeskScreen
from bot.formatting import e
from bot.kit.context import Ctx, ctx
from bot.kit.menu import menu_button
from bot.kit.text import L
from bot.kit.toast import toast
from storage.desk import DeskAuth, DeskPolicy

DESK_PATH = "/desk"


def signin_url(base: str, token: str) -> str:
    return f"{base}{DESK_PATH}/signin/{token}"


def miniapp_url(base: str) -> str:
    return f"{base}{DESK_PATH}/app"


async def _issue(c: Ctx, manager: DialogManager) -> None:
    issued = await c.services.get(DeskAuth).issue_link(c.user_id)
    manager.dialog_data["url"] = signin_url(c.settings.web_url, issued.token)


async def link_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    if not c.staffing.is_staff:
        return {"text": c.t("desk.link.residents"), "staff": False, "url": "", "app_url": ""}
    if "url" not in dialog_manager.dialog_data:
        await _issue(c, dialog_manager)
    base = c.settings.web_url
    url = dialog_manager.dialog_data["url"]
    minutes = int(c.services.config(DeskPolicy).link_ttl.total_seconds() // 60)
    return {
        "text": c.t("desk.link.text", minutes=minutes, url=e(url)),
        "staff": True,
        "url": url,
        "app_url": miniapp_url(base),
        "miniapp": base.startswith("https://"),
    }


async def on_renew(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    if not c.staffing.is_staff:
        await toast(manager, c.t("common.not_allowed"), alert=True)
        return
    await _issue(c, manager)
    await toast(manager, c.t("desk.link.renewed"))


def desk_link_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{text}"),
            Url(L("desk.link.open"), Format("{url}"), id="desk_open", when="staff"),
            WebApp(L("desk.link.miniapp"), Format("{app_url}"), id="desk_app", when="miniapp"),
            Button(L("desk.link.renew"), id="desk_renew", on_click=on_renew, when="staff"),
            menu_button(),
            state=DeskScreen.link,
            getter=link_getter,
        ),
    )
