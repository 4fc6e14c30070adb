"""The Open311 GeoReport v2 endpoints.

``discovery`` and ``services`` are public. ``requests`` with a key read the appeals of
the key's node; without one, what the public page shows (when PUBLIC_PAGE is on), else
403. Posting a request and ``servicerequestupdates`` need a key. Every request made
with a key, refused or not, is in the audit log with the channel's name. Errors are the
spec's list of ``{code, description}``: 403 for a missing or wrong key, 404 for an
unknown service, request, format or path, 400 for everything else, naming the field."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.i18n import Translator, translator
from bot.registry import Face
from storage.appeals import AppealEvent, AppealPolicy, AppealService
from storage.appeals.models import Appeal
from storage.channels import reads
from storage.channels.catalog import accepted_attributes, attributes_of, group_of, services
from storage.channels.intake import ChannelIntake, Intake, IntakeError, relay_rating
from storage.channels.keys import key_hash, key_hint
from storage.channels.limits import (
    Buckets,
    ChannelLimits,
    MemoryBuckets,
    RedisBuckets,
    retry_after,
)
from storage.channels.models import Channel
from storage.channels.service import ChannelService
from storage.hierarchy import Node
from storage.services import Services
from web.channels.formats import Format, Record, errors, format_of, iso, respond
from web.server import APP_KEY, PREFIXES

routes = web.RouteTableDef()

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00+00:00"
MAX_FIELD = 200
MAX_URL = 2000


class Fail(Exception):
    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(f"{status}: {descriptions}")
        self.status = status
        self.descriptions = descriptions


@dataclass
class Call:
    """One request to the service: its unit of work, format, language and, when a key
    came with it, the channel and its node."""

    request: web.Request
    app: App
    services: Services
    fmt: Format
    t: Translator
    params: MultiDictProxy[str]
    channel: Channel | None = None
    node: Node | None = None
    notices: dict[tuple[timedelta, timedelta], str] = field(default_factory=dict)
    words: dict[tuple[str | None, ...], str] = field(default_factory=dict)

    @cached_property
    def zone(self) -> ZoneInfo:
        return self.app.settings.zone

    @property
    def policy(self) -> AppealPolicy:
        return self.services.config(AppealPolicy)

    def param(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise Fail(400, self.t("channel.error.not_text", field=name))
        return value.strip()


Endpoint = Callable[[Call], Awaitable[web.Response]]


def _language(request: web.Request, app: App) -> str:
    accept = request.headers.get("Accept-Language", "").lower()
    if accept.startswith("en"):
        return "en"
    if accept.startswith("zh"):
        return "zh"
    return app.settings.default_language


def _fmt_from_path(path: str) -> Format:
    return Format.XML if path.endswith(".xml") else Format.JSON


class Limiter:
    """The per-key buckets of this face: in Redis when REDIS_URL is set (every process
    shares them), else in memory; made on first use, closed with the application."""

    def __init__(self) -> None:
        self.buckets: Buckets | None = None
        self._redis: Redis | None = None
        self._sqlite: asyncio.Lock | None = None

    def of(self, app: App) -> Buckets:
        if self.buckets is None:
            if app.settings.redis_url:
                self._redis = Redis.from_url(app.settings.redis_url)
                self.buckets = RedisBuckets(self._redis, app.settings.redis_prefix)
            else:
                self.buckets = MemoryBuckets()
        return self.buckets

    def gate(self, app: App) -> asyncio.Lock | None:
        """SQLite has one writer: this face's writing units (every keyed call writes its
        audit line) take turns within the process instead of failing on the lock.
        PostgreSQL needs no gate."""
        if app.sessionmaker.kw["bind"].dialect.name != "sqlite":
            return None
        if self._sqlite is None:
            self._sqlite = asyncio.Lock()
        return self._sqlite

    async def close(self, _: web.Application) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


LIMITER = web.AppKey("gridbot.open311.limiter", Limiter)

_ATTEMPTS = 5


@dataclass(frozen=True)
class Asked:
    """What a request asks, read before any database work."""

    request: web.Request
    app: App
    fmt: Format
    t: Translator
    params: Any
    sent: str | None  # the api_key given


async def _serve(asked: Asked, key: str, handler: Endpoint) -> web.Response:
    """One unit of work: the key checked, the handler, the audit line, one commit."""
    sent = asked.sent
    async with asked.app.services() as services:
        call = Call(asked.request, asked.app, services, asked.fmt, asked.t, asked.params)
        try:
            if sent:
                found = await services.get(ChannelService).authenticate(sent)
                if found is None:
                    raise Fail(403, call.t("channel.error.bad_key"))
                call.channel, call.node = found
            elif key == "required":
                raise Fail(403, call.t("channel.error.no_key"))
            response = await handler(call)
        except Fail as failed:
            response = errors(call.fmt, failed.status, failed.descriptions)
        if sent:
            await services.get(ChannelService).record_request(
                call.channel,
                method=call.request.method,
                path=call.request.path,
                status=response.status,
                key=None if call.channel else key_hint(sent),
            )
        return response


def endpoint(*, key: str) -> Callable[[Endpoint], Callable[[web.Request], Awaitable[web.Response]]]:
    """``key``: "required", "optional" (read as the public without one) or "public"
    (a key given is still checked and the call audited)."""

    def wrap(handler: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            app = request.config_dict[APP_KEY]
            t = translator(_language(request, app))
            fmt = format_of(request.match_info.get("fmt"))
            if fmt is None:
                return errors(_fmt_from_path(request.path), 404, [t("channel.error.format")])
            params = await request.post() if request.method == "POST" else request.query
            given = params.get("api_key")
            sent = given.strip() if isinstance(given, str) else None
            if sent:
                # Before any database work: a flood costs the database nothing.
                limits = app.config.get(ChannelLimits)
                wait = await request.config_dict[LIMITER].of(app).take(key_hash(sent), limits)
                if wait > 0:
                    headers = {"Retry-After": str(retry_after(wait))}
                    return errors(fmt, 429, [t("channel.error.too_many")], headers)
            asked = Asked(request, app, fmt, t, params, sent)
            gate = request.config_dict[LIMITER].gate(app) if sent else None
            for attempt in range(_ATTEMPTS):
                try:
                    async with gate or nullcontext():
                        return await _serve(asked, key, handler)
                except OperationalError as exc:
                    # SQLite: a write of the chat's came between this unit's read and its
                    # write. Nothing of this unit was committed: run it again.
                    if "locked" not in str(exc) or attempt == _ATTEMPTS - 1:
                        raise
                    await asyncio.sleep(0.02 * (attempt + 1))
            raise AssertionError("unreachable")

        return run

    return wrap


# --- discovery and services ---------------------------------------------------------------


@routes.get("/discovery.{fmt}")
@endpoint(key="public")
async def discovery(call: Call) -> web.Response:
    base = call.app.settings.web_url.rstrip("/") + PREFIXES[Face.OPEN311] + "/"
    record: Record = {
        "changeset": CHANGESET,
        "contact": call.t("channel.discovery.contact"),
        "key_service": call.t("channel.discovery.key_service"),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return respond(call.fmt, "discovery", "discovery", record)


def _service(call: Call, code: str) -> Record:
    category = call.policy.category(code)
    assert category is not None
    return {
        "service_code": category.code,
        "service_name": category.name(call.t.language),
        "description": call.t("channel.service.description", name=category.name(call.t.language)),
        "metadata": bool(attributes_of(category.code)),
        "type": "realtime",
        "keywords": ",".join(dict.fromkeys((category.zh, category.en))),
        "group": call.t(f"channel.group.{group_of(category.code)}"),
    }


@routes.get("/services.{fmt}")
@endpoint(key="public")
async def service_list(call: Call) -> web.Response:
    records = [_service(call, c.code) for c in services(call.policy)]
    return respond(call.fmt, "services", "service", records)


@routes.get("/services/{code}.{fmt}")
@endpoint(key="public")
async def service_definition(call: Call) -> web.Response:
    code = call.request.match_info["code"]
    if code not in {c.code for c in services(call.policy)}:
        raise Fail(404, call.t("channel.error.no_service", code=code))
    attributes = [
        {
            "variable": True,
            "code": a.code,
            "datatype": a.datatype,
            "required": a.required,
            "datatype_description": call.t(f"channel.attribute.{a.code}.format"),
            "order": order,
            "description": call.t(f"channel.attribute.{a.code}.description"),
            "values": [
                {"key": v, "name": call.t(f"channel.attribute.{a.code}.{v}")} for v in a.values
            ],
        }
        for order, a in enumerate(attributes_of(code), start=1)
    ]
    record: Record = {"service_code": code, "attributes": attributes}
    return respond(call.fmt, "service_definition", "service_definition", record)


# --- requests --------------------------------------------------------------------------------


def _notice(call: Call, appeal: Appeal | reads.AppealView) -> str:
    """The promise in words ("24 小时内受理，48 小时内办结"), the same for every appeal
    of the same deadlines: worded once per call."""
    accept = appeal.first_accept_due - appeal.submitted_at
    resolve = appeal.first_resolve_due - appeal.submitted_at
    said = call.notices.get((accept, resolve))
    if said is not None:
        return said
    if accept.total_seconds() < 3600:
        said = call.t(
            "channel.notice.urgent",
            minutes=round(accept.total_seconds() / 60),
            hours=round(resolve.total_seconds() / 3600),
        )
    else:
        said = call.t(
            "channel.notice.promise",
            accept=round(accept.total_seconds() / 3600),
            resolve=round(resolve.total_seconds() / 3600),
        )
    call.notices[(accept, resolve)] = said
    return said


def _address(call: Call, row: reads.RequestRow) -> str | None:
    if not row.places:
        return None
    key = ("address", *(str(n.id) for n in row.places))
    found = call.words.get(key)
    if found is None:
        names = [n.name for n in row.places]
        found = ("" if call.t.language == "zh" else ", ").join(names)
        if row.building is None:
            found += call.t("channel.unplaced")
        call.words[key] = found
    return found


def _request_record(call: Call, row: reads.RequestRow, *, public: bool) -> Record:
    appeal = row.appeal
    place = not public
    holder = row.holder.name if row.holder is not None and place else None
    # A page holds up to 1,000 records of few distinct words: each worded once a call.
    words = call.words
    agency_key = ("agency", appeal.level, holder)
    agency = words.get(agency_key)
    if agency is None:
        level = call.t(f"levels.{appeal.level}")
        agency = words[agency_key] = (
            call.t("channel.agency", level=level, node=holder) if holder else level
        )
    notes_key = ("notes", row.latest_kind)
    notes = words.get(notes_key) or words.setdefault(
        notes_key, call.t(f"appeal.event.{row.latest_kind}")
    )
    name_key = ("service", appeal.category)
    name = words.get(name_key) or words.setdefault(
        name_key, call.policy.category_name(appeal.category, call.t.language)
    )
    zone = call.zone
    return {
        "service_request_id": appeal.number,
        "status": reads.status_of(appeal),
        "status_notes": notes,
        "service_name": name,
        "service_code": appeal.category,
        "description": (appeal.text or None) if row.filed_here is not None else None,
        "agency_responsible": agency,
        "service_notice": _notice(call, appeal),
        "requested_datetime": iso(appeal.submitted_at.astimezone(zone)),
        "updated_datetime": iso(row.updated_at.astimezone(zone)),
        "expected_datetime": iso(appeal.first_resolve_due.astimezone(zone)),
        "address": _address(call, row) if place else None,
        "address_id": row.building.code if place and row.building is not None else None,
        "zipcode": None,
        "lat": row.point[0] if place and row.point else None,
        "long": row.point[1] if place and row.point else None,
        "media_url": row.filed_here.media_url if row.filed_here is not None else None,
    }


def _reader(call: Call) -> Node | None:
    """The node whose appeals the call reads; None: the public's (or 403 when off)."""
    if call.node is not None:
        return call.node
    if not call.app.settings.public_page:
        raise Fail(403, call.t("channel.error.no_key"))
    return None


def _time(call: Call, name: str) -> datetime | None:
    value = call.param(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Fail(400, call.t("channel.error.bad_time", field=name)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=call.zone)
    return moment


def _int(call: Call, name: str, default: int, *, low: int, high: int) -> int:
    value = call.param(name)
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise Fail(400, call.t("channel.error.bad_number", field=name, low=low, high=high))
    return int(value)


def _request_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 10 else None


@routes.get("/requests.{fmt}")
@endpoint(key="optional")
async def request_list(call: Call) -> web.Response:
    node = _reader(call)
    ids: list[int] = []
    for part in (call.param("service_request_id") or "").split(","):
        if part.strip():
            number = _request_id(part.strip())
            if number is None:
                raise Fail(400, call.t("channel.error.bad_id", field="service_request_id"))
            ids.append(number)
    codes = tuple(c.strip() for c in (call.param("service_code") or "").split(",") if c.strip())
    statuses = tuple(s.strip() for s in (call.param("status") or "").split(",") if s.strip())
    if any(s not in ("open", "closed") for s in statuses):
        raise Fail(400, call.t("channel.error.bad_status", field="status"))
    start, end = _time(call, "start_date"), _time(call, "end_date")
    if start is not None and end is not None and start > end:
        raise Fail(400, call.t("channel.error.bad_range", field="start_date"))
    query = reads.RequestFilter(
        ids=tuple(ids),
        codes=codes,
        start=start,
        end=end,
        statuses=statuses,
        page=_int(call, "page", 1, low=1, high=1_000_000),
        page_size=_int(call, "page_size", reads.MAX_ROWS, low=1, high=reads.MAX_ROWS),
    )
    session = call.services.session
    found = await reads.requests(session, node, query, call.services.now())
    records = [
        _request_record(call, row, public=node is None)
        for row in await reads.rows(session, found, call.channel)
    ]
    return respond(call.fmt, "service_requests", "request", records)


@routes.get("/requests/{request_id}.{fmt}")
@endpoint(key="optional")
async def request_one(call: Call) -> web.Response:
    node = _reader(call)
    number = _request_id(call.request.match_info["request_id"])
    appeal = await reads.request(call.services.session, node, number or 0)
    if appeal is None:
        raise Fail(
            404, call.t("channel.error.no_request", id=call.request.match_info["request_id"])
        )
    rows = await reads.rows(call.services.session, [appeal], call.channel)
    records = [_request_record(call, rows[0], public=node is None)]
    return respond(call.fmt, "service_requests", "request", records)


def _float(call: Call, name: str, low: float, high: float) -> float | None:
    value = call.param(name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Fail(400, call.t("channel.error.bad_coordinate", field=name)) from None
    if not low <= number <= high:
        raise Fail(400, call.t("channel.error.bad_coordinate", field=name))
    return number


def _bounded(call: Call, name: str, limit: int = MAX_FIELD) -> str | None:
    value = call.param(name)
    if value is not None and len(value) > limit:
        raise Fail(400, call.t("channel.error.too_long", field=name, limit=limit))
    return value or None


def _attributes(call: Call, code: str) -> dict[str, str]:
    accepted = accepted_attributes(code)
    found: dict[str, str] = {}
    for name in call.params:
        if not name.startswith("attribute[") or not name.endswith("]"):
            continue
        inner = name[len("attribute[") : -1]
        if inner not in accepted:
            raise Fail(400, call.t("channel.error.bad_attribute", field=name))
        found[inner] = call.param(name) or ""
    return found


@routes.post("/requests.{fmt}")
@endpoint(key="required")
async def request_create(call: Call) -> web.Response:
    assert call.channel is not None and call.node is not None
    code = call.param("service_code")
    if not code:
        raise Fail(400, call.t("channel.error.required", field="service_code"))
    if code not in {c.code for c in services(call.policy)}:
        raise Fail(404, call.t("channel.error.no_service", code=code))
    lat = _float(call, "lat", -90, 90)
    lon = _float(call, "long", -180, 180)
    if (lat is None) != (lon is None):
        raise Fail(400, call.t("channel.error.lat_long", field="lat" if lat is None else "long"))
    media = _bounded(call, "media_url", MAX_URL)
    if media and urlsplit(media).scheme not in ("http", "https"):
        raise Fail(400, call.t("channel.error.bad_url", field="media_url"))
    intake = Intake(
        service_code=code,
        description=call.param("description") or "",
        address_id=_bounded(call, "address_id", 64),
        latitude=lat,
        longitude=lon,
        address_string=_bounded(call, "address_string", 500),
        first_name=_bounded(call, "first_name"),
        last_name=_bounded(call, "last_name"),
        phone=_bounded(call, "phone", 32),
        email=_bounded(call, "email"),
        media_url=media,
        attributes=_attributes(call, code),
    )
    try:
        filed = await call.services.get(ChannelIntake).file(call.channel, call.node, intake)
    except IntakeError as exc:
        raise Fail(400, call.t(f"channel.error.intake.{_reason(exc)}", field=exc.field)) from None
    record = {
        "service_request_id": filed.appeal.number,
        "service_notice": _notice(call, filed.appeal),
        "account_id": None,
    }
    return respond(
        call.fmt, "service_requests", "request", [record], status=201 if filed.created else 200
    )


def _reason(exc: IntakeError) -> str:
    """The locale key of an intake refusal, by the field it names."""
    return {
        "service_code": "service_code",
        "description": "description",
        "address_id": "address_id",
        "address_string": "location",
        "attribute[external_id]": "external_id",
        "attribute[urgent]": "urgent",
        "phone": "phone",
        "attribute[callback_phone]": "phone",
    }.get(exc.field, "other")


# --- servicerequestupdates (mySociety's extension) ------------------------------------------


@routes.get("/servicerequestupdates.{fmt}")
@endpoint(key="required")
async def update_list(call: Call) -> web.Response:
    assert call.channel is not None and call.node is not None
    now = call.services.now()
    start, end = _time(call, "start_date"), _time(call, "end_date")
    end = end or now
    start = start or end - reads.DEFAULT_WINDOW
    if start > end:
        raise Fail(400, call.t("channel.error.bad_range", field="start_date"))
    found = await reads.updates(call.services.session, call.node, call.channel, start, end)
    records = [
        {
            "update_id": str(u.event.id),
            "service_request_id": u.appeal.number,
            "status": u.status,
            "updated_datetime": iso(u.event.at.astimezone(call.zone)),
            "description": call.t(f"appeal.event.{u.event.kind}")
            + (f"：{u.note}" if u.note else ""),
            "media_url": None,
        }
        for u in found
    ]
    return respond(call.fmt, "service_request_updates", "request_update", records)


@routes.post("/servicerequestupdates.{fmt}")
@endpoint(key="required")
async def update_create(call: Call) -> web.Response:
    """The caller's rating, relayed by the channel that filed the appeal: ``status``
    closed (or open to reopen) and ``attribute[satisfaction]`` (satisfied, basically,
    unsatisfied); ``description`` is the caller's comment."""
    assert call.channel is not None and call.node is not None
    asked = call.param("service_request_id") or ""
    number = _request_id(asked)
    if number is None:
        raise Fail(400, call.t("channel.error.required", field="service_request_id"))
    status = (call.param("status") or "").lower()
    if status not in ("closed", "open", "reopened"):
        raise Fail(400, call.t("channel.error.bad_update_status", field="status"))
    satisfaction = call.param("attribute[satisfaction]")
    if not satisfaction:
        raise Fail(400, call.t("channel.error.required", field="attribute[satisfaction]"))
    session = call.services.session
    try:
        appeal = await relay_rating(
            session,
            call.services.get(AppealService),
            call.channel,
            call.node,
            number,
            satisfaction,
            _bounded(call, "description", 2000),
            _bounded(call, "update_id", 64),
        )
    except IntakeError as exc:
        if exc.field == "service_request_id":
            raise Fail(404, call.t("channel.error.no_request", id=asked)) from None
        reason = _rating_reason(exc)
        raise Fail(400, call.t(f"channel.error.rating.{reason}", field=exc.field)) from None
    rated = await session.execute(
        select(func.max(AppealEvent.id)).where(
            AppealEvent.appeal_id == appeal.id, AppealEvent.kind == "rated"
        )
    )
    record = {
        "update_id": str(rated.scalar_one()),
        "service_request_id": appeal.number,
        "status": reads.status_of(appeal),
    }
    return respond(call.fmt, "service_request_updates", "request_update", [record])


def _rating_reason(exc: IntakeError) -> str:
    return {"attribute[satisfaction]": "satisfaction", "status": "state"}.get(exc.field, "other")


# --- everything else ------------------------------------------------------------------------


@web.middleware
async def spec_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """An unknown path is the spec's 404 and a wrong method its 400, not aiohttp's page."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        t = translator(_language(request, request.config_dict[APP_KEY]))
        return errors(_fmt_from_path(request.path), 404, [t("channel.error.no_path")])
    except web.HTTPMethodNotAllowed:
        t = translator(_language(request, request.config_dict[APP_KEY]))
        return errors(_fmt_from_path(request.path), 400, [t("channel.error.method")])


def setup(sub: web.Application) -> None:
    sub.middlewares.append(spec_errors)
    limiter = sub[LIMITER] = Limiter()
    sub.on_cleanup.append(limiter.close)
