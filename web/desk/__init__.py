"""The command centre's desk (指挥台) on the web: the machinery every desk page shares.

- ``session``: who is at the desk (the session cookie, the person's grants re-read on
  every request, the CSRF token of state-changing requests) and rendering a page in the
  desk's layout in the person's language (``desk_page``, ``Desk.render``);
- ``texts``: locale texts as page markup, values escaped;
- ``live``: the hub that carries committed changes to every process's open pages, and
  the server-sent events stream each page listens to;
- ``routes``: signing in (one-time link, Mini App), signing out, the front door.

A feature adds its pages in ``web/<feature>/`` with ``@desk_page`` handlers and lists
them on its ``Feature.web`` (``WebRoutes(Face.DESK, routes, nav=...)``)."""

from __future__ import annotations

from bot.registry import Face, WebRoutes


def desk_web() -> list[WebRoutes]:
    from web.desk.live import setup_hub
    from web.desk.routes import routes

    return [WebRoutes(Face.DESK, routes, setup=setup_hub)]
