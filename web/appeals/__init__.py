"""The appeals feature's desk pages: the live queue (``queue``) and one appeal with its
history, media and actions (``page``)."""

from __future__ import annotations

from bot.registry import Face, WebNav, WebRoutes


def appeals_web() -> list[WebRoutes]:
    from web.appeals.page import routes as page_routes
    from web.appeals.queue import routes as queue_routes

    return [
        WebRoutes(Face.DESK, queue_routes, nav=(WebNav("/appeals", "desk.nav.queue", rank=10),)),
        WebRoutes(Face.DESK, page_routes),
    ]
