"""When a resident may ask a partner to come: a half day (morning or afternoon) of the
coming week, or any time. A half day is offered, and accepted, only while there is still
time for a visit in it: the form offers what this rule allows and the service refuses
anything else, so a form left open over noon cannot book a morning that is over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ANY = "any"
DAYS_AHEAD = 7  # a visit is booked within the coming week (today and six more days)
# Where each half day ends, local time.
ENDS = {"am": time(12, 0), "pm": time(18, 0)}
# A half day with less than this left is not offered: nobody can be called and come.
LEAD = timedelta(hours=1)


@dataclass(frozen=True)
class Slot:
    day: date
    half: str  # "am" | "pm"
    offset: int  # days from today: 0 today, 1 tomorrow, ...

    @property
    def code(self) -> str:
        return f"{self.day.isoformat()}:{self.half}"


def open_slots(now: datetime, zone: ZoneInfo) -> list[Slot]:
    """The half days that may still be booked at ``now``, earliest first."""
    local = now.astimezone(zone)
    today = local.date()
    out = []
    for offset in range(DAYS_AHEAD):
        day = today + timedelta(days=offset)
        for half, end in ENDS.items():
            if offset == 0 and datetime.combine(day, end, zone) - local < LEAD:
                continue
            out.append(Slot(day, half, offset))
    return out


def slot_open(preferred: str, now: datetime, zone: ZoneInfo) -> bool:
    """Whether ``preferred`` (a slot code or "any") may be booked at ``now``."""
    return preferred == ANY or preferred in {s.code for s in open_slots(now, zone)}
