"""Plain (synchronous) filters and handlers run on the event loop, not on a thread.

aiogram awaits every handler and filter it is given; one that is a plain function it
sends to a worker thread (``asyncio.to_thread``), a magic filter such as
``F.chat.type == "private"`` included. Every router's private-chat filter, the dialogs'
state filter and the buttons' data filters are such checks: a text typed into a form
went to a thread and back 18 times before its handler ran (bench/filing.py, the
description step), each trip a thread wake-up, a hand-over of the GIL and a wake-up of
the loop through its self-pipe, for a comparison of a few attributes. Under a crowd the
hand-over of the GIL alone can take a switch interval (5 ms) while the loop is busy.

Every such check in this project is a pure look at the update; none blocks. So once all
routers are in place the tree is walked and each plain callable is wrapped to run in
place. A handler or filter that did block would stall every chat: write those as
coroutines (``async def``), as every handler here is."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject


def callables(router: Router) -> Iterator[CallableObject]:
    """Every handler and filter aiogram would call for the routers under ``router``,
    the observers' own (root) filters included."""
    for each in router.chain_tail:
        for observer in each.observers.values():
            # The observer's own filters (``router.message.filter(...)``) sit on a handler
            # object aiogram keeps for them; it has no public name.
            root = getattr(observer, "_handler", None)
            if isinstance(root, CallableObject):
                yield from getattr(root, "filters", None) or ()
            for handler in observer.handlers:
                yield handler
                yield from handler.filters or ()


def _in_place(sync: Callable[..., Any]) -> Callable[..., Any]:
    async def in_place(*args: Any, **kwargs: Any) -> Any:
        return sync(*args, **kwargs)

    return in_place


def run_plain_callables_in_place(router: Router) -> int:
    """Wraps each plain handler and filter under ``router`` to run on the loop; returns
    how many were wrapped. Call it after the last router is included."""
    wrapped = 0
    for obj in callables(router):
        if obj.awaitable:
            continue
        # The keyword arguments aiogram passes were worked out from the plain function's
        # signature when the object was made; the wrapper takes them all.
        obj.callback = _in_place(obj.callback)
        obj.awaitable = True
        wrapped += 1
    return wrapped
