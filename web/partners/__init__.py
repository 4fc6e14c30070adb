"""The partners feature's desk page: a community's orders waiting for a taker and its
partners' points this month (``page``)."""

from __future__ import annotations

from bot.registry import Face, WebNav, WebRoutes


def partners_web() -> list[WebRoutes]:
    from web.partners.page import routes

    return [WebRoutes(Face.DESK, routes, nav=(WebNav("/partners", "partner.desk.nav", rank=41),))]
