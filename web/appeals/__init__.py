"""The appeals feature's desk pages: the live queue (``queue``) and one appeal with its
history, media and actions (``page``), the monthly ranking (``ranking``),
the heat grid with its wall-screen mode (``heat``), and the public page (``public``)."""

from __future__ import annotations

from bot.registry import Face, WebNav, WebRoutes


def appeals_web() -> list[WebRoutes]:
    from web.appeals.heat import routes as heat_routes
    from web.appeals.page import routes as page_routes
    from web.appeals.public import routes as public_routes
    from web.appeals.queue import routes as queue_routes
    from web.appeals.ranking import routes as ranking_routes

    return [
        WebRoutes(Face.DESK, queue_routes, nav=(WebNav("/appeals", "desk.nav.queue", rank=10),)),
        WebRoutes(Face.DESK, page_routes),
        WebRoutes(
            Face.DESK, ranking_routes, nav=(WebNav("/ranking", "desk.nav.ranking", rank=30),)
        ),
        WebRoutes(Face.DESK, heat_routes, nav=(WebNav("/heat", "desk.nav.heat", rank=31),)),
        WebRoutes(Face.PUBLIC, public_routes),
    ]
