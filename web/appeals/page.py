"""One appeal on the desk: the whole history the chat shows (the same lines), photos and
voice notes played in the page, the resident's name and phone only to whom the chat
shows them, and the actions of the level holding it: take it, assign it back down to a
named worker with a handling window, supervise its owner with a note. Which actions are
offered, and whether one is carried out, is decided by the chat's own rule
(``storage.appeals.rules.refusal``) and done by the same service calls, so the pushes
and the history are the chat's. Every view of a resident's personal data is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiohttp import ClientError, web
from markupsafe import Markup
from sqlalchemy import select

from bot.dialogs.appeals.assign import WINDOWS_HOURS
from bot.dialogs.appeals.views import (
    Viewing,
    deadline_lines,
    event_line,
    owner_line,
    place_of,
    state_name,
)
from bot.dialogs.channels.views import caller_lines
from storage.appeals import (
    MAX_TEXT,
    Action,
    Appeal,
    AppealError,
    AppealEvent,
    AppealMedia,
    AppealPolicy,
    AppealService,
    Level,
    Problem,
    allowed_actions,
    refusal,
    sees_contact,
)
from storage.appeals.desk import staff_appeal
from storage.users import User
from web.channels.desk import may_relay
from web.desk.session import DESK, Desk, desk_page, desk_unit, see_other

routes = web.RouteTableDef()

# The chat's actions the desk offers (the rest stay in the chat, where the forms are).
DESK_ACTIONS = (Action.ACCEPT, Action.ASSIGN, Action.SUPERVISE)
MAX_WINDOW_HOURS = 24 * 30  # as the chat's assign form
# What a finished action says on the page it returns to (?done=...).
DONE = {
    "accept": "desk.appeal.done.accept",
    "assign": "desk.appeal.done.assign",
    "supervise": "desk.appeal.done.supervise",
    "caller_rating": "channel.desk.rated",
}
_PROBLEM_STATUS = {
    Problem.NOT_FOUND: 404,
    Problem.NOT_ALLOWED: 403,
    Problem.ESCALATED: 403,
    Problem.BAD_INPUT: 400,
    Problem.TOO_LONG: 400,
}


def appeal_path(appeal_id: int) -> str:
    return f"{DESK}/appeals/{appeal_id}"


def _id(desk: Desk, name: str = "appeal_id") -> int:
    value = desk.request.match_info[name]
    return int(value) if value.isdecimal() and len(value) < 11 else 0


@dataclass(frozen=True)
class Media:
    id: int
    kind: str
    url: str


async def _media(desk: Desk, appeal: Appeal) -> tuple[dict[int | None, list[Media]], bool]:
    """The appeal's photos and voice notes by the event they came with, and whether any
    is the resident's."""
    rows = await desk.services.session.execute(
        select(AppealMedia).where(AppealMedia.appeal_id == appeal.id).order_by(AppealMedia.id)
    )
    grouped: dict[int | None, list[Media]] = {}
    residents = False
    for m in rows.scalars():
        grouped.setdefault(m.event_id, []).append(
            Media(m.id, m.kind, f"{appeal_path(appeal.id)}/media/{m.id}")
        )
        residents = residents or (m.added_by is not None and m.added_by == appeal.resident_id)
    return grouped, residents


async def _events(desk: Desk, appeal: Appeal) -> Sequence[AppealEvent]:
    rows = await desk.services.session.execute(
        select(AppealEvent).where(AppealEvent.appeal_id == appeal.id).order_by(AppealEvent.id)
    )
    return rows.scalars().all()


def _viewing(desk: Desk) -> Viewing:
    return Viewing(
        desk.services.session,
        desk.t.translator,
        desk.zone,
        desk.services.config(AppealPolicy),
        desk.now(),
    )


async def _state(desk: Desk, appeal: Appeal) -> dict[str, Any]:
    """The part of the page that changes as the appeal moves: its head, the resident's
    contact (audited), its history with the media; refreshed live."""
    v = _viewing(desk)
    t = desk.t
    contact = None
    # From another channel: where from, and the caller to whom a resident would show.
    sees = sees_contact(appeal, desk.staffing)
    origin = await caller_lines(desk.services.session, appeal, t.translator, contact=sees)
    if sees and not origin:
        resident = (
            await desk.services.session.get(User, appeal.resident_id)
            if appeal.resident_id
            else None
        )
        contact = {
            "name": resident.display_name if resident else "—",
            "phone": appeal.contact_phone or t.plain("appeal.card.no_phone"),
        }
    media, resident_media = await _media(desk, appeal)
    events = await _events(desk, appeal)
    timeline = [
        {"line": Markup(event_line(ev, v, full=True)[0]), "media": media.get(ev.id, [])}
        for ev in events
    ]
    loose = media.get(None, [])  # media whose event was removed
    located = appeal.latitude is not None and appeal.longitude is not None
    caller = bool(origin) and sees and appeal.contact_phone is not None
    if contact or caller or located or resident_media:
        await desk.audit(
            "desk.appeal_viewed",
            "appeal",
            appeal.id,
            resident_id=appeal.resident_id,
            contact=contact is not None or caller,
            location=located,
            media=resident_media,
        )
    policy = desk.services.config(AppealPolicy)
    return {
        "appeal": appeal,
        "category": policy.category_name(appeal.category, t.language),
        "place": Markup(await place_of(desk.services.session, appeal)),
        "state": state_name(appeal.state, t.translator),
        "owner_line": Markup(await owner_line(v, appeal)),
        "deadlines": [Markup(line) for line in deadline_lines(appeal, v)],
        "overdue": appeal.overdue(desk.now()),
        "contact": contact,
        "origin": [Markup(line) for line in origin],
        "location": (f"{appeal.latitude:.5f}", f"{appeal.longitude:.5f}") if located else None,
        "timeline": timeline,
        "loose_media": loose,
    }


async def _actions(desk: Desk, appeal: Appeal) -> dict[str, Any]:
    """The forms of the actions the rule allows this person now, and no others."""
    allowed = [a for a in allowed_actions(appeal, desk.staffing) if a in DESK_ACTIONS]
    workers: list[tuple[int, str]] = []
    owner_only = False
    if Action.ASSIGN in allowed:
        grid = await desk.services.get(AppealService).level_staff(appeal, Level.GRID)
        ids = [i for i in grid if i != appeal.owner_id]
        owner_only = not ids and appeal.owner_id in grid
        people = await desk.services.users.get_many(ids)
        workers = [(i, people[i].display_name if i in people else str(i)) for i in ids]
    policy = desk.services.config(AppealPolicy)
    default = int(policy.standard.work_window.total_seconds() // 3600)
    return {
        # A channel's caller rates by phone: a supervisor records it (web/channels).
        "caller_rating": await may_relay(desk, appeal),
        "allowed": [a.value for a in allowed],
        "workers": workers,
        "owner_only": owner_only,
        "hours": sorted({*WINDOWS_HOURS, default}),
        "default_hours": default,
        "elsewhere": [
            a.value
            for a in allowed_actions(appeal, desk.staffing)
            if a not in DESK_ACTIONS and a is not Action.OPEN
        ],
    }


async def _render(
    desk: Desk,
    appeal: Appeal,
    *,
    status: int = 200,
    notice: str = "",
    problem: str = "",
    kept: dict[str, str] | None = None,
) -> web.Response:
    return desk.render(
        "appeals/appeal.html",
        status=status,
        notice=notice,
        problem=problem,
        kept=kept or {},
        max_text=MAX_TEXT,
        **await _state(desk, appeal),
        **await _actions(desk, appeal),
    )


def _not_found(desk: Desk) -> web.Response:
    return desk.render("appeals/missing.html", status=404)


@routes.get(r"/appeals/{appeal_id:\d+}")
@desk_page
async def appeal_page(desk: Desk) -> web.StreamResponse:
    appeal = await staff_appeal(desk.services.session, desk.staffing, _id(desk))
    if appeal is None:
        return _not_found(desk)
    done = DONE.get(desk.request.query.get("done", ""))
    return await _render(desk, appeal, notice=desk.t(done) if done else "")


@routes.get(r"/appeals/{appeal_id:\d+}/state")
@desk_page
async def appeal_state(desk: Desk) -> web.StreamResponse:
    """The changing part alone, as the page fetches it again when the appeal moves."""
    appeal = await staff_appeal(desk.services.session, desk.staffing, _id(desk))
    if appeal is None:
        return _not_found(desk)
    return desk.render("appeals/_state.html", **await _state(desk, appeal))


async def _act(desk: Desk, action: Action, kept: dict[str, str]) -> web.StreamResponse:
    """Run ``action`` on the appeal in the URL: read through the scoped read (another
    node's appeal is not found, whatever the id), asked of the rule, then done by the
    service, which asks the rule again."""
    appeal = await staff_appeal(desk.services.session, desk.staffing, _id(desk))
    if appeal is None:
        return _not_found(desk)
    appeal_id = appeal.id
    problem = refusal(action, appeal, desk.staffing)
    service = desk.services.get(AppealService)
    if problem is None:
        try:
            if action is Action.ACCEPT:
                await service.accept(appeal.id, desk.staffing)
            elif action is Action.ASSIGN:
                problem = await _assign(desk, service, appeal, kept)
            elif action is Action.SUPERVISE:
                problem = await _supervise(desk, service, appeal, kept)
        except AppealError as exc:
            problem = exc.problem
            # Undo what the refused change wrote; what this request holds is reloaded.
            nodes = [g.node for g in desk.staffing.grants if g.node is not None]
            await desk.services.rollback(desk.person, desk.row, *nodes)
            found = await staff_appeal(desk.services.session, desk.staffing, appeal_id)
            if found is None:
                return _not_found(desk)
            appeal = found
    if problem is None:
        return see_other(f"{appeal_path(appeal_id)}?done={action.value}")
    if problem is Problem.CONFLICT and appeal.owner_id:
        problem = Problem.ALREADY_TAKEN
    return await _render(
        desk,
        appeal,
        status=_PROBLEM_STATUS.get(problem, 409),
        problem=desk.t(f"appeal.problem.{problem.value}"),
        kept=kept,
    )


async def _assign(
    desk: Desk, service: AppealService, appeal: Appeal, kept: dict[str, str]
) -> Problem | None:
    worker, hours = kept.get("worker", ""), kept.get("hours", "")
    if not worker.isdecimal() or not hours.isdecimal():
        return Problem.BAD_INPUT
    if not 0 < int(hours) <= MAX_WINDOW_HOURS:
        return Problem.BAD_INPUT
    await service.assign(appeal.id, desk.staffing, int(worker), timedelta(hours=int(hours)))
    return None


async def _supervise(
    desk: Desk, service: AppealService, appeal: Appeal, kept: dict[str, str]
) -> Problem | None:
    note = kept.get("note", "")
    if not note:
        return Problem.BAD_INPUT
    if len(note) > MAX_TEXT:
        return Problem.TOO_LONG
    await service.supervise(appeal.id, desk.staffing, note)
    return None


@routes.post(r"/appeals/{appeal_id:\d+}/accept")
@desk_page
async def accept(desk: Desk) -> web.StreamResponse:
    return await _act(desk, Action.ACCEPT, {})


@routes.post(r"/appeals/{appeal_id:\d+}/assign")
@desk_page
async def assign(desk: Desk) -> web.StreamResponse:
    return await _act(
        desk, Action.ASSIGN, {"worker": desk.field("worker"), "hours": desk.field("hours")}
    )


@routes.post(r"/appeals/{appeal_id:\d+}/supervise")
@desk_page
async def supervise(desk: Desk) -> web.StreamResponse:
    return await _act(desk, Action.SUPERVISE, {"note": desk.field("note")})


@routes.get(r"/appeals/{appeal_id:\d+}/media/{media_id:\d+}")
async def media(request: web.Request) -> web.StreamResponse:
    """A photo or voice note of the appeal, fetched from the Bot API through the bot and
    streamed to the page; only for whoever may open the appeal, and audited. The unit
    of work ends before the file is fetched: no database connection waits on it."""
    async with desk_unit(request) as desk:
        if not isinstance(desk, Desk):
            return desk
        appeal = await staff_appeal(desk.services.session, desk.staffing, _id(desk))
        media_id = _id(desk, "media_id")
        row = (
            await desk.services.session.execute(
                select(AppealMedia).where(
                    AppealMedia.id == media_id,
                    AppealMedia.appeal_id == (appeal.id if appeal else 0),
                )
            )
        ).scalar_one_or_none()
        if appeal is None or row is None:
            return _not_found(desk)
        await desk.audit(
            "desk.appeal_media",
            "appeal",
            appeal.id,
            media_id=row.id,
            kind=row.kind,
            resident_id=appeal.resident_id,
        )
        file_id, kind = row.file_id, row.kind
        bot = desk.app.bot
    return await stream_file(request, bot, file_id, kind)


_MIME = {"photo": "image/jpeg", "voice": "audio/ogg"}
_SUFFIX_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
}


async def stream_file(
    request: web.Request, bot: Bot, file_id: str, kind: str
) -> web.StreamResponse:
    """Fetch the file from the Bot API and pass it on as it arrives."""
    try:
        found = await bot.get_file(file_id)
    except TelegramAPIError:
        raise web.HTTPNotFound() from None
    path = found.file_path or ""
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    response = web.StreamResponse(
        headers={
            "Content-Type": _SUFFIX_MIME.get(suffix, _MIME.get(kind, "application/octet-stream")),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        }
    )
    if found.file_size:
        response.content_length = found.file_size
    url = bot.session.api.file_url(bot.token, path)
    chunks = bot.session.stream_content(url, timeout=60, chunk_size=64 * 1024)
    try:
        first = await anext(chunks, b"")
    except ClientError:
        raise web.HTTPBadGateway() from None
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
