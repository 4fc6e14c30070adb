"""Which half days a visit may still be booked for: a half day with less than an hour
left is over (mornings end at 12:00, afternoons at 18:00, local time)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.partners.slots import DAYS_AHEAD, open_slots, slot_open

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(hour: int, minute: int) -> datetime:
    """That local time on Monday 2 November 2026, as UTC."""
    return datetime(2026, 11, 2, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_half_day_is_open_while_an_hour_of_it_is_left() -> None:
    assert slot_open("2026-11-02:am", _at(10, 59), SHANGHAI)
    assert not slot_open("2026-11-02:am", _at(11, 1), SHANGHAI)
    assert slot_open("2026-11-02:pm", _at(15, 27), SHANGHAI)
    assert not slot_open("2026-11-02:pm", _at(17, 1), SHANGHAI)
    assert not slot_open("2026-11-01:pm", _at(9, 0), SHANGHAI)  # yesterday
    assert not slot_open("2026-11-09:am", _at(9, 0), SHANGHAI)  # beyond the week
    assert not slot_open("whenever", _at(9, 0), SHANGHAI)
    assert slot_open("any", _at(23, 59), SHANGHAI)


def test_the_week_ahead_is_offered_from_the_next_open_half_day() -> None:
    evening = open_slots(_at(20, 0), SHANGHAI)
    assert evening[0].code == "2026-11-03:am" and evening[0].offset == 1
    assert len(evening) == 2 * (DAYS_AHEAD - 1)
    morning = open_slots(_at(8, 0), SHANGHAI)
    assert [s.code for s in morning[:2]] == ["2026-11-02:am", "2026-11-02:pm"]
    assert len(morning) == 2 * DAYS_AHEAD
