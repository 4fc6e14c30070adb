"""The resident's filing form (诉求): the common path is three steps (a category, the
problem in words or a voice note, confirm); photos, the location, a phone number and
hiding one's name from neighbours are optional buttons on the summary.

Everything a resident enters stays in ``dialog_data`` until they confirm: a wrong input
(a sticker, a file, a text that is too long) only explains and asks again, and whatever
they send out of turn (a photo while asked for words, words on the summary) is kept
rather than dropped. The location and phone use a reply keyboard (Telegram offers "send
my location / my number" only there); it is always removed again before the form moves
on. The form carries an id: confirming it twice (a double tap, a restart) files once."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.fsm.state import State
from aiogram.types import (
    CallbackQuery,
    ContentType,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
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
from bot.dialogs.appeals.views import filed_text, state_name
from bot.formatting import e, local_time
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, notice_getter, say
from bot.kit.owed import answer_in_place
from bot.kit.text import L, notice_text
from bot.kit.toast import toast
from bot.kit.widgets import picker
from storage.appeals import MAX_PHOTOS, Appeal, AppealError, Draft
from storage.appeals.policy import URGENT_CATEGORY

SIMILAR_PREVIEW = 60

HINTS: dict[State, str] = {
    FileAppeal.category: "resident_appeal.input.hint_category",
    FileAppeal.similar: "resident_appeal.input.hint_similar",
    FileAppeal.same: "resident_appeal.input.hint_same",
    FileAppeal.photos: "resident_appeal.input.hint_photos",
    FileAppeal.location: "resident_appeal.input.hint_location",
    FileAppeal.summary: "resident_appeal.input.hint_summary",
}


def has_description(data: dict[str, Any]) -> bool:
    return bool(str(data.get("text") or "").strip() or data.get("voice"))


# --- moving through the form ---------------------------------------------------------------


async def on_form_start(data: Any, manager: DialogManager) -> None:
    manager.dialog_data.setdefault("photos", [])
    manager.dialog_data.setdefault("share_phone", False)
    manager.dialog_data.setdefault("key", secrets.token_hex(8))


async def _go(manager: DialogManager, state: State, show_mode: ShowMode | None = None) -> None:
    clear_notice(manager)
    await manager.switch_to(state, show_mode=show_mode)


async def _after_description(manager: DialogManager, show_mode: ShowMode | None = None) -> None:
    await _go(manager, FileAppeal.summary, show_mode)


async def _leave_location(manager: DialogManager, key: str) -> None:
    c = ctx(manager)
    await remove_reply_keyboard(c, c.t(key))
    # The summary goes below the message that took the keyboard away.
    await _go(manager, FileAppeal.summary, ShowMode.SEND)


# --- category and similar appeals -----------------------------------------------------------


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
    similar = [
        a.id for a in await service(c).similar_open(building.id, item) if a.resident_id != c.user_id
    ]
    if similar:
        manager.dialog_data["similar"] = similar
        await _go(manager, FileAppeal.similar)
        return
    await _next_after_category(manager)


async def _next_after_category(manager: DialogManager) -> None:
    if has_description(manager.dialog_data):
        await _go(manager, FileAppeal.summary)
    else:
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
    await _next_after_category(manager)


# --- the resident's own appeal, filed again --------------------------------------------------


async def _same_matter(c: Ctx, data: dict[str, Any]) -> Appeal | None:
    return await service(c).same_matter(
        c.user_id, str(data.get("category") or ""), str(data.get("text") or "")
    )


def _preview(text: str) -> str:
    return text[:SIMILAR_PREVIEW] + ("…" if len(text) > SIMILAR_PREVIEW else "")


async def same_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    appeal = await _same_matter(c, dialog_manager.dialog_data)
    base = {"notice": notice(dialog_manager), "number": "—", "state": "—", "at": "—"}
    if appeal is None:
        return base | {"text": "—"}
    return base | {
        "number": appeal.number,
        "state": state_name(appeal.state, c.t),
        "at": local_time(appeal.submitted_at, c.zone),
        "text": e(_preview(appeal.text)) or "—",
    }


async def on_same_matter(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    appeal = await _same_matter(c, manager.dialog_data)
    if appeal is None:  # closed or cancelled meanwhile: nothing to keep instead
        await _go(manager, FileAppeal.summary)
        return
    await manager.done()
    await c.bot.send_message(c.user_id, c.t("resident_appeal.form.same_kept", number=appeal.number))


async def on_not_same(call: CallbackQuery, button: Button, manager: DialogManager) -> None:
    manager.dialog_data["not_same"] = True
    await on_confirm(call, button, manager)


# --- the description ----------------------------------------------------------------------


async def description_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    return {
        "notice": notice(dialog_manager),
        "category": _category_label(c, dialog_manager.dialog_data.get("category")),
        "has_description": has_description(dialog_manager.dialog_data),
    }


def _voice_label(c: Ctx, data: dict[str, Any]) -> str:
    if not data.get("voice"):
        return ""
    return c.t("resident_appeal.voice_yes", seconds=int(data.get("voice_seconds") or 0))


async def on_back_to_summary(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _go(manager, FileAppeal.summary)


# --- photos and location, from the summary --------------------------------------------------


async def photos_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    count = len(photos_of(dialog_manager))
    return {
        "notice": notice(dialog_manager),
        "count": count,
        "max": MAX_PHOTOS,
        "has_photos": count > 0,
    }


async def on_photos_clear(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["photos"] = []
    clear_notice(manager)


async def on_add_location(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[
            [
                KeyboardButton(
                    text=c.t("resident_appeal.form.location_button"), request_location=True
                )
            ],
            [KeyboardButton(text=c.t("resident_appeal.form.location_cancel"))],
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


async def on_location_back(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    await _leave_location(manager, "resident_appeal.form.location_skipped")


# --- the summary --------------------------------------------------------------------------


def _phone(c: Ctx, data: dict[str, Any]) -> str | None:
    phone = data.get("phone") or (c.user.phone if c.user else None)
    return str(phone) if phone else None


async def summary_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    t = c.t
    nothing = t("resident_appeal.nothing")
    photos = len(photos_of(dialog_manager))
    lat, lon = data.get("lat"), data.get("lon")
    phone = _phone(c, data)
    sharing = bool(data.get("share_phone") and phone)
    hidden = bool(data.get("anonymous"))
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
        "privacy": t(
            "resident_appeal.form.privacy_hidden"
            if hidden
            else "resident_appeal.form.privacy_shown"
        ),
        "phone": (
            t("resident_appeal.form.phone_yes", phone=e(phone))
            if sharing and phone
            else t("resident_appeal.form.phone_no")
        ),
        "hidden": hidden,
        "shown": not hidden,
        "no_phone": not phone,
        "sharing": sharing,
        "not_sharing": bool(phone) and not sharing,
    }


def _edit(state: State) -> Callable[[CallbackQuery, Button, DialogManager], Awaitable[None]]:
    async def handler(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
        await _go(manager, state)

    return handler


async def on_toggle_name(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    manager.dialog_data["anonymous"] = not manager.dialog_data.get("anonymous")
    clear_notice(manager)


async def on_toggle_phone(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    phone = _phone(c, manager.dialog_data)
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
    if not has_description(data):
        await _go(manager, FileAppeal.description)
        return
    building = await resident_building(c)
    if building is None:
        say(manager, c.t("resident_appeal.need_building"))
        return
    key = str(data.get("key") or secrets.token_hex(8))
    already = await service(c).by_draft(key)
    if already is not None:
        await manager.done()
        await c.bot.send_message(
            c.user_id, c.t("resident_appeal.form.already_filed", number=already.number)
        )
        return
    # Filing the same words again minutes later is most often someone unsure whether
    # the first one went through: ask before filing a second.
    if not data.get("not_same") and await _same_matter(c, data) is not None:
        await _go(manager, FileAppeal.same)
        return
    phone = _phone(c, data)
    lat, lon = data.get("lat"), data.get("lon")
    draft = Draft(
        category=str(category),
        text=str(data.get("text") or ""),
        photos=tuple(photos_of(manager)),
        voice_file_id=data.get("voice") or None,
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
        anonymous=bool(data.get("anonymous")),
        contact_phone=phone if data.get("share_phone") and phone else None,
        key=key,
    )
    try:
        appeal = await service(c).file(c.user_id, building, draft)
    except AppealError as exc:
        say(manager, problem_text(c.t, exc))
        return
    # "Filed" is owed through the outbox, written with the appeal: it reaches the
    # resident even if this process stops right after the commit. The form says it at
    # once, unless a reply keyboard is still up (the outbox's message takes it away).
    if data.get("asking_phone"):
        await manager.done()
        return
    text = filed_text(appeal, policy(c), c.t, c.zone)
    await answer_in_place(call, manager, "appeal.filed", appeal.id, text)


# --- what the resident sends while the form is open --------------------------------------


def _append_text(manager: DialogManager, addition: str) -> str | None:
    """Add words to the description; the problem with it, if it would be too long."""
    t = ctx(manager).t
    data = manager.dialog_data
    combined = "\n".join(p for p in (str(data.get("text") or ""), addition.strip()) if p)
    problem = text_problem(t, combined)
    if problem is None:
        data["text"] = combined
    return problem


async def _absorb(message: Message, manager: DialogManager, hint: str) -> None:
    """Keep whatever arrived out of turn and say so; explain what cannot be used."""
    c = ctx(manager)
    t = c.t
    data = manager.dialog_data
    hint_text = t(hint)
    if message.text is not None:
        problem = _append_text(manager, message.text)
        if problem:
            say(manager, problem)
            return
        say(manager, t("resident_appeal.input.text_added"), hint_text)
    elif message.voice is not None:
        data["voice"] = message.voice.file_id
        data["voice_seconds"] = message.voice.duration
        say(manager, t("resident_appeal.input.voice_added"), hint_text)
    elif message.photo:
        _, note = take_photo(manager, message)
        if message.caption and message.caption.strip():
            _append_text(manager, message.caption)
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


async def _describe(message: Message, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    data = manager.dialog_data
    if message.text is not None:
        problem = text_problem(t, message.text)
        if problem:
            say(manager, problem)
            return
        data["text"] = message.text.strip()
        await _after_description(manager)
    elif message.voice is not None:
        data["voice"] = message.voice.file_id
        data["voice_seconds"] = message.voice.duration
        await _after_description(manager)
    elif message.photo:
        added, note = take_photo(manager, message)
        caption = (message.caption or "").strip()
        if caption and text_problem(t, caption) is None:
            data["text"] = caption
            await _after_description(manager)
            return
        count = len(photos_of(manager))
        say(
            manager,
            t("resident_appeal.input.photo_needs_description", count=count) if added else note,
        )
    else:
        say(manager, t("resident_appeal.input.not_text"))


async def on_form_input(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    t = c.t
    state = manager.current_context().state
    data = manager.dialog_data
    if state == FileAppeal.category and await resident_building(c) is None:
        return
    if state == FileAppeal.description:
        await _describe(message, manager)
        return
    if state == FileAppeal.photos and message.photo:
        added, note = take_photo(manager, message)
        if message.caption and message.caption.strip():
            _append_text(manager, message.caption)
        if added:
            clear_notice(manager)
        else:
            say(manager, note)
        _replace_window(manager, message)
        return
    if state == FileAppeal.location:
        if message.location is not None:
            data["lat"], data["lon"] = message.location.latitude, message.location.longitude
            await _leave_location(manager, "resident_appeal.form.location_received")
            return
        if message.text is not None and message.text.strip() == t(
            "resident_appeal.form.location_cancel"
        ):
            await _leave_location(manager, "resident_appeal.form.location_skipped")
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
            L("resident_appeal.form.same"),
            Button(L("resident_appeal.form.same_yes"), id="same_yes", on_click=on_same_matter),
            Button(L("resident_appeal.form.same_no"), id="same_no", on_click=on_not_same),
            Button(
                L("resident_appeal.form.back_to_summary"),
                id="same_back",
                on_click=on_back_to_summary,
            ),
            _form_input(),
            state=FileAppeal.same,
            getter=same_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.description"),
            Button(
                L("resident_appeal.form.back_to_summary"),
                id="desc_summary",
                on_click=on_back_to_summary,
                when="has_description",
            ),
            SwitchTo(L("common.back"), id="desc_back", state=FileAppeal.category),
            _form_input(),
            state=FileAppeal.description,
            getter=description_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.summary"),
            Button(L("resident_appeal.form.confirm"), id="confirm", on_click=on_confirm),
            Row(
                SwitchTo(
                    L("resident_appeal.form.add_photos"), id="add_photos", state=FileAppeal.photos
                ),
                Button(
                    L("resident_appeal.form.add_location"),
                    id="add_location",
                    on_click=on_add_location,
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
            Button(
                L("resident_appeal.form.hide_name"),
                id="hide_name",
                on_click=on_toggle_name,
                when="shown",
            ),
            Button(
                L("resident_appeal.form.show_name"),
                id="show_name",
                on_click=on_toggle_name,
                when="hidden",
            ),
            Row(
                Button(
                    L("resident_appeal.form.edit_category"),
                    id="edit_category",
                    on_click=_edit(FileAppeal.category),
                ),
                Button(
                    L("resident_appeal.form.edit_description"),
                    id="edit_description",
                    on_click=_edit(FileAppeal.description),
                ),
            ),
            Button(L("resident_appeal.discard"), id="discard", on_click=on_discard),
            _form_input(),
            state=FileAppeal.summary,
            getter=summary_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.photos"),
            Button(
                L("resident_appeal.form.photos_done"), id="photos_done", on_click=on_back_to_summary
            ),
            Button(
                L("resident_appeal.form.photos_clear"),
                id="photos_clear",
                on_click=on_photos_clear,
                when="has_photos",
            ),
            _form_input(),
            state=FileAppeal.photos,
            getter=photos_getter,
        ),
        Window(
            notice,
            L("resident_appeal.form.location"),
            Button(
                L("resident_appeal.form.back_to_summary"), id="loc_back", on_click=on_location_back
            ),
            _form_input(),
            state=FileAppeal.location,
            getter=notice_getter,
        ),
        on_start=on_form_start,
    )
