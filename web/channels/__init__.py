"""The Open311 GeoReport v2 face (``/open311/v2``): discovery, services, requests and
mySociety's servicerequestupdates, in JSON and XML, for channels beside the chat (the
12345 hotline, a web form). ``formats`` writes GeoReport's documents and errors,
``call`` what every endpoint shares, ``records`` an appeal as a service request, ``api``
the routes, and ``desk`` the channels' pages on the desk."""

from __future__ import annotations

from bot.registry import Face, WebRoutes


def channels_web() -> list[WebRoutes]:
    from web.channels.api import routes
    from web.channels.call import setup
    from web.channels.desk import routes as desk_routes

    return [WebRoutes(Face.OPEN311, routes, setup=setup), WebRoutes(Face.DESK, desk_routes)]
