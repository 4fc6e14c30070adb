"""How an appeal reads in the chat: cards for staff, summaries and timelines for
residents, and the buttons a staff member may press on it. Shared by pushes, /tasks and
"my appeals", so an appeal looks the same everywhere.

Whatever a person wrote is readable in full one tap away: cards and windows show a
preview that says how long the whole text is, and "📄 详情 / 全文" sends everything, split
across messages under Telegram's limit, never cut."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dialogs.appeals.callbacks import AppealOpen, RateAction, TaskAction
from bot.dialogs.channels.views import caller_lines
from bot.formatting import (
    MESSAGE_LIMIT,
    e,
    local_time,
    node_path,
    span,
    split_messages,
    visible_length,
)
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
from storage.appeals.rules import sees_contact, staff_level
from storage.hierarchy import HierarchyRepo
from storage.roles import Role, Staffing, StaffRepo
from storage.users import User

PREVIEW = 300  # characters of a text on a card or in a window
NOTE_PREVIEW = 160  # of a note in a timeline
RECENT_EVENTS = 12

_LEVEL_ROLE = {
    Level.GRID: Role.WORKER,
    Level.COMMUNITY: Role.COMMUNITY_STAFF,
    Level.STREET: Role.STREET_STAFF,
    Level.DISTRICT: Role.DISTRICT_STAFF,
}


@dataclass(frozen=True)
class Viewing:
    """Everything rendering needs besides the appeal: where, in which language, when."""

    session: AsyncSession
    t: Translator
    zone: ZoneInfo
    policy: AppealPolicy
    now: datetime


def state_name(state: str, t: Translator) -> str:
    return t(f"appeal.state.{state}")


def level_name(level: str, t: Translator) -> str:
    return t(f"appeal.level.{level}")


def category_name(appeal: Appeal, policy: AppealPolicy, t: Translator) -> str:
    return e(policy.category_name(appeal.category, t.language))


def filed_text(appeal: Appeal, policy: AppealPolicy, t: Translator, zone: ZoneInfo) -> str:
    """What the resident is told once the appeal is filed (in the form, or by the outbox
    when the form could not say it)."""
    if appeal.urgent:
        return t("appeal.notify.filed_urgent", number=appeal.number)
    return t(
        "appeal.notify.filed",
        number=appeal.number,
        category=category_name(appeal, policy, t),
        accept_by=local_time(appeal.first_accept_due, zone),
        resolve_by=local_time(appeal.first_resolve_due, zone),
    )


def preview(text: str, limit: int, t: Translator) -> tuple[str, bool]:
    """``text`` escaped, or its first ``limit`` characters and how long the whole is."""
    if len(text) <= limit:
        return e(text), False
    return e(text[:limit]) + t("appeal.card.more", n=len(text)), True


# --- who and where --------------------------------------------------------------------------


async def place_of(session: AsyncSession, appeal: Appeal) -> str:
    """The building (or grid) as an escaped path below the district."""
    repo = HierarchyRepo(session)
    node = await repo.get(appeal.building_id) if appeal.building_id else None
    node = node or await repo.get(appeal.grid_id)
    chain = await repo.ancestors(node) if node else []
    return node_path(chain[1:]) if len(chain) > 1 else node_path(chain)


async def owner_name(v: Viewing, appeal: Appeal) -> str:
    """ "赵丽娟（网格员）": the owner and the role they act in on this appeal."""
    t = v.t
    if appeal.owner_id is None:
        return "—"
    owner = await v.session.get(User, appeal.owner_id)
    staffing = await StaffRepo(v.session).staffing(appeal.owner_id)
    level = staff_level(staffing, appeal)
    role = t(f"roles.{_LEVEL_ROLE[level].value}") if level else t("appeal.card.staff")
    if owner is None:
        return role
    return t("appeal.card.who", name=e(owner.display_name), role=role)


async def owner_line(v: Viewing, appeal: Appeal) -> str:
    """ "办理人：赵丽娟（网格员）· 督办：通海社区" — who owns it and who supervises."""
    t = v.t
    parts = []
    if appeal.owner_id is not None:
        parts.append(t("appeal.card.owner", who=await owner_name(v, appeal)))
    if appeal.level_enum is not Level.GRID:
        node = await HierarchyRepo(v.session).get(appeal.level_node_id())
        where = e(node.name) if node else level_name(appeal.level, t)
        parts.append(t("appeal.card.supervisor", node=where))
    return " · ".join(parts)


async def holder_name(session: AsyncSession, appeal: Appeal, t: Translator) -> str:
    node = await HierarchyRepo(session).get(appeal.level_node_id())
    return e(node.name) if node else level_name(appeal.level, t)


# --- deadlines ------------------------------------------------------------------------------


def deadline_lines(appeal: Appeal, v: Viewing) -> list[str]:
    """The promise still to keep, overdue or not, and the holding level's own window
    where it is not the promise."""
    t, zone = v.t, v.zone
    lines = []
    overdue = appeal.overdue_by(v.now)
    if appeal.state in UNACCEPTED:
        lines.append(t("appeal.card.promise_accept", at=local_time(appeal.first_accept_due, zone)))
    elif appeal.state in WORKING and not appeal.reopened:
        lines.append(
            t("appeal.card.promise_resolve", at=local_time(appeal.first_resolve_due, zone))
        )
    elif appeal.state in WORKING and appeal.window_due:
        lines.append(t("appeal.card.reopen_by", at=local_time(appeal.window_due, zone)))
    if lines and overdue is not None:
        lines[-1] += t("appeal.card.overdue_by", span=span(overdue, t))
    promise = appeal.promise_due
    if (
        lines
        and appeal.level_enum is not Level.GRID
        and appeal.window_due is not None
        and promise is not None
        and appeal.window_due != promise
    ):
        lines.append(
            t(
                "appeal.card.window",
                level=level_name(appeal.level, t),
                at=local_time(appeal.window_due, zone),
            )
        )
    return lines


def short_deadline(appeal: Appeal, v: Viewing) -> str:
    """For one line of a list: ⚠️ with how long when overdue, else the time."""
    due = appeal.pending_due
    if due is None:
        return ""
    overdue = appeal.overdue_by(v.now)
    if overdue is not None:
        return v.t("appeal.card.list_overdue", span=span(overdue, v.t))
    return "⏰ " + due.astimezone(v.zone).strftime("%m-%d %H:%M")


# --- staff --------------------------------------------------------------------------------


async def resident_media(session: AsyncSession, appeal: Appeal) -> list[AppealMedia]:
    if appeal.resident_id is None:
        return []
    rows = await session.execute(
        select(AppealMedia)
        .where(AppealMedia.appeal_id == appeal.id, AppealMedia.added_by == appeal.resident_id)
        .order_by(AppealMedia.id)
    )
    return list(rows.scalars().all())


async def _card_head(
    v: Viewing, appeal: Appeal, viewer: Staffing, headline: str, *, full: bool
) -> tuple[list[str], bool]:
    t = v.t
    lines = [headline] if headline else []
    title = t(
        "appeal.card.title", number=appeal.number, category=category_name(appeal, v.policy, t)
    )
    if appeal.urgent:
        title += t("appeal.card.urgent")
    lines.append(title)
    lines.append(t("appeal.card.place", place=await place_of(v.session, appeal)))
    status = t("appeal.card.state", state=state_name(appeal.state, t))
    who = await owner_line(v, appeal)
    lines.append(f"{status} · {who}" if who else status)
    lines += deadline_lines(appeal, v)
    # From another channel (the 12345 hotline): where from, and the caller as a resident.
    origin = await caller_lines(v.session, appeal, t, contact=sees_contact(appeal, viewer))
    lines += origin
    if sees_contact(appeal, viewer) and not origin:
        resident = await v.session.get(User, appeal.resident_id) if appeal.resident_id else None
        name = e(resident.display_name) if resident else "—"
        phone = e(appeal.contact_phone) if appeal.contact_phone else t("appeal.card.no_phone")
        lines.append(t("appeal.card.contact", name=name, phone=phone))
    if appeal.latitude is not None and appeal.longitude is not None:
        lines.append(
            t("appeal.card.location", lat=f"{appeal.latitude:.5f}", lon=f"{appeal.longitude:.5f}")
        )
    media = await resident_media(v.session, appeal)
    attachments = []
    photos = sum(1 for m in media if m.kind == "photo")
    if photos:
        attachments.append(t("appeal.card.photos", n=photos))
    if any(m.kind == "voice" for m in media):
        attachments.append(t("appeal.card.voice"))
    if attachments:
        lines.append(" · ".join(attachments))
    level = staff_level(viewer, appeal)
    if (
        level is not None
        and list(Level).index(level) < list(Level).index(appeal.level_enum)
        and appeal.owner_id != viewer.user_id
        and appeal.is_open
    ):
        lines.append(t("appeal.card.held_above", node=await holder_name(v.session, appeal, t)))
    cut = False
    if appeal.text:
        body, cut = (e(appeal.text), False) if full else preview(appeal.text, PREVIEW, t)
        lines += ["", body]
    return lines, cut


async def task_card(v: Viewing, appeal: Appeal, viewer: Staffing, *, headline: str = "") -> str:
    """The staff card as ``viewer`` may see it (one message)."""
    lines, _ = await _card_head(v, appeal, viewer, headline, full=False)
    return "\n".join(lines)


async def events_of(session: AsyncSession, appeal: Appeal) -> Sequence[AppealEvent]:
    rows = await session.execute(
        select(AppealEvent).where(AppealEvent.appeal_id == appeal.id).order_by(AppealEvent.id)
    )
    return rows.scalars().all()


def event_line(event: AppealEvent, v: Viewing, *, full: bool) -> tuple[str, bool]:
    t = v.t
    key = f"appeal.event.{event.kind}"
    what = t(key) if t.has(key) else e(event.kind)
    line = f"{local_time(event.at, v.zone)} · {what}"
    if event.kind in ("escalated", "called_up"):
        line += f" → {level_name(event.level or Level.GRID, t)}"
    if event.data.get("channel"):
        line += t("channel.event_from", channel=e(str(event.data["channel"])))
    if event.kind == "rated" and event.data.get("rating"):
        line += t("common.colon") + t(f"appeal.rating.{event.data['rating']}")
    cut = False
    if event.note:
        note, cut = (e(event.note), False) if full else preview(event.note, NOTE_PREVIEW, t)
        line += f"\n    {note}"
    return line, cut


async def task_detail(
    v: Viewing, appeal: Appeal, viewer: Staffing, *, headline: str = ""
) -> tuple[str, bool]:
    """The card with the recent history, for one window or one message: (text, whether
    anything was shortened, so that a "full text" button is offered)."""
    lines, cut = await _card_head(v, appeal, viewer, headline, full=False)
    events = await events_of(v.session, appeal)
    history = [event_line(ev, v, full=False) for ev in events[-RECENT_EVENTS:]]
    cut = cut or any(c for _, c in history) or len(events) > RECENT_EVENTS
    body = [line for line, _ in history]
    if len(events) > RECENT_EVENTS:
        body.insert(0, v.t("appeal.card.earlier", n=len(events) - RECENT_EVENTS))
    text = "\n".join([*lines, "", f"<b>{v.t('appeal.card.timeline')}</b>", *body])
    while visible_length(text) > MESSAGE_LIMIT and len(body) > 1:
        body = body[1:]
        cut = True
        text = "\n".join([*lines, "", f"<b>{v.t('appeal.card.timeline')}</b>", "…", *body])
    return text, cut


async def full_pages(
    v: Viewing, appeal: Appeal, viewer: Staffing | None, *, headline: str = ""
) -> list[str]:
    """Everything: the card (for staff) or the summary (for the resident) with the whole
    text, then every event with every note in full, split into messages."""
    if viewer is not None:
        head, _ = await _card_head(v, appeal, viewer, headline, full=True)
    else:
        head = [headline] if headline else []
        head += resident_summary_lines(appeal, v, full=True)
    events = await events_of(v.session, appeal)
    blocks = ["\n".join(head), f"\n<b>{v.t('appeal.card.timeline')}</b>"]
    blocks += [event_line(ev, v, full=True)[0] for ev in events]
    pages = split_messages(blocks)
    if len(pages) > 1:
        pages = [
            f"{page}\n\n{v.t('appeal.card.page', page=i + 1, pages=len(pages))}"
            for i, page in enumerate(pages)
        ]
    return pages


# --- residents ----------------------------------------------------------------------------


def resident_summary_lines(appeal: Appeal, v: Viewing, *, full: bool) -> list[str]:
    t = v.t
    lines = [
        t("appeal.card.title", number=appeal.number, category=category_name(appeal, v.policy, t)),
        t("appeal.card.state_simple", state=state_name(appeal.state, t)),
        t("appeal.card.submitted", at=local_time(appeal.submitted_at, v.zone)),
        *deadline_lines(appeal, v),
    ]
    if appeal.text:
        body = e(appeal.text) if full else preview(appeal.text, PREVIEW, t)[0]
        lines += ["", body]
    return lines


async def resident_detail(v: Viewing, appeal: Appeal) -> tuple[str, bool]:
    """The resident's view for one window: (text, whether anything was shortened)."""
    lines = resident_summary_lines(appeal, v, full=False)
    cut = bool(appeal.text) and len(appeal.text) > PREVIEW
    events = await events_of(v.session, appeal)
    history = [event_line(ev, v, full=False) for ev in events[-RECENT_EVENTS:]]
    cut = cut or any(c for _, c in history) or len(events) > RECENT_EVENTS
    body = [line for line, _ in history]
    if len(events) > RECENT_EVENTS:
        body.insert(0, v.t("appeal.card.earlier", n=len(events) - RECENT_EVENTS))
    text = "\n".join([*lines, "", f"<b>{v.t('appeal.card.timeline')}</b>", *body])
    while visible_length(text) > MESSAGE_LIMIT and len(body) > 1:
        body = body[1:]
        cut = True
        text = "\n".join([*lines, "", f"<b>{v.t('appeal.card.timeline')}</b>", "…", *body])
    return text, cut


# --- buttons ------------------------------------------------------------------------------

# How the staff buttons are laid out; which of them a viewer gets is the domain's rule.
BUTTON_ROWS: tuple[tuple[Action, ...], ...] = (
    (Action.ACCEPT, Action.ASSIGN, Action.SUPERVISE),
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
