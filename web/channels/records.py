"""An appeal as a GeoReport service request: the fields of the spec, the promise and
the holder in words, the building-level address; never a person's data, the caller's
own words only to the channel that filed it."""

from __future__ import annotations

from storage.appeals.models import Appeal
from storage.channels import reads
from web.channels.call import Call
from web.channels.formats import Record, iso


def notice(call: Call, appeal: Appeal | reads.AppealView) -> str:
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


def request_record(call: Call, row: reads.RequestRow, *, public: bool) -> Record:
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
        "service_notice": notice(call, appeal),
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
