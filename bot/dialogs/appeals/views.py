"""How an appeal reads in the chat: cards for staff, summaries and timelines for
residents, and the buttons a staff member may press on it. Shared by pushes, /tasks and
"my appeals" so an appeal looks the same everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dialogs.appeals.callbacks import AppealOpen, RateAction, TaskAction
from bot.formatting import e, local_time, node_path
from bot.i18n import Translator
from storage.appeals import (
    UNACCEPTED,
    WORKING,
    Action,
    Appeal,
    AppealEvent,
    AppealMedia,
    AppealPolicy,
    Level,
    Rating,
    State,
    allowed_actions,
)
from storage.hierarchy import HierarchyRepo
from storage.roles import Staffing
from storage.users import User

TEXT_PREVIEW = 600
MAX_CARD = 3900  # Telegram's limit is 4096 characters; leave room for a headline


@dataclass(frozen=True)
class Place:
    building: str  # escaped path, district → building
    grid: str


async def place_of(session: AsyncSession, appeal: Appeal) -> Place:
    repo = HierarchyRepo(session)
    node = await repo.get(appeal.building_id) if appeal.building_id else None
    node = node or await repo.get(appeal.grid_id)
    chain = await repo.ancestors(node) if node else []
    grid = await repo.get(appeal.grid_id)
    return Place(
        node_path(chain[1:]) if len(chain) > 1 else node_path(chain), e(grid.name) if grid else "—"
    )


def state_name(state: str, t: Translator) -> str:
    return t(f"appeal.state.{state}")


def level_name(level: str, t: Translator) -> str:
    return t(f"appeal.level.{level}")


def category_name(appeal: Appeal, policy: AppealPolicy, t: Translator) -> str:
    return e(policy.category_name(appeal.category, t.language))


def deadline_line(appeal: Appeal, t: Translator, zone: ZoneInfo, now_overdue: bool) -> str:
    if appeal.state in UNACCEPTED and appeal.accept_due:
        line = t("appeal.card.accept_by", at=local_time(appeal.accept_due, zone))
    elif appeal.state in WORKING and appeal.resolve_due:
        line = t("appeal.card.resolve_by", at=local_time(appeal.resolve_due, zone))
    else:
        return ""
    return line + (t("appeal.card.overdue") if now_overdue else "")


def staff_card(
    appeal: Appeal,
    place: Place,
    t: Translator,
    zone: ZoneInfo,
    policy: AppealPolicy,
    *,
    photos: int = 0,
    voices: int = 0,
    resident: User | None = None,
    show_contact: bool = False,
    overdue: bool = False,
    headline: str = "",
) -> str:
    lines = [headline] if headline else []
    title = t("appeal.card.title", number=appeal.number, category=category_name(appeal, policy, t))
    if appeal.urgent:
        title += t("appeal.card.urgent")
    lines.append(title)
    lines.append(t("appeal.card.place", place=place.building))
    lines.append(
        t("appeal.card.state", state=state_name(appeal.state, t), level=level_name(appeal.level, t))
    )
    deadline = deadline_line(appeal, t, zone, overdue)
    if deadline:
        lines.append(deadline)
    if show_contact:
        name = e(resident.display_name) if resident else "—"
        phone = e(appeal.contact_phone) if appeal.contact_phone else t("appeal.card.no_phone")
        lines.append(t("appeal.card.contact", name=name, phone=phone))
    if appeal.latitude is not None and appeal.longitude is not None:
        lines.append(
            t("appeal.card.location", lat=f"{appeal.latitude:.5f}", lon=f"{appeal.longitude:.5f}")
        )
    attachments = []
    if photos:
        attachments.append(t("appeal.card.photos", n=photos))
    if voices:
        attachments.append(t("appeal.card.voice"))
    if attachments:
        lines.append(" · ".join(attachments))
    text = appeal.text if len(appeal.text) <= TEXT_PREVIEW else appeal.text[:TEXT_PREVIEW] + "…"
    if text:
        lines.append("")
        lines.append(e(text))
    return "\n".join(lines)


def resident_summary(appeal: Appeal, t: Translator, zone: ZoneInfo, policy: AppealPolicy) -> str:
    lines = [
        t("appeal.card.title", number=appeal.number, category=category_name(appeal, policy, t)),
        t("appeal.card.state_simple", state=state_name(appeal.state, t)),
        t("appeal.card.submitted", at=local_time(appeal.submitted_at, zone)),
    ]
    deadline = deadline_line(appeal, t, zone, False)
    if deadline:
        lines.append(deadline)
    if appeal.text:
        preview = appeal.text[:200] + ("…" if len(appeal.text) > 200 else "")
        lines += ["", e(preview)]
    return "\n".join(lines)


def event_line(event: AppealEvent, t: Translator, zone: ZoneInfo) -> str:
    key = f"appeal.event.{event.kind}"
    what = t(key) if t.has(key) else e(event.kind)
    line = f"{local_time(event.at, zone)} · {what}"
    if event.kind == "escalated" or event.kind == "called_up":
        line += f" → {level_name(event.level or Level.GRID, t)}"
    if event.kind == "rated" and event.data.get("rating"):
        line += f"：{t('appeal.rating.' + str(event.data['rating']))}"
    if event.note:
        line += f"\n    {e(event.note[:300])}"
    return line


def timeline_text(
    appeal: Appeal,
    events: Sequence[AppealEvent],
    media: Sequence[AppealMedia],
    t: Translator,
    zone: ZoneInfo,
    policy: AppealPolicy,
) -> str:
    head = resident_summary(appeal, t, zone, policy)
    body = "\n".join(event_line(ev, t, zone) for ev in events[-30:])
    text = f"{head}\n\n<b>{t('appeal.card.timeline')}</b>\n{body}"
    # Telegram caps messages at 4096 characters; keep the newest events.
    while len(text) > 3900 and events:
        events = events[1:]
        body = "\n".join(event_line(ev, t, zone) for ev in events[-30:])
        text = f"{head}\n\n<b>{t('appeal.card.timeline')}</b>\n…\n{body}"
    return text


async def resident_media(session: AsyncSession, appeal: Appeal) -> list[AppealMedia]:
    if appeal.resident_id is None:
        return []
    rows = await session.execute(
        select(AppealMedia)
        .where(AppealMedia.appeal_id == appeal.id, AppealMedia.added_by == appeal.resident_id)
        .order_by(AppealMedia.id)
    )
    return list(rows.scalars().all())


async def task_card(
    session: AsyncSession,
    appeal: Appeal,
    viewer_id: int,
    t: Translator,
    zone: ZoneInfo,
    policy: AppealPolicy,
    now: datetime,
    *,
    headline: str = "",
    timeline: bool = False,
) -> str:
    """The staff card as the viewer may see it: the resident's name and phone only for
    the owner (首问负责), optionally followed by the appeal's history."""
    media = await resident_media(session, appeal)
    owner = appeal.owner_id is not None and appeal.owner_id == viewer_id
    resident = await session.get(User, appeal.resident_id) if owner and appeal.resident_id else None
    text = staff_card(
        appeal,
        await place_of(session, appeal),
        t,
        zone,
        policy,
        photos=sum(1 for m in media if m.kind == "photo"),
        voices=sum(1 for m in media if m.kind == "voice"),
        resident=resident,
        show_contact=owner,
        overdue=appeal.overdue(now),
        headline=headline,
    )
    if not timeline:
        return text
    events: Sequence[AppealEvent] = (
        (
            await session.execute(
                select(AppealEvent)
                .where(AppealEvent.appeal_id == appeal.id)
                .order_by(AppealEvent.id)
            )
        )
        .scalars()
        .all()
    )
    lines = [event_line(ev, t, zone) for ev in events[-30:]]
    head = f"{text}\n\n<b>{t('appeal.card.timeline')}</b>\n"
    while lines and len(head) + sum(len(x) + 1 for x in lines) > MAX_CARD:
        lines = lines[1:]
    if len(lines) < len(events):
        lines.insert(0, "…")
    return head + "\n".join(lines)


# How the staff buttons are laid out; which of them a viewer gets is the domain's rule.
BUTTON_ROWS: tuple[tuple[Action, ...], ...] = (
    (Action.ACCEPT,),
    (Action.PROGRESS, Action.RESOLVE),
    (Action.REJECT, Action.TRANSFER, Action.CALL_UP),
    (Action.OPEN,),
)


def task_buttons(appeal: Appeal, staffing: Staffing, t: Translator) -> InlineKeyboardMarkup:
    """The buttons ``staffing`` may press on this appeal now, and no others."""
    allowed = set(allowed_actions(appeal, staffing))

    def button(action: Action) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=t(f"appeal.button.{action.value}"),
            callback_data=TaskAction(action=action.value, appeal_id=appeal.id).pack(),
        )

    rows = [[button(a) for a in row if a in allowed] for row in BUTTON_ROWS]
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def rating_buttons(appeal: Appeal, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(f"appeal.rating.{r.value}"),
                    callback_data=RateAction(appeal_id=appeal.id, rating=r.value).pack(),
                )
                for r in Rating
            ]
        ]
    )


def open_button(appeal: Appeal, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("appeal.button.timeline"),
                    callback_data=AppealOpen(appeal_id=appeal.id).pack(),
                )
            ]
        ]
    )


def is_final(appeal: Appeal) -> bool:
    return appeal.state in (State.CLOSED, State.REJECTED, State.CANCELLED)
