"""The notices feature's desk page: the latest notices of the person's area with their
receipts per grid, and a grid worker's door-visit lists (``page``)."""

from __future__ import annotations

from bot.registry import Face, WebNav, WebRoutes


def notices_web() -> list[WebRoutes]:
    from web.notices.page import routes

    return [WebRoutes(Face.DESK, routes, nav=(WebNav("/notices", "notice.desk.nav", rank=40),))]
