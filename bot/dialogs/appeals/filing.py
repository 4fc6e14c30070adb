"""The resident's filing form (诉求); the urgent call is in urgent.py, "my appeals" in
my_appeals.py.

Everything a resident enters stays in ``dialog_data`` until they confirm: a wrong input
(a sticker, a file, a text that is too long) only explains and asks again, and whatever
they send out of turn (a photo while asked for words, words while asked for photos) is
kept rather than dropped. The location and phone steps use a reply keyboard (Telegram
only offers "send my location / my number" there); it is always removed again with
ReplyKeyboardRemove before the form moves on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.fsm.state import State
from aiogram.types import (
    CallbackQuery,
    ContentType,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row, SwitchTo
from aiogram_dialog.widgets.text import Format

from bot.dialogs.appeals.common import (
    bind_button,
    not_bound_getter,
    photos_of,
    policy,
    problem_text,
    remove_reply_keyboard,
    resident_building,
    service,
    take_photo,
    text_problem,
)
from bot.dialogs.appeals.states import FileAppeal
from bot.dialogs.appeals.views import state_name
from bot.formatting import e, local_time
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.text import L, notice_text
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.appeals import MAX_PHOTOS, Appeal, AppealError, Draft
from storage.appeals.policy import URGENT_CATEGORY

PAGE_SIZE = 5
SIMILAR_PREVIEW = 60

# The form's steps in order; the similar-appeals window is entered only when needed.
NEXT_STEP: dict[State, State] = {
    FileAppeal.similar: FileAppeal.description,
    FileAppeal.description: FileAppeal.photos,
    FileAppeal.photos: FileAppeal.location,
    FileAppeal.location: FileAppeal.anonymous,
    FileAppeal.anonymous: FileAppeal.summary,
}
PREVIOUS_STEP: dict[State, State] = {
    FileAppeal.description: FileAppeal.category,
    FileAppeal.photos: FileAppeal.description,
    FileAppeal.location: FileAppeal.photos,
    FileAppeal.anonymous: FileAppeal.location,
}
HINTS: dict[State, str] = {
    FileAppeal.category: "resident_appeal.input.hint_category",
    FileAppeal.similar: "resident_appeal.input.hint_similar",
    FileAppeal.photos: "resident_appeal.input.hint_photos",
    FileAppeal.location: "resident_appeal.input.hint_location",
    FileAppeal.anonymous: "resident_appeal.input.hint_anonymous",
    FileAppeal.summary: "resident_appeal.input.hint_summary",
}


# --- the filing form (FileAppeal) -------------------------------------------------------


async def on_form_start(data: Any, manager: DialogManager) -> None:
    manager.dialog_data.setdefault("photos", [])
    manager.dialog_data.setdefault("share_phone", False)


async def _go(manager: DialogManager, state: State, show_mode: ShowMode | None = None) -> None:
    clear_notice(manager)
    if state == FileAppeal.location:
        await _enter_location(manager)
        return
    await manager.switch_to(state, show_mode=show_mode)


async def _forward(
    manager: DialogManager, current: State, show_mode: ShowMode | None = None
) -> None:
    """To the next step; back to the summary when the resident came from it to edit."""
    if manager.dialog_data.pop("editing", False):
        await _go(manager, FileAppeal.summary, show_mode)
        return
    await _go(manager, NEXT_STEP[current], show_mode)


async def _enter_location(manager: DialogManager) -> None:
    c = ctx(manager)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [
                KeyboardButton(
                    text=c.t("resident_appeal.form.location_button"), request_location=True
                )
            ],
            [KeyboardButton(text=c.t("resident_appeal.form.location_skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await c.bot.send_message(
        c.user_id, c.t("resident_appeal.form.location_keyboard"), reply_markup=keyboard
    )
    clear_notice(manager)
    # The window goes below the keyboard's message, so it stays the newest one.
    await manager.switch_to(FileAppeal.location, show_mode=ShowMode.SEND)


async def _leave_location(manager: DialogManager, key: str, target: State | None) -> None:
    c = ctx(manager)
    await remove_reply_keyboard(c, c.t(key))
    if target is None:
        await _forward(manager, FileAppeal.location, ShowMode.SEND)
    else:
        manager.dialog_data.pop("editing", None)
        await _go(manager, target, ShowMode.SEND)


async def category_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    base = {"notice": notice(dialog_manager), "categories": []}
    if await resident_building(c) is None:
        return base | await not_bound_getter(c)
    categories = [(cat.code, cat.name(c.t.language)) for cat in policy(c).categories]
    return base | {
        "bound": True,
        "unbound": False,
        "may_bind": False,
        "need_building": "",
        "categories": categories,
    }


async def on_category(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if item == URGENT_CATEGORY or policy(c).category(item) is None:
        await toast(manager, c.t("common.stale_button"), alert=True)
        return
    building = await resident_building(c)
    if building is None:
        await manager.show()
        return
    manager.dialog_data["category"] = item
    if manager.dialog_data.pop("editing", False):
        await _go(manager, FileAppeal.summary)
        return
    similar = [
        a.id for a in await service(c).similar_open(building.id, item) if a.resident_id != c.user_id
    ]
    if similar:
        manager.dialog_data["similar"] = similar
        await _go(manager, FileAppeal.similar)
        return
    await _go(manager, FileAppeal.description)


def _category_label(c: Ctx, code: str | None) -> str:
    return e(policy(c).category_name(code, c.t.language)) if code else "—"


async def _similar_appeals(c: Ctx, manager: DialogManager) -> list[Appeal]:
    ids = [int(i) for i in manager.dialog_data.get("similar") or []]
    found = []
    for appeal_id in ids:
        appeal = await c.session.get(Appeal, appeal_id)
        if appeal is not None and appeal.is_open:
            found.append(appeal)
    return found


async def similar_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeals = await _similar_appeals(c, dialog_manager)
    lines = []
    for a in appeals:
        text = a.text[:SIMILAR_PREVIEW] + ("…" if len(a.text) > SIMILAR_PREVIEW else "")
        lines.append(
            c.t(
                "resident_appeal.form.similar_item",
                number=a.number,
                state=state_name(a.state, c.t),
                at=local_time(a.submitted_at, c.zone),
                text=e(text) if text else "—",
            )
        )
    return {
        "notice": notice(dialog_manager),
        "category": _category_label(c, dialog_manager.dialog_data.get("category")),
        "items": "\n".join(lines) or "—",
        "appeals": [(a.id, c.t("resident_appeal.form.follow", number=a.number)) for a in appeals],
    }


async def on_follow(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    offered = {int(i) for i in manager.dialog_data.get("similar") or []}
    if not item.isdigit() or int(item) not in offered:
        await toast(manager, c.t("common.stale_button"), alert=True)
        return
    try:
        appeal = await service(c).follow(int(item), c.user_id)
    except AppealError as exc:
        await toast(manager, problem_text(c.t, exc), alert=True)
        return
    await manager.done()
    await c.bot.send_message(c.user_id, c.t("resident_appeal.form.followed", number=appeal.number))


async def on_still_file(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _go(manager, FileAppeal.description)


async def description_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    text = str(data.get("text") or "")
    has = bool(text or data.get("voice"))
    current = ""
    if has:
        current = c.t(
            "resident_appeal.form.description_current",
            text=e(text) if text else "—",
            voice=_voice_label(c, data),
        )
    return {
        "notice": notice(dialog_manager),
        "category": _category_label(c, data.get("category")),
        "current": current,
        "has_description": has,
    }


def _voice_label(c: Ctx, data: dict[str, Any]) -> str:
    if not data.get("voice"):
        return ""
    return c.t("resident_appeal.voice_yes", seconds=int(data.get("voice_seconds") or 0))


async def on_description_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _forward(manager, FileAppeal.description)


async def photos_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    count = len(photos_of(dialog_manager))
    return {
        "notice": notice(dialog_manager),
        "count": count,
        "max": MAX_PHOTOS,
        "has_photos": count > 0,
        "no_photos": count == 0,
    }


async def on_photos_done(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _forward(manager, FileAppeal.photos)


async def on_photos_clear(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["photos"] = []
    clear_notice(manager)


async def on_location_skip(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _leave_location(manager, "resident_appeal.form.location_skipped", None)


async def on_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    current = manager.current_context().state
    target = (
        FileAppeal.summary
        if manager.dialog_data.get("editing")
        else PREVIOUS_STEP.get(current, FileAppeal.category)
    )
    if current == FileAppeal.location:
        await _leave_location(manager, "resident_appeal.form.went_back", target)
        return
    manager.dialog_data.pop("editing", None)
    await _go(manager, target)


async def on_anonymous(call: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["anonymous"] = button.widget_id == "anon_yes"
    await _forward(manager, FileAppeal.anonymous)


async def summary_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    t = c.t
    nothing = t("resident_appeal.nothing")
    photos = len(photos_of(dialog_manager))
    lat, lon = data.get("lat"), data.get("lon")
    phone = data.get("phone") or (c.user.phone if c.user else None)
    sharing = bool(data.get("share_phone") and phone)
    return {
        "notice": notice(dialog_manager),
        "category": _category_label(c, data.get("category")),
        "text": e(data.get("text") or "") or nothing,
        "voice": _voice_label(c, data) or nothing,
        "photos": t("resident_appeal.form.photos_n", n=photos) if photos else nothing,
        "location": (
            t("resident_appeal.form.location_yes", lat=f"{lat:.5f}", lon=f"{lon:.5f}")
            if lat is not None and lon is not None
            else nothing
        ),
        "anonymous": t(
            "resident_appeal.form.answer_yes"
            if data.get("anonymous")
            else "resident_appeal.form.answer_no"
        ),
        "phone": (
            t("resident_appeal.form.phone_yes", phone=e(phone))
            if sharing
            else t("resident_appeal.form.phone_no")
        ),
        "has_phone": bool(phone),
        "no_phone": not phone,
        "sharing": sharing,
        "not_sharing": bool(phone) and not sharing,
    }


def _edit(state: State) -> Callable[[CallbackQuery, Button, DialogManager], Awaitable[None]]:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        manager.dialog_data["editing"] = True
        await _go(manager, state)

    return handler


async def on_toggle_phone(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    phone = manager.dialog_data.get("phone") or (c.user.phone if c.user else None)
    if not phone:
        return
    manager.dialog_data["phone"] = phone
    manager.dialog_data["share_phone"] = not manager.dialog_data.get("share_phone")
    clear_notice(manager)


async def on_ask_phone(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=c.t("resident_appeal.form.phone_button"), request_contact=True)],
            [KeyboardButton(text=c.t("resident_appeal.form.phone_no_thanks"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await c.bot.send_message(
        c.user_id, c.t("resident_appeal.form.phone_keyboard"), reply_markup=keyboard
    )
    manager.dialog_data["asking_phone"] = True
    clear_notice(manager)
    await manager.show(ShowMode.SEND)


async def on_discard(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await manager.done()
    await remove_reply_keyboard(c, c.t("resident_appeal.discarded"))


async def on_confirm(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    category = data.get("category")
    if not category:
        await _go(manager, FileAppeal.category)
        return
    building = await resident_building(c)
    if building is None:
        say(manager, c.t("resident_appeal.need_building"))
        return
    phone = data.get("phone") or (c.user.phone if c.user else None)
    lat, lon = data.get("lat"), data.get("lon")
    draft = Draft(
        category=str(category),
        text=str(data.get("text") or ""),
        photos=tuple(photos_of(manager)),
        voice_file_id=data.get("voice") or None,
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
        anonymous=bool(data.get("anonymous")),
        contact_phone=str(phone) if data.get("share_phone") and phone else None,
    )
    try:
        appeal = await service(c).file(c.user_id, building, draft)
    except AppealError as exc:
        say(manager, problem_text(c.t, exc))
        return
    text = c.t(
        "resident_appeal.form.filed",
        number=appeal.number,
        category=_category_label(c, appeal.category),
        accept_by=local_time(appeal.accept_due, c.zone),
        resolve_by=local_time(appeal.first_resolve_due, c.zone),
    )
    await manager.done()
    # ReplyKeyboardRemove: no location or phone keyboard outlives the form.
    await c.bot.send_message(c.user_id, text, reply_markup=ReplyKeyboardRemove())


# --- what the resident sends while the form is open --------------------------------------


async def _absorb(message: Message, manager: DialogManager, hint: str) -> None:
    """Keep whatever arrived out of turn and say so; explain what cannot be used."""
    c = ctx(manager)
    t = c.t
    data = manager.dialog_data
    hint_text = t(hint)
    if message.text is not None:
        combined = "\n".join(p for p in (str(data.get("text") or ""), message.text.strip()) if p)
        problem = text_problem(t, combined)
        if problem:
            say(manager, problem)
            return
        data["text"] = combined
        say(manager, t("resident_appeal.input.text_added"), hint_text)
    elif message.voice is not None:
        data["voice"] = message.voice.file_id
        data["voice_seconds"] = message.voice.duration
        say(manager, t("resident_appeal.input.voice_added"), hint_text)
    elif message.photo:
        _, note = take_photo(manager, message)
        if message.caption and message.caption.strip():
            combined = "\n".join(
                p for p in (str(data.get("text") or ""), message.caption.strip()) if p
            )
            if text_problem(t, combined) is None:
                data["text"] = combined
        say(manager, note, hint_text)
    elif message.location is not None:
        data["lat"], data["lon"] = message.location.latitude, message.location.longitude
        say(manager, t("resident_appeal.input.location_added"), hint_text)
    elif message.contact is not None:
        await _take_contact(message, manager)
    else:
        say(manager, t("resident_appeal.input.not_supported"), hint_text)


def _replace_window(manager: DialogManager, message: Message) -> None:
    """One photo window at the bottom instead of one per photo. Later photos of the same
    album already edit the window (aiogram-dialog does that by itself)."""
    group = message.media_group_id
    if group is None or group != manager.current_stack().last_income_media_group_id:
        manager.show_mode = ShowMode.DELETE_AND_SEND


async def _take_contact(message: Message, manager: DialogManager) -> None:
    c = ctx(manager)
    contact = message.contact
    assert contact is not None
    if contact.user_id != c.user_id:
        say(manager, c.t("resident_appeal.input.contact_not_own"))
        return
    phone = contact.phone_number.strip()[:32]
    manager.dialog_data["phone"] = phone
    manager.dialog_data["share_phone"] = True
    if c.user is not None:
        c.user.phone = phone  # the resident chose to share it; remembered for next time
    clear_notice(manager)
    if manager.dialog_data.pop("asking_phone", False):
        await remove_reply_keyboard(c, c.t("resident_appeal.form.phone_saved"))
    else:
        say(manager, c.t("resident_appeal.form.phone_saved"))


async def on_form_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    state = manager.current_context().state
    data = manager.dialog_data
    if state == FileAppeal.category and await resident_building(c) is None:
        return
    if state == FileAppeal.description:
        if message.text is not None:
            problem = text_problem(t, message.text)
            if problem:
                say(manager, problem)
                return
            data["text"] = message.text.strip()
            await _forward(manager, state)
        elif message.voice is not None:
            data["voice"] = message.voice.file_id
            data["voice_seconds"] = message.voice.duration
            await _forward(manager, state)
        elif message.photo:
            added, note = take_photo(manager, message)
            caption = (message.caption or "").strip()
            if caption and text_problem(t, caption) is None:
                data["text"] = caption
                await _forward(manager, state)
                return
            count = len(photos_of(manager))
            say(
                manager,
                t("resident_appeal.input.photo_needs_description", count=count) if added else note,
            )
        else:
            say(manager, t("resident_appeal.input.not_text"))
        return
    if state == FileAppeal.photos and message.photo:
        added, note = take_photo(manager, message)
        caption = (message.caption or "").strip()
        if caption:
            combined = "\n".join(p for p in (str(data.get("text") or ""), caption) if p)
            if text_problem(t, combined) is None:
                data["text"] = combined
        if added:
            clear_notice(manager)
        else:
            say(manager, note)
        _replace_window(manager, message)
        return
    if state == FileAppeal.location:
        if message.location is not None:
            data["lat"], data["lon"] = message.location.latitude, message.location.longitude
            await _leave_location(manager, "resident_appeal.form.location_received", None)
            return
        if message.text is not None and message.text.strip() == t(
            "resident_appeal.form.location_skip"
        ):
            await _leave_location(manager, "resident_appeal.form.location_skipped", None)
            return
    if (
        state == FileAppeal.summary
        and data.get("asking_phone")
        and message.text is not None
        and message.text.strip() == t("resident_appeal.form.phone_no_thanks")
    ):
        data.pop("asking_phone", None)
        clear_notice(manager)
        await remove_reply_keyboard(c, t("resident_appeal.form.phone_not_saved"))
        return
    await _absorb(message, manager, HINTS.get(state, "resident_appeal.input.hint_summary"))


def _edit_button(field: str, state: State) -> Button:
    """A summary button that reopens one step of the form with the rest kept."""
    return Button(
        L(f"resident_appeal.form.edit_{field}"), id=f"edit_{field}", on_click=_edit(state)
    )


def _back_button(window: str) -> Button:
    return Button(L("common.back"), id=f"{window}_back", on_click=on_back)


def _form_input() -> MessageInput:
    return MessageInput(on_form_input, content_types=ContentType.ANY)


def file_appeal_dialog() -> Dialog:
    notice = notice_text()
    return Dialog(
        Window(
            notice,
            L("resident_appeal.form.category", when="bound"),
            Format("{need_building}", when="unbound"),
            picker("cat", "categories", on_category, width=2),
            bind_button("cat_bind"),
            Button(L("common.cancel"), id="cat_cancel", on_click=close),
            _form_input(),
            state=FileAppeal.category,
            getter=category_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.similar"),
            picker("follow", "appeals", on_follow),
            Button(
                L("resident_appeal.form.still_file"), id="similar_still", on_click=on_still_file
            ),
            SwitchTo(L("common.back"), id="similar_back", state=FileAppeal.category),
            _form_input(),
            state=FileAppeal.similar,
            getter=similar_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.description"),
            Format("{current}", when="current"),
            Button(
                L("resident_appeal.form.next"),
                id="desc_next",
                on_click=on_description_next,
                when="has_description",
            ),
            _back_button("desc"),
            _form_input(),
            state=FileAppeal.description,
            getter=description_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.photos"),
            Button(
                L("resident_appeal.form.photos_done"),
                id="photos_done",
                on_click=on_photos_done,
                when="has_photos",
            ),
            Button(
                L("resident_appeal.form.photos_skip"),
                id="photos_skip",
                on_click=on_photos_done,
                when="no_photos",
            ),
            Row(
                _back_button("photos"),
                Button(
                    L("resident_appeal.form.photos_clear"),
                    id="photos_clear",
                    on_click=on_photos_clear,
                    when="has_photos",
                ),
            ),
            _form_input(),
            state=FileAppeal.photos,
            getter=photos_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.location"),
            Button(
                L("resident_appeal.form.location_skip"), id="loc_skip", on_click=on_location_skip
            ),
            _back_button("loc"),
            _form_input(),
            state=FileAppeal.location,
            getter=notice_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.anonymous"),
            Row(
                Button(
                    L("resident_appeal.form.anonymous_yes"), id="anon_yes", on_click=on_anonymous
                ),
                Button(L("resident_appeal.form.anonymous_no"), id="anon_no", on_click=on_anonymous),
            ),
            _back_button("anon"),
            _form_input(),
            state=FileAppeal.anonymous,
            getter=notice_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.summary"),
            Button(L("resident_appeal.form.confirm"), id="confirm", on_click=on_confirm),
            Row(
                _edit_button("category", FileAppeal.category),
                _edit_button("description", FileAppeal.description),
            ),
            Row(
                _edit_button("photos", FileAppeal.photos),
                _edit_button("location", FileAppeal.location),
                _edit_button("anonymous", FileAppeal.anonymous),
            ),
            Button(
                L("resident_appeal.form.phone_share_on"),
                id="phone_on",
                on_click=on_toggle_phone,
                when="sharing",
            ),
            Button(
                L("resident_appeal.form.phone_share_off"),
                id="phone_off",
                on_click=on_toggle_phone,
                when="not_sharing",
            ),
            Button(
                L("resident_appeal.form.phone_ask"),
                id="phone_ask",
                on_click=on_ask_phone,
                when="no_phone",
            ),
            Button(L("resident_appeal.discard"), id="discard", on_click=on_discard),
            _form_input(),
            state=FileAppeal.summary,
            getter=summary_getter,
        ),
        on_start=on_form_start,
    )
