"""Resident side of appeals (诉求): the filing form, the urgent call (一键呼叫), "my
appeals" with their timelines, withdrawing and adding details, and the comment after a
rating.

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
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Column, Group, Row, Select, Start, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlalchemy import select

from bot.appeal_views import state_name, timeline_text
from bot.dialogs.common import Ctx, L, ctx, start_data
from bot.dialogs.states import (
    FileAppeal,
    MainMenu,
    MyAppeals,
    Onboarding,
    RateAppeal,
    UrgentCall,
)
from bot.dialogs.toast import toast
from bot.formatting import e, local_time, node_path
from bot.i18n import Translator
from storage.appeal_policy import URGENT_CATEGORY
from storage.appeals import (
    MAX_PHOTOS,
    MAX_TEXT,
    Appeal,
    AppealError,
    AppealEvent,
    AppealFollower,
    AppealMedia,
    AppealService,
    Draft,
)
from storage.appeals import (
    State as AppealState,
)
from storage.hierarchy import HierarchyRepo, Node, NodeKind

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


# --- small helpers ----------------------------------------------------------------------


def service(c: Ctx) -> AppealService:
    return AppealService(c.session, c.policy, c.clock.now())


def problem_text(t: Translator, exc: AppealError) -> str:
    return t(f"appeal.problem.{exc.problem.value}")


async def resident_building(c: Ctx) -> Node | None:
    if c.user is None or c.user.building_id is None:
        return None
    node = await HierarchyRepo(c.session).get(c.user.building_id)
    return node if node is not None and node.node_kind is NodeKind.BUILDING else None


async def building_path(c: Ctx, building: Node) -> str:
    return node_path(await HierarchyRepo(c.session).ancestors(building))


def _notice(manager: DialogManager) -> str:
    return str(manager.dialog_data.get("notice") or "")


def _say(manager: DialogManager, *parts: str) -> None:
    manager.dialog_data["notice"] = "\n".join(p for p in parts if p)


def _clear(manager: DialogManager) -> None:
    manager.dialog_data.pop("notice", None)


def _photos(manager: DialogManager, key: str = "photos") -> list[str]:
    return [str(p) for p in manager.dialog_data.get(key) or []]


def _text_problem(t: Translator, text: str) -> str | None:
    """Why a text cannot be a description, or None when it can."""
    if not text.strip():
        return t("resident_appeal.input.empty")
    if len(text.strip()) > MAX_TEXT:
        return t("resident_appeal.input.too_long", length=len(text.strip()), max=MAX_TEXT)
    return None


def _stack_depth(manager: DialogManager) -> int:
    return len(manager.current_stack().intents)


async def close_to_menu(manager: DialogManager) -> None:
    """Back to whatever opened this dialog, or the main menu if it was opened by a
    command (then nothing is underneath)."""
    if _stack_depth(manager) > 1:
        await manager.done()
    else:
        await manager.start(MainMenu.main, mode=StartMode.RESET_STACK)


async def _remove_reply_keyboard(c: Ctx, text: str) -> None:
    await c.bot.send_message(c.user_id, text, reply_markup=ReplyKeyboardRemove())


async def _cancel_to_menu(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await close_to_menu(manager)


# --- the filing form (FileAppeal) -------------------------------------------------------


async def on_form_start(data: Any, manager: DialogManager) -> None:
    manager.dialog_data.setdefault("photos", [])
    manager.dialog_data.setdefault("share_phone", False)


async def _go(manager: DialogManager, state: State, show_mode: ShowMode | None = None) -> None:
    _clear(manager)
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
    _clear(manager)
    # The window goes below the keyboard's message, so it stays the newest one.
    await manager.switch_to(FileAppeal.location, show_mode=ShowMode.SEND)


async def _leave_location(manager: DialogManager, key: str, target: State | None) -> None:
    c = ctx(manager)
    await _remove_reply_keyboard(c, c.t(key))
    if target is None:
        await _forward(manager, FileAppeal.location, ShowMode.SEND)
    else:
        manager.dialog_data.pop("editing", None)
        await _go(manager, target, ShowMode.SEND)


async def _not_bound_getter(c: Ctx) -> dict[str, Any]:
    consented = c.user is not None and c.user.has_consented
    return {
        "bound": False,
        "unbound": True,
        "may_bind": consented,
        "need_building": c.t("resident_appeal.need_building"),
    }


async def category_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    base = {"notice": _notice(dialog_manager), "categories": []}
    if await resident_building(c) is None:
        return base | await _not_bound_getter(c)
    categories = [(cat.code, cat.name(c.t.language)) for cat in c.policy.categories]
    return base | {
        "bound": True,
        "unbound": False,
        "may_bind": False,
        "need_building": "",
        "categories": categories,
    }


async def on_category(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if item == URGENT_CATEGORY or c.policy.category(item) is None:
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
    return e(c.policy.category_name(code, c.t.language)) if code else "—"


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
                at=local_time(a.submitted_at, c.settings.zone),
                text=e(text) if text else "—",
            )
        )
    return {
        "notice": _notice(dialog_manager),
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
    await c.session.commit()
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
        "notice": _notice(dialog_manager),
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
    count = len(_photos(dialog_manager))
    return {
        "notice": _notice(dialog_manager),
        "count": count,
        "max": MAX_PHOTOS,
        "has_photos": count > 0,
        "no_photos": count == 0,
    }


async def on_photos_done(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _forward(manager, FileAppeal.photos)


async def on_photos_clear(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["photos"] = []
    _clear(manager)


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
    photos = len(_photos(dialog_manager))
    lat, lon = data.get("lat"), data.get("lon")
    phone = data.get("phone") or (c.user.phone if c.user else None)
    sharing = bool(data.get("share_phone") and phone)
    return {
        "notice": _notice(dialog_manager),
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
    _clear(manager)


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
    _clear(manager)
    await manager.show(ShowMode.SEND)


async def on_discard(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    await manager.done()
    await _remove_reply_keyboard(c, c.t("resident_appeal.discarded"))


async def on_confirm(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    category = data.get("category")
    if not category:
        await _go(manager, FileAppeal.category)
        return
    building = await resident_building(c)
    if building is None:
        _say(manager, c.t("resident_appeal.need_building"))
        return
    phone = data.get("phone") or (c.user.phone if c.user else None)
    lat, lon = data.get("lat"), data.get("lon")
    draft = Draft(
        category=str(category),
        text=str(data.get("text") or ""),
        photos=tuple(_photos(manager)),
        voice_file_id=data.get("voice") or None,
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
        anonymous=bool(data.get("anonymous")),
        contact_phone=str(phone) if data.get("share_phone") and phone else None,
    )
    try:
        appeal = await service(c).file(c.user_id, building, draft)
    except AppealError as exc:
        _say(manager, problem_text(c.t, exc))
        return
    await c.session.commit()
    text = c.t(
        "resident_appeal.form.filed",
        number=appeal.number,
        category=_category_label(c, appeal.category),
        accept_by=local_time(appeal.accept_due, c.settings.zone),
        resolve_by=local_time(appeal.first_resolve_due, c.settings.zone),
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
        problem = _text_problem(t, combined)
        if problem:
            _say(manager, problem)
            return
        data["text"] = combined
        _say(manager, t("resident_appeal.input.text_added"), hint_text)
    elif message.voice is not None:
        data["voice"] = message.voice.file_id
        data["voice_seconds"] = message.voice.duration
        _say(manager, t("resident_appeal.input.voice_added"), hint_text)
    elif message.photo:
        _, note = _take_photo(manager, message)
        if message.caption and message.caption.strip():
            combined = "\n".join(
                p for p in (str(data.get("text") or ""), message.caption.strip()) if p
            )
            if _text_problem(t, combined) is None:
                data["text"] = combined
        _say(manager, note, hint_text)
    elif message.location is not None:
        data["lat"], data["lon"] = message.location.latitude, message.location.longitude
        _say(manager, t("resident_appeal.input.location_added"), hint_text)
    elif message.contact is not None:
        await _take_contact(message, manager)
    else:
        _say(manager, t("resident_appeal.input.not_supported"), hint_text)


def _replace_window(manager: DialogManager, message: Message) -> None:
    """One photo window at the bottom instead of one per photo. Later photos of the same
    album already edit the window (aiogram-dialog does that by itself)."""
    group = message.media_group_id
    if group is None or group != manager.current_stack().last_income_media_group_id:
        manager.show_mode = ShowMode.DELETE_AND_SEND


def _take_photo(
    manager: DialogManager, message: Message, key: str = "photos", already: int = 0
) -> tuple[bool, str]:
    """Add the message's photo if there is room (``already``: photos stored before):
    (added, what to tell the resident)."""
    t: Translator = manager.middleware_data["t"]
    photos = _photos(manager, key)
    assert message.photo
    count = already + len(photos)
    if count >= MAX_PHOTOS:
        return False, t("resident_appeal.input.too_many_photos", max=MAX_PHOTOS, count=count)
    photos.append(message.photo[-1].file_id)
    manager.dialog_data[key] = photos
    return True, t("resident_appeal.input.photo_added", count=count + 1)


async def _take_contact(message: Message, manager: DialogManager) -> None:
    c = ctx(manager)
    contact = message.contact
    assert contact is not None
    if contact.user_id != c.user_id:
        _say(manager, c.t("resident_appeal.input.contact_not_own"))
        return
    phone = contact.phone_number.strip()[:32]
    manager.dialog_data["phone"] = phone
    manager.dialog_data["share_phone"] = True
    if c.user is not None:
        c.user.phone = phone  # the resident chose to share it; remembered for next time
    _clear(manager)
    if manager.dialog_data.pop("asking_phone", False):
        await _remove_reply_keyboard(c, c.t("resident_appeal.form.phone_saved"))
    else:
        _say(manager, c.t("resident_appeal.form.phone_saved"))


async def on_form_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    state = manager.current_context().state
    data = manager.dialog_data
    if state == FileAppeal.category and await resident_building(c) is None:
        return
    if state == FileAppeal.description:
        if message.text is not None:
            problem = _text_problem(t, message.text)
            if problem:
                _say(manager, problem)
                return
            data["text"] = message.text.strip()
            await _forward(manager, state)
        elif message.voice is not None:
            data["voice"] = message.voice.file_id
            data["voice_seconds"] = message.voice.duration
            await _forward(manager, state)
        elif message.photo:
            added, note = _take_photo(manager, message)
            caption = (message.caption or "").strip()
            if caption and _text_problem(t, caption) is None:
                data["text"] = caption
                await _forward(manager, state)
                return
            count = len(_photos(manager))
            _say(
                manager,
                t("resident_appeal.input.photo_needs_description", count=count) if added else note,
            )
        else:
            _say(manager, t("resident_appeal.input.not_text"))
        return
    if state == FileAppeal.photos and message.photo:
        added, note = _take_photo(manager, message)
        caption = (message.caption or "").strip()
        if caption:
            combined = "\n".join(p for p in (str(data.get("text") or ""), caption) if p)
            if _text_problem(t, combined) is None:
                data["text"] = combined
        if added:
            _clear(manager)
        else:
            _say(manager, note)
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
        _clear(manager)
        await _remove_reply_keyboard(c, t("resident_appeal.form.phone_not_saved"))
        return
    await _absorb(message, manager, HINTS.get(state, "resident_appeal.input.hint_summary"))


def _back_button() -> Button:
    return Button(L("common.back"), id="back", on_click=on_back)


def _form_input() -> MessageInput:
    return MessageInput(on_form_input, content_types=ContentType.ANY)


def _bind_button() -> Start:
    return Start(
        L("resident_appeal.bind_button"),
        id="bind",
        state=Onboarding.community,
        data={"mode": "change"},
        when="may_bind",
    )


def file_appeal_dialog() -> Dialog:
    notice = Format("{notice}\n", when="notice")
    return Dialog(
        Window(
            notice,
            L("resident_appeal.form.category", when="bound"),
            Format("{need_building}", when="unbound"),
            Group(
                Select(
                    Format("{item[1]}"),
                    id="cat",
                    item_id_getter=lambda x: x[0],
                    items="categories",
                    on_click=on_category,
                ),
                width=2,
            ),
            _bind_button(),
            Button(L("common.cancel"), id="cancel", on_click=_cancel_to_menu),
            _form_input(),
            state=FileAppeal.category,
            getter=category_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.similar"),
            Column(
                Select(
                    Format("{item[1]}"),
                    id="follow",
                    item_id_getter=lambda x: x[0],
                    items="appeals",
                    on_click=on_follow,
                ),
            ),
            Button(L("resident_appeal.form.still_file"), id="still", on_click=on_still_file),
            SwitchTo(L("common.back"), id="back", state=FileAppeal.category),
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
                id="next",
                on_click=on_description_next,
                when="has_description",
            ),
            _back_button(),
            _form_input(),
            state=FileAppeal.description,
            getter=description_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.photos"),
            Button(
                L("resident_appeal.form.photos_done"),
                id="done",
                on_click=on_photos_done,
                when="has_photos",
            ),
            Button(
                L("resident_appeal.form.photos_skip"),
                id="skip",
                on_click=on_photos_done,
                when="no_photos",
            ),
            Row(
                _back_button(),
                Button(
                    L("resident_appeal.form.photos_clear"),
                    id="clear",
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
            Button(L("resident_appeal.form.location_skip"), id="skip", on_click=on_location_skip),
            _back_button(),
            _form_input(),
            state=FileAppeal.location,
            getter=_notice_getter,
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
            _back_button(),
            _form_input(),
            state=FileAppeal.anonymous,
            getter=_notice_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.summary"),
            Button(L("resident_appeal.form.confirm"), id="confirm", on_click=on_confirm),
            Row(
                Button(
                    L("resident_appeal.form.edit_category"),
                    id="e_cat",
                    on_click=_edit(FileAppeal.category),
                ),
                Button(
                    L("resident_appeal.form.edit_description"),
                    id="e_desc",
                    on_click=_edit(FileAppeal.description),
                ),
            ),
            Row(
                Button(
                    L("resident_appeal.form.edit_photos"),
                    id="e_photos",
                    on_click=_edit(FileAppeal.photos),
                ),
                Button(
                    L("resident_appeal.form.edit_location"),
                    id="e_loc",
                    on_click=_edit(FileAppeal.location),
                ),
                Button(
                    L("resident_appeal.form.edit_anonymous"),
                    id="e_anon",
                    on_click=_edit(FileAppeal.anonymous),
                ),
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


async def _notice_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    return {"notice": _notice(dialog_manager)}


# --- the urgent call (UrgentCall) ---------------------------------------------------------


async def urgent_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    building = await resident_building(c)
    base = {"notice": _notice(dialog_manager)}
    if building is None:
        return base | await _not_bound_getter(c) | {"building": ""}
    return base | {
        "bound": True,
        "unbound": False,
        "may_bind": False,
        "need_building": "",
        "building": await building_path(c, building),
    }


async def on_urgent(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    building = await resident_building(c)
    if building is None:
        return
    data = manager.dialog_data
    lat, lon = data.get("lat"), data.get("lon")
    draft = Draft(
        category=URGENT_CATEGORY,
        urgent=True,
        text=c.t("resident_appeal.urgent.text"),
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
        contact_phone=c.user.phone if c.user is not None else None,
    )
    try:
        appeal = await service(c).file(c.user_id, building, draft)
    except AppealError as exc:
        _say(manager, problem_text(c.t, exc))
        return
    await c.session.commit()
    await manager.done()
    await c.bot.send_message(
        c.user_id,
        c.t(
            "resident_appeal.urgent.sent",
            number=appeal.number,
            accept_by=local_time(appeal.accept_due, c.settings.zone),
        ),
    )


async def on_urgent_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    """A location sent on the confirmation screen goes with the call."""
    c = ctx(manager)
    if message.location is not None:
        manager.dialog_data["lat"] = message.location.latitude
        manager.dialog_data["lon"] = message.location.longitude
        _say(manager, c.t("resident_appeal.input.location_added"))


def urgent_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("resident_appeal.urgent.confirm", when="bound"),
            Format("{need_building}", when="unbound"),
            Button(L("resident_appeal.urgent.button"), id="call", on_click=on_urgent, when="bound"),
            _bind_button(),
            Button(L("resident_appeal.urgent.cancel"), id="cancel", on_click=_cancel_to_menu),
            MessageInput(on_urgent_input, content_types=ContentType.LOCATION),
            state=UrgentCall.confirm,
            getter=urgent_getter,
        ),
    )


# --- my appeals (MyAppeals) ---------------------------------------------------------------


async def on_mine_start(data: Any, manager: DialogManager) -> None:
    appeal_id = start_data(manager).get("appeal_id")
    if appeal_id is not None:
        manager.dialog_data["appeal_id"] = int(appeal_id)


async def list_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    svc = service(c)
    page = max(0, int(dialog_manager.dialog_data.get("page", 0)))
    rows, total = await svc.of_resident(c.user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page >= pages:
        page = pages - 1
        dialog_manager.dialog_data["page"] = page
        rows, total = await svc.of_resident(c.user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    items = [
        (
            a.id,
            c.t(
                "resident_appeal.mine.item",
                number=a.number,
                category=c.policy.category_name(a.category, c.t.language),
                state=state_name(a.state, c.t),
            ),
        )
        for a in rows
    ]
    return {
        "notice": _notice(dialog_manager),
        "items": items,
        "total": total,
        "page": page + 1,
        "pages": pages,
        "has_items": total > 0,
        "empty": total == 0,
        "has_prev": page > 0,
        "has_next": page + 1 < pages,
    }


async def on_prev(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["page"] = max(0, int(manager.dialog_data.get("page", 0)) - 1)
    _clear(manager)


async def on_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["page"] = int(manager.dialog_data.get("page", 0)) + 1
    _clear(manager)


async def on_pick(call: CallbackQuery, _: Any, manager: DialogManager, item: str) -> None:
    c = ctx(manager)
    if not item.isdigit():
        await toast(manager, c.t("common.stale_button"), alert=True)
        return
    manager.dialog_data["appeal_id"] = int(item)
    _clear(manager)
    await manager.switch_to(MyAppeals.detail)


async def may_view(c: Ctx, appeal: Appeal) -> tuple[bool, bool]:
    """(is the resident's own appeal, may see it at all: own or followed)."""
    if appeal.resident_id == c.user_id:
        return True, True
    followed = await c.session.get(AppealFollower, (appeal.id, c.user_id))
    return False, followed is not None


async def _viewed(manager: DialogManager) -> Appeal | None:
    c = ctx(manager)
    appeal_id = manager.dialog_data.get("appeal_id")
    appeal = await c.session.get(Appeal, int(appeal_id)) if appeal_id is not None else None
    if appeal is None:
        return None
    _, allowed = await may_view(c, appeal)
    return appeal if allowed else None


async def detail_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _viewed(dialog_manager)
    flags: dict[str, Any] = {"can_cancel": False, "can_add": False, "following": ""}
    if appeal is None:
        return {
            "notice": _notice(dialog_manager),
            "body": c.t("appeal.problem.not_allowed"),
        } | flags
    mine, _allowed = await may_view(c, appeal)
    tl = await service(c).timeline(appeal.id)
    body = timeline_text(tl.appeal, tl.events, tl.media, c.t, c.settings.zone, c.policy)
    return {
        "notice": _notice(dialog_manager),
        "body": body,
        "can_cancel": mine and appeal.state == AppealState.SUBMITTED,
        "can_add": mine and appeal.is_open,
        "following": "" if mine else c.t("resident_appeal.mine.following"),
    }


async def on_back_to_list(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    _clear(manager)
    await manager.switch_to(MyAppeals.list)


async def number_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    appeal = await _viewed(dialog_manager)
    return {"notice": _notice(dialog_manager), "number": appeal.number if appeal else "—"}


async def on_cancel_yes(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal_id = int(manager.dialog_data.get("appeal_id", 0))
    try:
        appeal = await service(c).cancel(appeal_id, c.user_id)
    except AppealError as exc:
        _say(manager, problem_text(c.t, exc))
        await manager.switch_to(MyAppeals.detail)
        return
    await c.session.commit()
    _say(manager, c.t("resident_appeal.mine.cancelled_ok", number=appeal.number))
    await manager.switch_to(MyAppeals.detail)


async def on_cancel_no(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    _clear(manager)
    await manager.switch_to(MyAppeals.detail)


async def on_add_details(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    for key in ("d_text", "d_photos", "d_voice", "d_voice_seconds"):
        manager.dialog_data.pop(key, None)
    _clear(manager)
    await manager.switch_to(MyAppeals.add_details)


def _collected(c: Ctx, data: dict[str, Any]) -> str:
    parts = []
    text = str(data.get("d_text") or "")
    if text:
        parts.append(c.t("resident_appeal.mine.details_text", length=len(text)))
    if data.get("d_voice"):
        parts.append(
            c.t("resident_appeal.voice_yes", seconds=int(data.get("d_voice_seconds") or 0))
        )
    photos = len(data.get("d_photos") or [])
    if photos:
        parts.append(c.t("resident_appeal.mine.details_photos", n=photos))
    return " · ".join(parts) or c.t("resident_appeal.nothing")


async def details_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _viewed(dialog_manager)
    data = dialog_manager.dialog_data
    ready = bool(data.get("d_text") or data.get("d_voice") or data.get("d_photos"))
    return {
        "notice": _notice(dialog_manager),
        "number": appeal.number if appeal else "—",
        "collected": _collected(c, data),
        "ready": ready,
    }


async def _existing_photos(c: Ctx, appeal_id: int) -> int:
    rows = await c.session.execute(
        select(AppealMedia.id).where(
            AppealMedia.appeal_id == appeal_id, AppealMedia.kind == "photo"
        )
    )
    return len(rows.all())


async def on_details_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    data = manager.dialog_data
    hint = t("resident_appeal.input.hint_details")
    text = (
        message.text if message.text is not None else (message.caption if message.photo else None)
    )
    if message.photo:
        appeal_id = int(data.get("appeal_id", 0))
        stored = await _existing_photos(c, appeal_id)
        added, note = _take_photo(manager, message, key="d_photos", already=stored)
        if added:
            _clear(manager)
        else:
            _say(manager, note)
    elif message.voice is not None:
        data["d_voice"] = message.voice.file_id
        data["d_voice_seconds"] = message.voice.duration
        _clear(manager)
    elif message.text is None:
        _say(manager, t("resident_appeal.input.not_supported"), hint)
        return
    if text is not None and text.strip():
        combined = "\n".join(p for p in (str(data.get("d_text") or ""), text.strip()) if p)
        problem = _text_problem(t, combined)
        if problem:
            _say(manager, problem)
            return
        data["d_text"] = combined
        if not message.photo:
            _clear(manager)


async def on_details_send(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    try:
        await service(c).add_details(
            int(data.get("appeal_id", 0)),
            c.user_id,
            text=str(data.get("d_text") or ""),
            photos=tuple(_photos(manager, "d_photos")),
            voice_file_id=data.get("d_voice") or None,
        )
    except AppealError as exc:
        _say(manager, problem_text(c.t, exc))
        return
    await c.session.commit()
    for key in ("d_text", "d_photos", "d_voice", "d_voice_seconds"):
        data.pop(key, None)
    _say(manager, c.t("resident_appeal.mine.details_sent"))
    await manager.switch_to(MyAppeals.detail)


async def on_details_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    _clear(manager)
    await manager.switch_to(MyAppeals.detail)


async def on_mine_close(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await close_to_menu(manager)


def my_appeals_dialog() -> Dialog:
    notice = Format("{notice}\n", when="notice")
    return Dialog(
        Window(
            notice,
            L("resident_appeal.mine.title", when="has_items"),
            L("resident_appeal.mine.empty", when="empty"),
            Column(
                Select(
                    Format("{item[1]}"),
                    id="pick",
                    item_id_getter=lambda x: x[0],
                    items="items",
                    on_click=on_pick,
                ),
            ),
            Row(
                Button(
                    L("resident_appeal.mine.prev"), id="prev", on_click=on_prev, when="has_prev"
                ),
                Button(
                    L("resident_appeal.mine.next"), id="next", on_click=on_next, when="has_next"
                ),
            ),
            Start(L("resident_appeal.mine.new"), id="new", state=FileAppeal.category, when="empty"),
            Button(L("resident_appeal.mine.menu"), id="menu", on_click=on_mine_close),
            state=MyAppeals.list,
            getter=list_getter,
        ),
        Window(
            notice,
            Format("{body}"),
            Format("\n{following}", when="following"),
            Button(
                L("resident_appeal.mine.add_details"),
                id="add",
                on_click=on_add_details,
                when="can_add",
            ),
            SwitchTo(
                L("resident_appeal.mine.cancel"),
                id="cancel",
                state=MyAppeals.cancel_confirm,
                when="can_cancel",
            ),
            Button(L("resident_appeal.mine.back_to_list"), id="list", on_click=on_back_to_list),
            state=MyAppeals.detail,
            getter=detail_getter,
        ),
        Window(
            notice,
            L("resident_appeal.mine.details_prompt"),
            Button(
                L("resident_appeal.mine.details_send"),
                id="send",
                on_click=on_details_send,
                when="ready",
            ),
            Button(L("common.back"), id="back", on_click=on_details_back),
            MessageInput(on_details_input, content_types=ContentType.ANY),
            state=MyAppeals.add_details,
            getter=details_getter,
        ),
        Window(
            L("resident_appeal.mine.cancel_confirm"),
            Row(
                Button(L("resident_appeal.mine.cancel_yes"), id="yes", on_click=on_cancel_yes),
                Button(L("resident_appeal.mine.cancel_no"), id="no", on_click=on_cancel_no),
            ),
            state=MyAppeals.cancel_confirm,
            getter=number_getter,
        ),
        on_start=on_mine_start,
    )


# --- the comment after a rating (RateAppeal) ----------------------------------------------


async def on_comment_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    appeal_id = int(start_data(manager).get("appeal_id", 0))
    svc = service(c)
    try:
        if message.text is not None:
            problem = _text_problem(t, message.text)
            if problem:
                _say(manager, problem)
                return
            await svc.set_rating_comment(appeal_id, c.user_id, message.text)
        elif message.voice is not None:
            await svc.set_rating_comment(
                appeal_id, c.user_id, t("resident_appeal.rate.voice_comment")
            )
            await _attach_voice_to_comment(c, appeal_id, message.voice.file_id)
        else:
            _say(
                manager,
                t("resident_appeal.input.not_supported"),
                t("resident_appeal.input.hint_comment"),
            )
            return
    except AppealError as exc:
        _say(manager, problem_text(t, exc))
        return
    await c.session.commit()
    await manager.done()
    await c.bot.send_message(c.user_id, t("resident_appeal.rate.comment_saved"))


async def _attach_voice_to_comment(c: Ctx, appeal_id: int, file_id: str) -> None:
    """The storage keeps comments as text; the voice itself is kept as the comment
    event's media so the timeline and staff can play it."""
    event_id = (
        await c.session.execute(
            select(AppealEvent.id)
            .where(AppealEvent.appeal_id == appeal_id, AppealEvent.kind == "comment")
            .order_by(AppealEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    c.session.add(
        AppealMedia(
            appeal_id=appeal_id,
            event_id=event_id,
            kind="voice",
            file_id=file_id,
            added_by=c.user_id,
            at=c.clock.now(),
        )
    )
    await c.session.flush()


async def on_comment_skip(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await manager.done()


def rate_comment_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{notice}\n", when="notice"),
            L("resident_appeal.rate.comment"),
            Button(L("resident_appeal.rate.skip"), id="skip", on_click=on_comment_skip),
            MessageInput(on_comment_input, content_types=ContentType.ANY),
            state=RateAppeal.comment,
            getter=_notice_getter,
        ),
    )


def appeal_dialogs() -> list[Dialog]:
    return [file_appeal_dialog(), urgent_dialog(), my_appeals_dialog(), rate_comment_dialog()]
