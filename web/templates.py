"""Server-rendered pages: one Jinja2 environment over ``web/templates`` (the layout) and
each feature's ``web/<feature>/templates`` (its pages, named ``<feature>/<page>.html``).
Autoescaping is on: whatever a person wrote goes into a page escaped."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from web.server import ASSETS_PREFIX

WEB_DIR = Path(__file__).parent


@cache
def environment() -> jinja2.Environment:
    paths = [WEB_DIR / "templates"]
    paths += sorted(p for p in WEB_DIR.glob("*/templates") if p.is_dir())
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in paths]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["assets"] = ASSETS_PREFIX
    return env


def render(name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """The page ``name`` as an HTML response."""
    html = environment().get_template(name).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
