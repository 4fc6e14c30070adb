"""Choosing when a notice goes out: a day on a calendar, then a time of day. Used while
composing (the choice goes back to the compose dialog) and to move a scheduled notice
(started from the button under its progress message, it moves the notice itself)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiogram.types import CallbackQuery, InlineKeyboardButton
from aiogram_dialog import ChatEvent, Dialog, DialogManager, Window
from aiogram_dialog.api.internal import RawKeyboard
from aiogram_dialog.api.protocols import DialogProtocol
from aiogram_dialog.widgets.kbd import Button, Calendar, CalendarScope, ManagedCalendar, SwitchTo
from aiogram_dialog.widgets.kbd.calendar_kbd import (
    CalendarDaysView,
    CalendarMonthView,
    CalendarScopeView,
    CalendarUserConfig,
    CalendarYearsView,
)
from aiogram_dialog.widgets.text import Format, Text

from bot.dialogs.notices.states import NoticeWhen
from bot.formatting import local_time
from bot.kit.context import ctx, start_data
from bot.kit.menu import open_menu
from bot.kit.text import L
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.notices import NoticeService, may_manage
from storage.notices.rules import actions

EARLIEST, LATEST = 6, 22  # the times of day offered, on the hour and half hour
AHEAD = timedelta(days=90)
CALENDAR = "when_cal"
NOOP = "noop"


class _Weekday(Text):
    """Weekday initials in the reader's language (the calendar's own are strftime's)."""

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        names = str(manager.middleware_data["t"]("notice.schedule.weekdays")).split()
        return str(names[data["date"].weekday()])


class LocalCalendar(Calendar):
    """aiogram-dialog's calendar with month names as numbers (no locale needed), weekday
    initials from the locale files, in the bot's time zone, from today on."""

    def _init_views(self) -> dict[CalendarScope, CalendarScopeView]:
        return {
            CalendarScope.DAYS: CalendarDaysView(
                self._item_callback_data,
                weekday_text=_Weekday(),
                header_text=Format("🗓 {date:%Y-%m}"),
                next_month_text=Format("{date:%Y-%m} ›"),
                prev_month_text=Format("‹ {date:%Y-%m}"),
            ),
            CalendarScope.MONTHS: CalendarMonthView(
                self._item_callback_data,
                month_text=Format("{date:%m}"),
                this_month_text=Format("[{date:%m}]"),
            ),
            CalendarScope.YEARS: CalendarYearsView(self._item_callback_data),
        }

    async def _render_keyboard(self, data: Any, manager: DialogManager) -> RawKeyboard:
        # aiogram-dialog pads the grid with " " buttons with empty data; Telegram wants
        # visible text and 1-64 bytes of data, so the padding becomes a dot that does
        # nothing.
        rows = await super()._render_keyboard(data, manager)
        return [
            [
                InlineKeyboardButton(text="·", callback_data=self._item_callback_data(NOOP))
                if not button.text.strip()
                else button
                for button in row
            ]
            for row in rows
        ]

    async def _process_item_callback(
        self, callback: CallbackQuery, data: str, dialog: DialogProtocol, manager: DialogManager
    ) -> bool:
        if data == NOOP:
            return True
        return await super()._process_item_callback(callback, data, dialog, manager)

    async def _get_user_config(
        self, data: dict[str, Any], manager: DialogManager
    ) -> CalendarUserConfig:
        c = ctx(manager)
        today = c.clock.now().astimezone(c.zone).date()
        return CalendarUserConfig(
            timezone=c.zone,  # type: ignore[arg-type]
            firstweekday=0,
            min_date=today,
            max_date=today + AHEAD,
        )


def _today(manager: DialogManager) -> date:
    c = ctx(manager)
    return c.clock.now().astimezone(c.zone).date()


async def date_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    calendar: ManagedCalendar = dialog_manager.find(CALENDAR)  # type: ignore[assignment]
    if calendar.get_offset() is None:  # open on the bot's today, not the machine's
        calendar.set_offset(_today(dialog_manager))
    return {}


async def on_date(
    call: ChatEvent, _: ManagedCalendar, manager: DialogManager, day: date, /
) -> None:
    today = _today(manager)
    if not today <= day <= today + AHEAD:
        c = ctx(manager)
        await toast(manager, c.t("notice.schedule.bad_time"), alert=True)
        return
    manager.dialog_data["day"] = day.isoformat()
    await manager.switch_to(NoticeWhen.time)


def _choices(manager: DialogManager) -> list[datetime]:
    c = ctx(manager)
    day = date.fromisoformat(manager.dialog_data["day"])
    now = c.clock.now()
    slots = [
        datetime.combine(day, time(h, m), c.zone)
        for h in range(EARLIEST, LATEST + 1)
        for m in (0, 30)
        if (h, m) != (LATEST, 30)
    ]
    return [s for s in slots if now + timedelta(minutes=5) <= s <= now + AHEAD]


async def time_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    slots = _choices(dialog_manager)
    return {
        "day": dialog_manager.dialog_data["day"],
        "times": [(s.strftime("%H%M"), s.strftime("%H:%M")) for s in slots],
        "none": not slots,
    }


async def on_time(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    chosen = next((s for s in _choices(manager) if s.strftime("%H%M") == item), None)
    if chosen is None:  # forged, or the time passed meanwhile
        await toast(manager, c.t("notice.schedule.bad_time"), alert=True)
        return
    notice_id = start_data(manager).get("notice_id")
    if notice_id is None:
        await manager.done({"send_at": chosen.isoformat()})
        return
    service = c.services.get(NoticeService)
    notice = await service.get(int(notice_id))
    node = await c.services.hierarchy.get(notice.node_id) if notice else None
    problem = may_manage(c.staffing, notice, node)
    if problem is not None or notice is None:
        key = problem.value if problem else "not_found"
        await toast(manager, c.t(f"notice.problem.{key}"), alert=True)
        return
    if "reschedule" not in actions(notice.state, 0, notice.created_at, c.clock.now()):
        await toast(manager, c.t("notice.problem.unavailable"), alert=True)
        return
    await service.reschedule(notice, chosen)
    await c.services.audit.record(
        actor_id=c.user_id,
        action="notice.reschedule",
        at=c.clock.now(),
        object_type="notice",
        object_id=notice.id,
        send_at=chosen.isoformat(),
    )
    await open_menu(
        manager, c.t("notice.schedule.moved", id=notice.id, when=local_time(chosen, c.zone))
    )


async def on_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.done()


def schedule_dialog() -> Dialog:
    return Dialog(
        Window(
            L("notice.schedule.pick_day"),
            LocalCalendar(id=CALENDAR, on_click=on_date),
            Button(L("common.back"), id="when_back", on_click=on_back),
            state=NoticeWhen.date,
            getter=date_getter,
        ),
        Window(
            L("notice.schedule.pick_time"),
            L("notice.schedule.no_time", when="none"),
            picker("at", "times", on_time, width=4),
            SwitchTo(L("common.back"), id="to_day", state=NoticeWhen.date),
            state=NoticeWhen.time,
            getter=time_getter,
        ),
    )
