"""The public page (served under /public when PUBLIC_PAGE is on): a district's monthly
ranking of its streets, or a street's of its communities, on the desk's measures and
figures (``storage.appeals.ranking.ranking``: /stats' own ``node_kpis``), the month's
appeals filed and resolved, and resolved appeals as anonymised examples
(``storage.appeals.public``). Nobody signs in; nothing on it names a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.i18n import LANGUAGES, translator
from bot.registry import Face
from storage.appeals.kpi import Month
from storage.appeals.policy import AppealPolicy
from storage.appeals.public import Example, examples, is_public_area, public_area
from storage.appeals.ranking import Measure, ranking
from storage.hierarchy import HierarchyRepo, Node, NodeKind
from web.appeals.figures import FIRST_YEAR
from web.appeals.ranking import build_table, month_label
from web.desk.texts import PageTexts, texts_for_browser
from web.server import APP_KEY, PREFIXES
from web.templates import render

routes = web.RouteTableDef()

PUBLIC = PREFIXES[Face.PUBLIC]


def public_texts(request: web.Request) -> PageTexts:
    """``?lang=en`` first, then the browser's languages, then the default (Chinese)."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return PageTexts(translator(asked))
    default = request.config_dict[APP_KEY].settings.default_language
    return texts_for_browser(request.headers.get("Accept-Language"), default)


@dataclass(frozen=True)
class Shown:
    """An example as the page shows it."""

    category: str
    place: str
    submitted: str
    resolved: str
    rating: str
    words: str | None


def _month(raw: str, this_month: Month) -> Month:
    try:
        month = Month.parse(raw)
    except ValueError:
        return this_month
    return max(min(month, this_month), Month(FIRST_YEAR, 1))


def _day(t: PageTexts, at: datetime | None, zone: Any) -> str:
    if at is None:
        return "—"
    local = at.astimezone(zone)
    return t.plain("public.day", year=local.year, month=local.month, day=local.day)


def _shown(t: PageTexts, policy: AppealPolicy, e: Example, zone: Any) -> Shown:
    place = " · ".join(p for p in (e.street, e.community) if p)
    return Shown(
        category=policy.category_name(e.category, t.language),
        place=place,
        submitted=_day(t, e.submitted_at, zone),
        resolved=_day(t, e.resolved_at, zone),
        rating=t.plain(f"public.rating.{e.rating}") if e.rating else "",
        words=e.words,
    )


@routes.get("")
@routes.get("/")
async def public_page(request: web.Request) -> web.StreamResponse:
    app = request.config_dict[APP_KEY]
    t = public_texts(request)
    zone = app.settings.zone
    raw_node = request.query.get("node", "")
    async with app.services() as services:
        session = services.session
        # ASCII digits only: "²" is a digit to str.isdigit and no number to int().
        node_id = int(raw_node) if raw_node.isascii() and raw_node.isdigit() else None
        node = None if raw_node and node_id is None else await public_area(session, node_id)
        this_month = Month.of(services.now(), zone)
        month = _month(request.query.get("month", ""), this_month)
        if node is None:
            return render(
                "appeals/public_missing.html",
                {"t": t, "lang": t.language, "public": PUBLIC},
                status=404,
            )
        ranked = await ranking(session, node, month, now=services.now(), zone=zone)
        table = build_table(t, node, ranked, Measure.RESPONSE)
        found = await examples(session, node, month, zone=zone)
        up: Node | None = None
        if node.parent_id is not None:
            parent = await HierarchyRepo(session).get(node.parent_id)
            up = parent if is_public_area(parent) else None
        policy = services.config(AppealPolicy)
        # Where the city has more than one district, each district's page names the others.
        districts = [
            d for d in await HierarchyRepo(session).of_kind(NodeKind.DISTRICT) if d.id != node.id
        ]
    lang = _lang(t)
    # Streets open their communities' ranking; communities are the last level shown.
    links = {
        line.id: f"{PUBLIC}?" + urlencode({"node": line.id, "month": str(month), **lang})
        for line in table.lines
        if node.node_kind is NodeKind.DISTRICT
    }
    figures = ranked.kpis.node
    other = "en" if t.language == "zh" else "zh"
    context: dict[str, Any] = {
        "t": t,
        "lang": t.language,
        "public": PUBLIC,
        "node": node,
        "table": table,
        "links": links,
        "counts": {row.node_id: (row.figures.filed, row.figures.resolved) for row in ranked.rows},
        "filed": figures.filed,
        "resolved": figures.resolved,
        "examples": [_shown(t, policy, e, zone) for e in found],
        "month_name": month_label(t, month),
        "prev_query": urlencode({"node": node.id, "month": str(month.prev()), **lang}),
        "next_query": urlencode({"node": node.id, "month": str(month.next()), **lang})
        if month < this_month
        else None,
        "up_query": urlencode({"node": up.id, "month": str(month), **lang}) if up else None,
        "up_name": up.name if up else "",
        "districts": [
            (d.name, urlencode({"node": d.id, "month": str(month), **lang})) for d in districts
        ]
        if node.node_kind is NodeKind.DISTRICT
        else [],
        "other_lang": other,
        "other_query": urlencode({"node": node.id, "month": str(month), "lang": other}),
        "child_level": t.plain(f"levels.{ranked.kpis.child_kind.value}")
        if ranked.kpis.child_kind
        else "",
    }
    return render("appeals/public.html", context)


def _lang(t: PageTexts) -> dict[str, str]:
    """Links keep the page's language, whatever the browser says."""
    return {"lang": t.language}
