from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class NoticeCompose(StatesGroup):
    content = State()
    audience = State()
    confirm = State()


class NoticeArchive(StatesGroup):
    list = State()
    detail = State()


class NoticePrefs(StatesGroup):
    main = State()


class NoticeWhen(StatesGroup):
    date = State()
    time = State()
