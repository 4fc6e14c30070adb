"""One render for every open page that would show the same thing.

When something changes, every open desk page in scope fetches what it shows again, at
about the same moment (the live stream tells them together). Fifty pages of people
looking at the same part of the district would each read and render the same queue; here
a fragment is rendered once per key and handed to each request with that key:

- the key names everything that makes two people's fragments differ (for the queue:
  the subtrees their grants cover, the level they act at, their language, the filters
  and the page), never who they are; the fragment is rendered from that alone, with no
  personal part of the page (name, roles, CSRF token) in reach;
- a request never gets a render that began before it arrived and before the hub handed
  out a change since (``LiveHub.version``): requests that come while a render of their
  key is under way wait for the next one, which starts when it ends and serves them all;
  a finished render is reused only while no change came and for ``MAX_AGE`` at most (its
  times, "剩 3 小时", stay right), never past the moment the clock alone makes an
  appeal in scope overdue, and, with several processes (Redis), only once this process
  has heard every change any process published (``caught_up``: a page's stream may be
  on another process, which told it of a change this one has not heard yet);
- the sign-in, the session and the grants are checked for every request as before
  (``desk_page``): only then is the key made, from the grants just read;
- a live stream pushing the fragment to its page (``web.desk.live``) knows which
  changes it has heard (the hub's version when it took them): any render of its key
  begun at that version or after is right for it, one under way included (``pushed``);
  its session and grants were read again whenever any changed.

One per process, held by the hub; the newest render of each key is kept (``KEEP`` keys
at most)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from storage.clock import Clock

MAX_AGE = 1.0  # seconds a finished render is handed out while nothing changes
KEEP = 512  # renders kept at most (distinct keys within one version)


@dataclass(frozen=True)
class Fragment:
    """A rendered answer without its per-request parts."""

    body: bytes
    status: int = 200
    content_type: str = "text/html"
    charset: str | None = "utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, response: web.Response) -> Fragment:
        body = response.body
        assert isinstance(body, bytes)
        return cls(
            body,
            response.status,
            response.content_type,
            response.charset,
            tuple((k, v) for k, v in response.headers.items() if k.startswith("HX-")),
        )

    def response(self) -> web.Response:
        response = web.Response(
            body=self.body,
            status=self.status,
            content_type=self.content_type,
            charset=self.charset,
        )
        for name, value in self.headers:
            response.headers[name] = value
        return response


@dataclass
class _Made:
    fragment: Fragment
    version: int  # the hub's version when the render began
    began: float  # loop time
    at: datetime  # the domain's clock when it began
    until: datetime | None  # the next moment the clock alone changes it


@dataclass
class _Next:
    """A render not begun yet, that every request arriving now waits for."""

    done: asyncio.Future[_Made] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


Render = Callable[[], Awaitable[tuple[Fragment, datetime | None]]]


class SharedRenders:
    """The renders of one process, by key. ``version`` tells the hub's change count."""

    def __init__(self, version: Callable[[], int], clock: Clock) -> None:
        self._version = version
        self._clock = clock
        self.max_age = MAX_AGE
        self.caught_up: Callable[[], Awaitable[bool]] | None = None  # set by the hub
        self._made: dict[Hashable, _Made] = {}
        self._next: dict[Hashable, _Next] = {}
        self._running: dict[Hashable, asyncio.Future[_Made]] = {}
        self._running_at: dict[Hashable, int] = {}  # the version each running one began at
        self.renders = 0  # how many renders ran (for tests and benches)
        self.shared = 0  # how many requests got one made for another

    def _fresh(self, made: _Made) -> bool:
        return made.version == self._version() and self._timely(made)

    def _timely(self, made: _Made) -> bool:
        now = self._clock.now()
        return (
            asyncio.get_running_loop().time() - made.began <= self.max_age
            and made.at <= now
            and (now - made.at).total_seconds() <= self.max_age
            and (made.until is None or now < made.until)
        )

    async def get(self, key: Hashable, render: Render) -> web.Response:
        """The answer for ``key``, as a response of its own."""
        return (await self.fragment(key, render)).response()

    async def fragment(self, key: Hashable, render: Render) -> Fragment:
        """The render for ``key``: a fresh one made for an earlier request (or stream),
        the next one to begin (waited for), or ``render()`` run here for every one
        waiting."""
        made = self._made.get(key)
        if (
            made is not None
            and self._fresh(made)
            and (self.caught_up is None or await self.caught_up())
            and self._fresh(made)  # still, after asking (a change may have come meanwhile)
        ):
            self.shared += 1
            return made.fragment
        waiting = self._next.get(key)
        if waiting is not None:
            try:
                made = await asyncio.shield(waiting.done)
            except Exception:
                return (await self._make(render)).fragment
            self.shared += 1
            return made.fragment
        ours = self._next[key] = _Next()
        try:
            running = self._running.get(key)
            if running is not None:
                # Begun before the requests waiting now came: wait for it to end.
                await asyncio.wait([running])
            # From here on, a request coming waits for the render after this one.
            del self._next[key]
            self._running[key] = ours.done
            self._running_at[key] = self._version()  # _make reads it before any await
            made = await self._make(render)
        except BaseException as e:
            # Those waiting render for themselves.
            ours.done.set_exception(e if isinstance(e, Exception) else RuntimeError(repr(e)))
            ours.done.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            if self._next.get(key) is ours:
                del self._next[key]
            if self._running.get(key) is ours.done:
                del self._running[key]
                del self._running_at[key]
        ours.done.set_result(made)
        # Kept, the newest of each key: a request takes it only while no change came
        # (``_fresh``), a stream that heard no later change even after (``pushed``).
        kept = self._made.get(key)
        if kept is None or kept.version <= made.version:
            if kept is None and len(self._made) >= KEEP:
                self._made.clear()
            self._made[key] = made
        return made.fragment

    async def pushed(self, key: Hashable, render: Render, heard: int) -> Fragment:
        """The render for ``key`` for a stream of this process that has heard every
        change up to version ``heard`` (it tells its page of no other): one begun at that
        version or after is right for it, a running one included, whichever request or
        stream began it; else as ``fragment``. (No need to ask whether this process has
        caught up: the stream's page was told of changes by this very process.)"""
        made = self._made.get(key)
        if made is not None and made.version >= heard and self._timely(made):
            self.shared += 1
            return made.fragment
        running = self._running.get(key)
        if running is not None and self._running_at[key] >= heard:
            with contextlib.suppress(Exception):
                made = await asyncio.shield(running)
                self.shared += 1
                return made.fragment
        return await self.fragment(key, render)

    async def _make(self, render: Render) -> _Made:
        version, began, at = self._version(), asyncio.get_running_loop().time(), self._clock.now()
        self.renders += 1
        fragment, until = await render()
        return _Made(fragment, version, began, at, until)
