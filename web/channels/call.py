"""The machinery every Open311 endpoint shares: one ``Call`` per request (its unit of
work, format, language, and the channel of its key), the ``endpoint`` decorator (the key
limited before any database work, checked, the handler run, the audit line written, one
commit; on SQLite the writing units take turns), and the spec's errors for a path or
method that does not exist."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.i18n import Translator, translator
from storage.appeals import AppealPolicy
from storage.channels.keys import key_hash, key_hint
from storage.channels.limits import (
    Buckets,
    ChannelLimits,
    MemoryBuckets,
    RedisBuckets,
    retry_after,
)
from storage.channels.models import Channel
from storage.channels.service import ChannelService
from storage.hierarchy import Node
from storage.services import Services
from web.channels.formats import Format, errors, format_of
from web.server import APP_KEY

if TYPE_CHECKING:
    from redis.asyncio import Redis


class Fail(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(f"{status}: {descriptions}")
        self.status = status
        self.descriptions = descriptions


@dataclass
class Call:
    """One request to the service: its unit of work, format, language and, when a key
    came with it, the channel and its node."""

    request: web.Request
    app: App
    services: Services
    fmt: Format
    t: Translator
    params: MultiDictProxy[str]
    channel: Channel | None = None
    node: Node | None = None
    notices: dict[tuple[timedelta, timedelta], str] = field(default_factory=dict)
    words: dict[tuple[str | None, ...], str] = field(default_factory=dict)

    @cached_property
    def zone(self) -> ZoneInfo:
        return self.app.settings.zone

    @property
    def policy(self) -> AppealPolicy:
        return self.services.config(AppealPolicy)

    def param(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise Fail(400, self.t("channel.error.not_text", field=name))
        return value.strip()


Endpoint = Callable[[Call], Awaitable[web.Response]]


def _language(request: web.Request, app: App) -> str:
    accept = request.headers.get("Accept-Language", "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("zh"):
        return "zh"
    return app.settings.default_language


def _fmt_from_path(path: str) -> Format:
    return Format.XML if path.endswith(".xml") else Format.JSON


class Limiter:
    """The per-key buckets of this face: in Redis when REDIS_URL is set (every process
    shares them), else in memory; made on first use, closed with the application."""

    def __init__(self) -> None:
        self.buckets: Buckets | None = None
        self._redis: Redis | None = None
        self._sqlite: asyncio.Lock | None = None

    def of(self, app: App) -> Buckets:
        if self.buckets is None:
            if app.settings.redis_url:
                from redis.asyncio import Redis  # only where Redis is configured

                self._redis = Redis.from_url(app.settings.redis_url)
                self.buckets = RedisBuckets(self._redis, app.settings.redis_prefix)
            else:
                self.buckets = MemoryBuckets()
        return self.buckets

    def gate(self, app: App) -> asyncio.Lock | None:
        """SQLite has one writer: this face's writing units (every keyed call writes its
        audit line) take turns within the process instead of failing on the lock.
        PostgreSQL needs no gate."""
        if app.sessionmaker.kw["bind"].dialect.name != "sqlite":
            return None
        if self._sqlite is None:
            self._sqlite = asyncio.Lock()
        return self._sqlite

    async def close(self, _: web.Application) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


LIMITER = web.AppKey("gridbot.open311.limiter", Limiter)

_ATTEMPTS = 5


@dataclass(frozen=True)
class Asked:
    """What a request asks, read before any database work."""

    request: web.Request
    app: App
    fmt: Format
    t: Translator
    params: Any
    sent: str | None  # the api_key given


async def _serve(asked: Asked, key: str, handler: Endpoint) -> web.Response:
    """One unit of work: the key checked, the handler, the audit line, one commit."""
    sent = asked.sent
    async with asked.app.services() as services:
        call = Call(asked.request, asked.app, services, asked.fmt, asked.t, asked.params)
        try:
            if sent:
                found = await services.get(ChannelService).authenticate(sent)
                if found is None:
                    raise Fail(403, call.t("channel.error.bad_key"))
                call.channel, call.node = found
            elif key == "required":
                raise Fail(403, call.t("channel.error.no_key"))
            response = await handler(call)
        except Fail as failed:
            response = errors(call.fmt, failed.status, failed.descriptions)
        if sent:
            await services.get(ChannelService).record_request(
                call.channel,
                method=call.request.method,
                path=call.request.path,
                status=response.status,
                key=None if call.channel else key_hint(sent),
            )
        return response


def endpoint(*, key: str) -> Callable[[Endpoint], Callable[[web.Request], Awaitable[web.Response]]]:
    """``key``: "required", "optional" (read as the public without one) or "public"
    (a key given is still checked and the call audited)."""

    def wrap(handler: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            app = request.config_dict[APP_KEY]
            t = translator(_language(request, app))
            fmt = format_of(request.match_info.get("fmt"))
            if fmt is None:
                return errors(_fmt_from_path(request.path), 404, [t("channel.error.format")])
            params = await request.post() if request.method == "POST" else request.query
            # In the form as the spec says; some clients put it in a POST's query string.
            given = params.get("api_key") or request.query.get("api_key")
            sent = given.strip() if isinstance(given, str) else None
            if sent:
                # Before any database work: a flood costs the database nothing.
                limits = app.config.get(ChannelLimits)
                wait = await request.config_dict[LIMITER].of(app).take(key_hash(sent), limits)
                if wait > 0:
                    headers = {"Retry-After": str(retry_after(wait))}
                    return errors(fmt, 429, [t("channel.error.too_many")], headers)
            asked = Asked(request, app, fmt, t, params, sent)
            gate = request.config_dict[LIMITER].gate(app) if sent else None
            for attempt in range(_ATTEMPTS):
                try:
                    async with gate or nullcontext():
                        return await _serve(asked, key, handler)
                except OperationalError as exc:
                    # SQLite: a write of the chat's came between this unit's read and its
                    # write. Nothing of this unit was committed: run it again.
                    if "locked" not in str(exc) or attempt == _ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.02 * (attempt + 1))
            raise AssertionError("unreachable")

        return run

    return wrap


# --- everything else ------------------------------------------------------------------------


@web.middleware
async def spec_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """An unknown path is the spec's 404 and a wrong method its 400, not aiohttp's page."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        t = translator(_language(request, request.config_dict[APP_KEY]))
        return errors(_fmt_from_path(request.path), 404, [t("channel.error.no_path")])
    except web.HTTPMethodNotAllowed:
        t = translator(_language(request, request.config_dict[APP_KEY]))
        return errors(_fmt_from_path(request.path), 400, [t("channel.error.method")])


def setup(sub: web.Application) -> None:
    sub.middlewares.append(spec_errors)
    limiter = sub[LIMITER] = Limiter()
    sub.on_cleanup.append(limiter.close)
