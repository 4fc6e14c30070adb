"""Keeps aiogram's parsed-response models alive.

aiogram parses every Bot API answer with ``Response[<the method's result type>]``, a
pydantic generic model. pydantic caches such models in a weak dictionary, so once the
garbage collector has run the next call builds the model again (several milliseconds of
schema building): under a burst that was about one call in three (bench/vote_burst.py).
Holding each one here makes it built once per process."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

_KEPT: dict[Any, Any] = {}


class KeepResponseModels(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _KEPT:
            _KEPT[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
