"""The notices feature's settings (NOTICE_REMIND_HOURS, NOTICE_VISIT_HOURS)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings

from bot.config import ENV, load_config
from storage.notices.service import NoticeConfig


class NoticeSettings(BaseSettings):
    model_config = ENV

    # Hours after a notice that asks for 已收到 until the one reminder, and from the
    # reminder until each grid worker gets her households still to visit.
    notice_remind_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    notice_visit_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    timezone: str = "Asia/Shanghai"  # the bot's TIMEZONE: quiet hours are local time


def notice_config() -> list[object]:
    s = load_config(NoticeSettings)
    return [
        NoticeConfig(
            remind_after=timedelta(hours=s.notice_remind_hours),
            visit_after=timedelta(hours=s.notice_visit_hours),
            zone=ZoneInfo(s.timezone),
        )
    ]
