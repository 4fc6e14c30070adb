"""Channels on the desk (``/desk/channels``), for admins as in the chat's /channels: the
channels of the nodes one administers, a new one, a new key, revoking. A key is shown
once, in the answer to the form that made it (never stored, never cached: the desk's
pages are no-store); the same rule and service as the chat decide and act."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storage.appeals import MAX_TEXT, Appeal, AppealService
from storage.appeals.desk import staff_appeal
from storage.channels.intake import SATISFACTION
from storage.channels.models import ChannelAppeal
from storage.channels.rules import ChannelProblem, create_refusal, relay_refusal
from storage.channels.service import ChannelError, ChannelService
from web.desk.session import DESK, Desk, desk_page, see_other

routes = web.RouteTableDef()
PATH = "/channels"


def _id(desk: Desk) -> int:
    value = desk.request.match_info["channel_id"]
    return int(value) if value.isdecimal() and len(value) < 10 else 0


async def _listing(desk: Desk, **extra: Any) -> dict[str, Any]:
    service = desk.services.get(ChannelService)
    channels = await service.visible(desk.staffing)
    nodes = await service.nodes_for(desk.staffing)
    names = {n.id: n.name for n in nodes}
    for channel in channels:
        if channel.node_id not in names:
            node = await desk.services.hierarchy.get(channel.node_id)
            names[channel.node_id] = node.name if node else "—"
    return {
        "channels": channels,
        "names": names,
        "nodes": [(n.id, f"{desk.t.plain('levels.' + n.kind)} · {n.name}") for n in nodes],
        "endpoint": desk.app.settings.web_url.rstrip("/") + "/open311/v2/",
        "problem": None,
        **extra,
    }


def _refused(desk: Desk) -> web.Response:
    return desk.render("channels/refused.html", status=403)


@routes.get(PATH)
@desk_page
async def channels_page(desk: Desk) -> web.StreamResponse:
    if not desk.staffing.is_admin:
        return _refused(desk)
    return desk.render("channels/list.html", **await _listing(desk))


@routes.post(PATH)
@desk_page
async def channel_create(desk: Desk) -> web.StreamResponse:
    if not desk.staffing.is_admin:
        return _refused(desk)
    node_id = desk.field("node_id")
    node = await desk.services.hierarchy.get(int(node_id)) if node_id.isdecimal() else None
    name = desk.field("name")
    problem = create_refusal(desk.staffing, node, name)
    if problem is not None:
        context = await _listing(desk, problem=f"channel.chat.problem.{problem.value}")
        return desk.render("channels/list.html", status=400, **context)
    channel, key = await desk.services.get(ChannelService).create(desk.staffing, node, name)
    return desk.render("channels/key.html", channel=channel, key=key, **await _listing(desk))


@routes.post(PATH + r"/{channel_id:\d+}/rotate")
@desk_page
async def channel_rotate(desk: Desk) -> web.StreamResponse:
    try:
        channel, key = await desk.services.get(ChannelService).rotate(desk.staffing, _id(desk))
    except ChannelError as exc:
        context = await _listing(desk, problem=f"channel.chat.problem.{exc.problem.value}")
        return desk.render("channels/list.html", status=404, **context)
    return desk.render("channels/key.html", channel=channel, key=key, **await _listing(desk))


@routes.post(PATH + r"/{channel_id:\d+}/revoke")
@desk_page
async def channel_revoke(desk: Desk) -> web.StreamResponse:
    try:
        await desk.services.get(ChannelService).revoke(desk.staffing, _id(desk))
    except ChannelError as exc:
        context = await _listing(desk, problem=f"channel.chat.problem.{exc.problem.value}")
        return desk.render("channels/list.html", status=404, **context)
    return see_other(DESK + PATH)


async def may_relay(desk: Desk, appeal: Appeal) -> bool:
    """Whether the appeal page offers recording the caller's rating (the same rule the
    action asks again)."""
    return relay_refusal(desk.staffing, appeal, await _filed(desk, appeal)) is None


async def _filed(desk: Desk, appeal: Appeal) -> bool:
    return await desk.services.session.get(ChannelAppeal, appeal.id) is not None


@routes.post(r"/appeals/{appeal_id:\d+}/caller-rating")
@desk_page
async def caller_rating(desk: Desk) -> web.StreamResponse:
    """The caller's rating, taken by phone, recorded as the channel would relay it: the
    appeals' own rating, so it closes or reopens the appeal and counts in the KPIs."""
    value = desk.request.match_info["appeal_id"]
    appeal_id = int(value) if len(value) < 11 else 0
    appeal = await staff_appeal(desk.services.session, desk.staffing, appeal_id)
    problem = relay_refusal(
        desk.staffing, appeal, appeal is not None and await _filed(desk, appeal)
    )
    rating = SATISFACTION.get(desk.field("rating"))
    if appeal is None or problem is ChannelProblem.NOT_FOUND:
        return desk.render("appeals/missing.html", status=404)
    if problem is not None or rating is None:
        return desk.render("channels/refused.html", status=403 if problem else 400)
    comment = desk.field("comment")[:MAX_TEXT] or None
    await desk.services.get(AppealService).rate(appeal.id, None, rating, comment)
    await desk.audit("desk.caller_rating", "appeal", appeal.id, rating=rating.value)
    return see_other(f"{DESK}/appeals/{appeal.id}?done=caller_rating")
