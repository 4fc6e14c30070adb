"""The partners feature's settings: PARTNER_POINTS (points of 一档/二档/三档, "1,3,5"),
PARTNER_DISPATCH_MINUTES (how long an order waits for a taker before community staff are
asked to assign it; 助老 waits PARTNER_DISPATCH_ELDERLY_MINUTES) and PARTNER_CHASE_HOURS
(how long an order may stay taken, or done but unconfirmed, before a reminder; as long
again before staff are told)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from bot.config import ENV, load_config
from storage.partners import PartnerPolicy


class PartnerSettings(BaseSettings):
    model_config = ENV

    partner_points: str = "1,3,5"
    partner_dispatch_minutes: float = Field(default=120.0, gt=0, le=24 * 60 * 7)
    partner_dispatch_elderly_minutes: float = Field(default=30.0, gt=0, le=24 * 60 * 7)
    partner_chase_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    timezone: str = "Asia/Shanghai"  # the bot's TIMEZONE: months and dates are local

    @field_validator("partner_points")
    @classmethod
    def _three_tiers(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 3 or not all(p.isdigit() and 0 < int(p) <= 100 for p in parts):
            raise ValueError("three whole numbers 1-100, comma-separated, e.g. 1,3,5")
        return value


def partner_config() -> list[object]:
    s = load_config(PartnerSettings)
    a, b, c = (int(p) for p in s.partner_points.split(","))
    chase = timedelta(hours=s.partner_chase_hours)
    return [
        PartnerPolicy(
            points=(a, b, c),
            dispatch_after=timedelta(minutes=s.partner_dispatch_minutes),
            dispatch_after_by_skill={
                "elderly": timedelta(minutes=s.partner_dispatch_elderly_minutes)
            },
            chase_after=chase,
            staff_after=chase * 2,
            zone=ZoneInfo(s.timezone),
        )
    ]
