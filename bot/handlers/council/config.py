"""The council's settings: COUNCIL_TOPIC_CUTOFF_DAYS (topics are taken until this many days
before the meeting, default 2), TIMEZONE (meetings are set in local time) and
DEFAULT_LANGUAGE (the reminders the bot writes by itself are in it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings

from bot.config import ENV, load_config
from storage.council import CouncilPolicy


class CouncilSettingsEnv(BaseSettings):
    model_config = ENV

    council_topic_cutoff_days: float = Field(default=2.0, ge=0, le=20)
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"


@dataclass(frozen=True)
class CouncilVoice:
    """The language of what the bot writes to a whole community by itself."""

    language: str = "zh"


def council_config() -> list[object]:
    s = load_config(CouncilSettingsEnv)
    return [
        CouncilPolicy(
            zone=ZoneInfo(s.timezone), topic_cutoff=timedelta(days=s.council_topic_cutoff_days)
        ),
        CouncilVoice(language=s.default_language if s.default_language in ("zh", "en") else "zh"),
    ]
