"""The desk's live pages: what one process commits reaches the pages every process
holds open, within a second.

``storage.changes`` announces every commit's changes of the watched rows in the process
that made them; the hub carries them on: through Redis pub/sub when REDIS_URL is set
(several processes share one channel, and each hears its own changes back from it), in
memory otherwise (one process, SQLite). Each open page holds one server-sent events
stream (``/desk/live``): it says "changed" (and which appeals) when something in the
person's scope changed, a short while after the first change so a burst is one refresh,
and also when the clock alone makes an appeal in scope overdue, which no write marks.
The page then fetches what it shows again, through the same scoped reads as before.

A page whose stream names a view (``?view=queue`` and the view's own query: filters,
page; ``PUSHED``) gets that fragment pushed down the stream instead (an event of the
view's name, swapped in by ``sse-swap``): no request per open page. The stream reads the
person's session and grants when it opens, again every ``RECHECK`` and at once whenever
a grant or a session changes anywhere, before it sends anything more (someone signed
out or stripped of the role hears only "signedout"); the fragment is rendered through
the view's own scoped reads from the grants just read, once per key for every stream
and every GET of it (``web.desk.shared``). Other fragments (an appeal's page, the tiles)
are fetched again on "changed".

A stream's "changed" goes out on the process's common beat (``BEAT``): the first beat
at least ``COALESCE`` after the change (a burst is one refresh), and while changes keep
coming once a beat at most (so a change reaches the page within a second). Every stream
waking on a beat pushes what the hub had handed out when the first of them woke
(``beat_version``), so one render per key serves them all. On timers of their own (each a
while after its own last push), fifty desks under a steady flow of filings each wanted a
render of their own, each stale for the next. The hub counts the changes it hands out
(``version``): what a page is pushed or fetches again can be rendered once for every page
that would show the same thing (``web.desk.shared``), until the next change."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web

from bot.app import App
from storage.appeals import changes as appeal_changes
from storage.appeals.desk import DeskQueue, scope_paths
from storage.changes import Announcer, Change, Describe, DescribeBulk
from storage.desk import changes as desk_changes
from web.desk.session import Desk, app_of, desk_unit
from web.desk.shared import Fragment, SharedRenders
from web.server import APP_KEY

log = logging.getLogger(__name__)

# What the desk's pages follow; a feature whose rows a desk page shows adds its own.
WATCHED: dict[type, Describe] = {**appeal_changes.DESCRIBERS, **desk_changes.DESCRIBERS}
WATCHED_BULK: dict[type, DescribeBulk] = {**desk_changes.BULK}

COALESCE = 0.1  # least seconds gathering a burst into one refresh
BEAT = 0.8  # a stream says "changed" only on the process's beat, at most once a beat
CLOCK_CHECK = 1.0  # seconds between looks at the clock for a promise passing
RECHECK = 15.0  # seconds between re-reads of the session and grants (and a keep-alive)
BACKLOG = 500  # changes a slow stream may hold before it simply refreshes everything

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(eq=False)  # each stream's own: compared and hashed by identity
class Subscription:
    batches: list[tuple[int, list[Change]]] = field(default_factory=list)  # (version, …)
    held: int = 0  # changes in ``batches``
    overflowed: bool = False
    closed: bool = False
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, changes: list[Change], version: int) -> None:
        if self.held < BACKLOG:
            self.batches.append((version, changes))
            self.held += len(changes)
        else:
            self.overflowed = True
        self.ready.set()

    def take(self, upto: int | None = None) -> tuple[list[Change], bool]:
        """The changes handed out up to hub version ``upto`` (all, without one); later
        ones stay for the next take."""
        kept = [b for b in self.batches if upto is not None and b[0] > upto]
        taken = [c for v, batch in self.batches if upto is None or v <= upto for c in batch]
        overflowed = self.overflowed
        self.batches, self.held, self.overflowed = kept, sum(len(b) for _, b in kept), False
        if not kept:
            self.ready.clear()
        return taken, overflowed

    def close(self) -> None:
        self.closed = True
        self.ready.set()


def encode(changes: list[Change], seq: int = 0) -> str:
    """A batch for the channel, with its number in the deployment's sequence."""
    return json.dumps(
        {
            "seq": seq,
            "changes": [
                [c.topic, c.id, list(c.paths), c.due.isoformat() if c.due else None]
                for c in changes
            ],
        }
    )


def decode(raw: str | bytes) -> tuple[list[Change], int]:
    message = json.loads(raw)
    if isinstance(message, list):  # a process of the version before: no number
        message = {"seq": 0, "changes": message}
    changes = [
        Change(topic, int(i), tuple(paths), datetime.fromisoformat(due) if due else None)
        for topic, i, paths, due in message["changes"]
    ]
    return changes, int(message.get("seq") or 0)


class LiveHub:
    """One per process: hears this process's commits, and every process's through the
    shared channel when there is one, and hands them to the streams open here."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.subscriptions: set[Subscription] = set()
        self.version = 0  # changes handed out so far: what a shared render was made at
        self.heard = 0  # the highest number of a batch heard from the channel
        self._beat = (-1, 0)  # the latest beat a stream woke for, and its version
        self.renders = SharedRenders(lambda: self.version, app.clock)
        # Streams' renders go one at a time (a wave of changes is a render per distinct
        # key, all wanted at once): they never hold more than one database connection.
        self.rendering = asyncio.Semaphore(1)
        self.announcer = Announcer(WATCHED, self._committed, WATCHED_BULK)
        self._outgoing: asyncio.Queue[list[Change]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Redis | None = None
        settings = app.settings
        self.channel = f"{settings.redis_prefix}:desk:changes"
        self.sequence = f"{settings.redis_prefix}:desk:changes:seq"

    async def start(self) -> None:
        settings = self.app.settings
        if settings.redis_url:
            from redis.asyncio import Redis  # only where Redis is configured

            self._redis = Redis.from_url(settings.redis_url)
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(self.channel)  # before the first page can open
            self._tasks.append(asyncio.create_task(self._listen(pubsub), name="desk-listen"))
            self.renders.caught_up = self._caught_up
        self._tasks.append(asyncio.create_task(self._publish(), name="desk-publish"))
        self.announcer.install(self.app.sessionmaker)

    async def stop(self) -> None:
        self.announcer.uninstall()
        for subscription in list(self.subscriptions):
            subscription.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscriptions.discard(subscription)

    def _committed(self, changes: list[Change]) -> None:
        # Called inside the commit: hand over and return at once.
        self._outgoing.put_nowait(changes)

    def _fan_out(self, changes: list[Change]) -> None:
        self.version += 1
        for subscription in self.subscriptions:
            subscription.add(changes, self.version)

    def beat_version(self, beat: int) -> int:
        """The version every stream waking for ``beat`` pushes at: the hub's version when
        the first of them woke. One that wakes later in the same beat (a change came
        between) still takes only the changes up to it and shares that render; the later
        ones wait in its subscription for the next beat."""
        if self._beat[0] < beat:
            self._beat = (beat, self.version)
        elif self._beat[0] > beat:  # woke too late for its beat: as of now
            return self.version
        return self._beat[1]

    async def _publish(self) -> None:
        while True:
            changes = await self._outgoing.get()
            if self._redis is None:
                self._fan_out(changes)
                continue
            try:
                seq = int(await self._redis.incr(self.sequence))
                await self._redis.publish(self.channel, encode(changes, seq))
            except Exception:
                # Pages still hear it here; other processes' pages catch up at their
                # next change or refresh.
                log.exception("desk: could not publish %d changes", len(changes))
                self._fan_out(changes)

    async def _listen(self, pubsub: object) -> None:
        from redis.asyncio.client import PubSub

        assert isinstance(pubsub, PubSub)
        while True:
            try:
                message = await pubsub.get_message(timeout=5.0)
                if message is not None and message.get("type") == "message":
                    changes, seq = decode(message["data"])
                    self.heard = max(self.heard, seq)
                    self._fan_out(changes)
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except Exception:
                log.exception("desk: the change channel failed; listening again")
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(self.channel)

    async def _caught_up(self) -> bool:
        """Whether this process has heard every batch any process published so far: a
        page may hold a stream on another process, told of a change this one has not
        heard yet; until it has, no render made here before is handed out again."""
        if self._redis is None:
            return True
        try:
            published = await self._redis.get(self.sequence)
        except Exception:
            return False
        return self.heard >= int(published or 0)


HUB_KEY = web.AppKey("gridbot.desk.hub", LiveHub)


def setup_hub(face: web.Application) -> None:
    """The hub starts with the desk's face and stops (ending every stream) first thing
    when the server shuts down, so no open page holds the shutdown up."""
    hub = LiveHub(face[APP_KEY])
    face[HUB_KEY] = hub

    async def start(_: web.Application) -> None:
        await hub.start()

    async def stop(_: web.Application) -> None:
        await hub.stop()

    face.on_startup.append(start)
    face.on_shutdown.append(stop)


class Scope:
    """Which changes a stream passes on: rows lying within the person's subtrees (by
    their scope paths; a row with none is nobody's to hear of), named "<topic>-<id>",
    and their own grants changing (a revocation is then noticed at once)."""

    def __init__(self, desk: Desk) -> None:
        self.user_id = desk.user_id
        self.paths = scope_paths(desk.staffing)

    def names(self, changes: Iterable[Change]) -> list[str]:
        names = []
        for change in changes:
            if change.topic == desk_changes.TOPIC or not change.paths:
                continue
            if self.paths is None or any(
                p.startswith(mine) for p in change.paths for mine in self.paths
            ):
                names.append(f"{change.topic}-{change.id}")
        return list(dict.fromkeys(names))

    def regranted(self, changes: Iterable[Change]) -> bool:
        return any(
            c.topic == desk_changes.TOPIC and c.id in (self.user_id, desk_changes.ANYONE)
            for c in changes
        )


_LINES = re.compile(r"\r\n|\r|\n")


def _event(name: str, data: str = "") -> bytes:
    """One server-sent event. Its data may span lines: each is a ``data:`` line of its
    own, which the browser's EventSource joins back with newlines."""
    lines = "".join(f"data: {line}\n" for line in _LINES.split(data))
    return f"event: {name}\n{lines}\n".encode()


@dataclass(frozen=True)
class Pushed:
    """A fragment a page shows that its stream brings itself when something in scope
    changed: no request per open page. ``key`` names what decides it (as for a shared
    render: never who the person is), ``render`` makes it through the feature's own
    scoped reads, from the desk as the stream last read it (with a unit of work of its
    own) and the stream's query, as the page's GET of the same fragment does from its
    own. The page asks for it with ``?view=<name>`` on its stream's address and swaps it
    in with ``sse-swap="<name>"``; it is rendered once per key for every stream and
    request (``web.desk.shared``)."""

    key: Callable[[Desk], Hashable]
    render: Callable[[Desk], Awaitable[tuple[Fragment, datetime | None]]]


# What a stream can push, by the name the page asks for (a feature adds its own).
PUSHED: dict[str, Pushed] = {}


class Seat:
    """A stream's person as last read: the desk (its unit of work long over) and the
    scope it gives. Read again at every check: grants changing change both."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.scope = Scope(desk)


@functools.lru_cache(maxsize=64)
def _pushed_event(name: str, body: bytes, charset: str) -> bytes:
    # One render goes to many streams: encoded once (the same bytes object each time).
    return _event(name, body.decode(charset))


async def _push(request: web.Request, seat: Seat, name: str, view: Pushed, heard: int) -> bytes:
    """The event bringing ``view`` as the person's desk shows it with every change up to
    the hub's version ``heard``."""
    app = app_of(request)
    hub = request.config_dict[HUB_KEY]
    desk = seat.desk

    async def render() -> tuple[Fragment, datetime | None]:
        # One stream's render at a time: the rest of the pool stays the chat's.
        async with hub.rendering, app.services() as services:
            return await view.render(dataclasses.replace(desk, services=services))

    try:
        fragment = await hub.renders.pushed(view.key(desk), render, heard)
    except Exception:
        log.exception("desk: could not render %s for a stream", name)
        return b""
    if fragment.status != 200:
        return b""
    return _pushed_event(name, fragment.body, fragment.charset or "utf-8")


async def live(request: web.Request) -> web.StreamResponse:
    """``GET /desk/live``: the stream a desk page listens to; ``?view=<name>`` and the
    view's own query (a queue's filters and page) for a fragment it pushes."""
    app = app_of(request)
    name = request.query.get("view", "")
    view = PUSHED.get(name)
    async with desk_unit(request) as desk:
        if not isinstance(desk, Desk):
            return desk
        seat = Seat(desk)
        next_due = await DeskQueue(desk.services.session, desk.staffing, desk.now()).next_due()
    hub = request.config_dict[HUB_KEY]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold the events back
        }
    )
    await response.prepare(request)
    subscription = hub.subscribe()
    loop = asyncio.get_running_loop()
    recheck_at = loop.time() + RECHECK
    sent_at = -BEAT  # loop time of the last "changed" for changes
    try:
        opening = b"retry: 2000\n\n"
        if view is not None:
            # What changed while the page loaded (or the stream was away) shows too.
            opening += await _push(request, seat, name, view, hub.version)
        await response.write(opening)
        while not subscription.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.ready.wait(), CLOCK_CHECK)
            if subscription.closed:
                break
            changes, overflowed = subscription.take()
            heard = hub.version  # every change up to it is taken
            beat = 0
            names = seat.scope.names(changes)
            if names or overflowed:
                # A burst becomes one refresh; a steady flow, one every beat.
                beat = math.ceil(max(loop.time() + COALESCE, sent_at + BEAT) / BEAT - 1e-9)
                await asyncio.sleep(max(0.0, beat * BEAT - loop.time()))
                heard = hub.beat_version(beat)
                more, overflowed_more = subscription.take(heard)
                changes += more
                overflowed = overflowed or overflowed_more
                names = list(dict.fromkeys(names + seat.scope.names(more)))
            passed = next_due is not None and app.clock.now() >= next_due
            out: list[bytes] = []
            if seat.scope.regranted(changes) or loop.time() >= recheck_at:
                # Before anything goes out: someone signed out or stripped of the role
                # hears nothing more but that (as their page's next fetch was refused).
                recheck_at = loop.time() + RECHECK
                again = await _desk_now(request)
                if again is None:
                    await response.write(_event("signedout"))
                    break
                seat = Seat(again)
                names = seat.scope.names(changes)  # in the scope as it is now
                out.append(b": keep-alive\n\n")
            if names or overflowed:
                # "changed" for pages showing many rows; "<topic>-<id>" for one row's page.
                out += [_event("changed", " ".join(names)), *(_event(n) for n in names)]
            if passed:
                # A promise passed in scope with nothing written: the page marks it red.
                out.append(_event("changed"))
            if view is not None and (names or overflowed or passed):
                out.append(await _push(request, seat, name, view, heard))
            if out:
                await response.write(b"".join(out))  # one send, not one per event
            if names or overflowed:
                # The beat, not when the write ended: streams stay on the same beats.
                sent_at = beat * BEAT
                now = app.clock.now()
                dues = [c.due for c in changes if c.due is not None and c.due > now]
                next_due = min([d for d in (next_due, *dues) if d is not None], default=None)
            if passed:
                next_due = await _next_due(request)
    except ConnectionResetError:
        pass  # the page went away
    finally:
        hub.unsubscribe(subscription)
    return response


async def _next_due(request: web.Request) -> datetime | None:
    async with desk_unit(request) as desk:
        if not isinstance(desk, Desk):
            return None
        return await DeskQueue(desk.services.session, desk.staffing, desk.now()).next_due()


async def _desk_now(request: web.Request) -> Desk | None:
    """The person's desk read again (session, grants), or None: no longer theirs."""
    async with desk_unit(request) as desk:
        return desk if isinstance(desk, Desk) else None
