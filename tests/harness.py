"""Drives the real Dispatcher over the real aiogram HTTP session against the local
Bot API emulator: inject an update as a user, let the bot handle it fully, then read
what that user's chat shows. ``World`` makes the people of a test in one line each."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bot.app import App
from bot.i18n import pick_language, translator
from emulator import BotAPIEmulator
from emulator.world import EmulatedUser, StoredMessage
from storage.appeals import AppealService, Draft
from storage.hierarchy import Node
from storage.roles import Role
from storage.users import User
from tests.factories import Tree, build_tree

_TAG = re.compile(r"<[^>]+>")


@dataclass
class Harness:
    emu: BotAPIEmulator
    app: App

    @property
    def bot(self) -> Bot:
        return self.app.bot

    async def deliver(self) -> int:
        """Send everything the outbox owes, as the delivery loop would."""
        return await self.app.delivery.deliver_pending()

    async def tick(self) -> int:
        """Run every feature's scheduled jobs at the clock's time, then deliver."""
        return await self.app.tick()

    async def feed(self, raw: dict[str, Any], *, deliver: bool = True) -> None:
        """Handle one update, then send what it made owed, as the delivery loop (woken
        by the update's commit) does in a running bot."""
        update = Update.model_validate(raw, context={"bot": self.bot})
        await self.app.dispatcher.feed_update(self.bot, update)
        if deliver:
            await self.deliver()

    async def text(self, user: EmulatedUser, text: str) -> None:
        await self.feed(self.emu.send_text(user, text, queue=False))

    async def command(self, user: EmulatedUser, command: str, args: str | None = None) -> None:
        await self.feed(self.emu.send_command(user, command, args, queue=False))

    async def press(self, user: EmulatedUser, button_text: str) -> None:
        """Press the newest inline button whose text contains ``button_text``."""
        await self.feed(self.emu.press_button(user, button_text, queue=False))

    def label(self, user: EmulatedUser, key: str, **values: Any) -> str:
        """A locale text as ``user`` sees it: in their language, without the HTML tags."""
        language = pick_language(None, user.language_code, self.app.settings.default_language)
        return html.unescape(_TAG.sub("", translator(language)(key, **values)))

    async def press_key(self, user: EmulatedUser, key: str, **values: Any) -> None:
        """Press the button labelled with locale ``key`` in the user's language."""
        await self.press(user, self.label(user, key, **values))

    async def press_data(
        self, user: EmulatedUser, message_id: int, data: str, *, forged: bool = False
    ) -> None:
        press: Callable[..., dict[str, Any]] = self.emu.press_forged if forged else self.emu.press
        await self.feed(press(user, message_id, data, queue=False))

    def last(self, user: EmulatedUser) -> StoredMessage:
        message = self.emu.chat(user.id).last_bot_message
        assert message is not None, f"the bot said nothing to {user.id}"
        return message

    def last_text(self, user: EmulatedUser) -> str:
        message = self.last(user)
        return message.text or message.caption or ""

    def buttons(self, user: EmulatedUser) -> list[str]:
        return [text for row in self.emu.chat(user.id).inline_buttons() for text, _ in row]

    def has_button(self, user: EmulatedUser, key: str, **values: Any) -> bool:
        return self.label(user, key, **values) in self.buttons(user)

    def texts(self, user: EmulatedUser) -> list[str]:
        return [m.text or m.caption or "" for m in self.emu.chat(user.id).bot_messages]


@dataclass
class World:
    """A district (tests.factories.Tree) and the people a test needs, each in one line:
    ``await world.resident()``, ``await world.staff(Role.WORKER, world.tree.grid)``,
    ``await world.appeal(resident)``."""

    harness: Harness
    tree: Tree
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(70_001))

    @classmethod
    async def build(cls, harness: Harness) -> World:
        return cls(harness, await build_tree(harness.app.sessionmaker, harness.app.clock))

    def _user(self, name: str, language: str, user_id: int | None) -> EmulatedUser:
        user = self.harness.emu.add_user(
            user_id=user_id or next(self._ids), first_name=name, language_code=language
        )
        # They have used the bot before: Telegram lets it write to them.
        self.harness.emu.world.chats[user.id].opened = True
        return user

    async def resident(
        self,
        name: str = "老张",
        building: Node | None = None,
        *,
        language: str = "zh-hans",
        phone: str | None = None,
        user_id: int | None = None,
    ) -> EmulatedUser:
        """A resident who consented and lives in ``building`` (default: the first one)."""
        person = self._user(name, language, user_id)
        home = building or self.tree.building
        async with self.harness.app.services() as s:
            now = s.now()
            s.session.add(
                User(
                    id=person.id,
                    first_name=name,
                    telegram_language=language,
                    phone=phone,
                    building_id=home.id,
                    consent_at=now,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return person

    async def staff(
        self,
        role: Role,
        node: Node | None,
        name: str = "",
        *,
        language: str = "zh-hans",
        user_id: int | None = None,
    ) -> EmulatedUser:
        """A staff member holding ``role`` at ``node`` (None: everywhere, for admins)."""
        person = self._user(name or role.value, language, user_id)
        async with self.harness.app.services() as s:
            await s.users.touch(
                user_id=person.id,
                first_name=person.first_name,
                last_name=None,
                username=None,
                telegram_language=language,
                now=s.now(),
            )
            await s.staff.grant(
                user_id=person.id, role=role, node=node, granted_by=None, now=s.now()
            )
        return person

    async def appeal(
        self,
        resident: EmulatedUser,
        text: str = "楼道里堆满了杂物",
        *,
        category: str = "sanitation",
        building: Node | None = None,
        deliver: bool = True,
        **draft: Any,
    ) -> int:
        """An appeal filed by ``resident`` straight through the service; its pushes are
        delivered unless ``deliver`` is False."""
        async with self.harness.app.services() as s:
            user = await s.users.get(resident.id)
            home = building or (
                await s.hierarchy.get(user.building_id) if user and user.building_id else None
            )
            assert home is not None, "the resident has no building"
            appeal = await s.get(AppealService).file(
                resident.id, home, Draft(category=category, text=text, **draft)
            )
            appeal_id = appeal.id
        if deliver:
            await self.harness.deliver()
        return appeal_id
