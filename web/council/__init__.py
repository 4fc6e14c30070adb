"""The council feature's desk page: a community's next councils with their RSVPs, its
open votes and the decisions overdue (``page``)."""

from __future__ import annotations

from bot.registry import Face, WebNav, WebRoutes


def council_web() -> list[WebRoutes]:
    from web.council.page import routes

    return [WebRoutes(Face.DESK, routes, nav=(WebNav("/council", "council.desk.nav", rank=42),))]
