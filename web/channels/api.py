"""The Open311 GeoReport v2 endpoints.

``discovery`` and ``services`` are public. ``requests`` with a key read the appeals of
the key's node; without one, what the public page shows (when PUBLIC_PAGE is on), else
403. Posting a request and ``servicerequestupdates`` need a key. Every request made
with a key, refused or not, is in the audit log with the channel's name. Errors are the
spec's list of ``{code, description}``: 403 for a missing or wrong key, 404 for an
unknown service, request, format or path, 400 for everything else, naming the field."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import func, select

from bot.registry import Face
from storage.appeals import AppealEvent, AppealService
from storage.channels import reads
from storage.channels.catalog import accepted_attributes, attributes_of, group_of, services
from storage.channels.intake import ChannelIntake, Intake, IntakeError, relay_rating
from storage.hierarchy import Node
from web.channels.call import Call, Fail, endpoint
from web.channels.formats import Record, iso, respond
from web.channels.records import notice, request_record
from web.server import PREFIXES

routes = web.RouteTableDef()

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00+00:00"
MAX_FIELD = 200
MAX_URL = 2000


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
    if not value.isdecimal() or not low <= int(value) <= high:
        raise Fail(400, call.t("channel.error.bad_number", field=name, low=low, high=high))
    return int(value)


def _request_id(value: str) -> int | None:
    return int(value) if value.isdecimal() and len(value) <= 10 else None


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
        request_record(call, row, public=node is None)
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
    records = [request_record(call, rows[0], public=node is None)]
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
        "service_notice": notice(call, filed.appeal),
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
