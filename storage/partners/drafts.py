"""What is handed to the partner services and what they hand back: an application, a
recruitment call, an order as drafted, a partner's standing, a row of the month's
table; and local month bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.partners.models import RecruitmentCall


@dataclass(frozen=True)
class Application:
    real_name: str
    phone: str
    skills: tuple[str, ...]
    availability: tuple[str, ...] = ()
    intro: str = ""
    certificate_file_id: str | None = None
    call_id: int | None = None  # answering this recruitment call
    nominated_by: int | None = None  # 公推: who put them forward


@dataclass(frozen=True)
class CallDraft:
    title: str
    description: str
    skills: tuple[str, ...]
    quota: int
    deadline: datetime


@dataclass(frozen=True)
class CallFigures:
    call: RecruitmentCall
    applied: int  # pending or approved through this call
    approved: int


@dataclass(frozen=True)
class OrderDraft:
    skill: str
    description: str = ""
    voice_file_id: str | None = None
    preferred: str = "any"
    household: str | None = None  # 代点单: the household as the worker names it
    contact_phone: str | None = None


@dataclass(frozen=True)
class Standing:
    balance: int
    rank: int  # 1 = most points among approved partners of the community
    partners: int
    confirmed: int


@dataclass(frozen=True)
class MonthRow:
    partner_id: int
    name: str
    points: int
    confirmed: int
    satisfied: int
    rated: int
    chased: int  # orders of the month that had to be chased to staff (no-shows)

    @property
    def satisfaction(self) -> float:
        return self.satisfied / self.rated if self.rated else 0.0


def month_bounds(now: datetime, zone: Any, back: int = 0) -> tuple[datetime, datetime, str]:
    """[start, end) of the local month ``back`` months before ``now``'s, and its label."""
    local = now.astimezone(zone)
    year, month = local.year, local.month - back
    while month < 1:
        year, month = year - 1, month + 12
    start = local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (year + month // 12, month % 12 + 1)
    end = start.replace(year=nxt[0], month=nxt[1])
    return start, end, f"{year}-{month:02d}"


def month_bounds_of(label: str, zone: Any) -> tuple[datetime, datetime, str]:
    """The bounds of the month ``label`` ("2026-11") in ``zone``."""
    year, month = (int(p) for p in label.split("-"))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end, label
