"""招募令: community staff write a recruitment call (title, what it is about, the skills
wanted, a quota and a deadline), see how many residents it reaches, and publish it: it
goes out through the notices engine to the community's residents (quiet hours, pacing,
progress and the archive as for any notice) with a 我要报名 button under it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from aiogram.types import CallbackQuery, ContentType, Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import (
    Back,
    Button,
    Column,
    Row,
)

from bot.dialogs.notices.written import send_text_notice
from bot.dialogs.partners.callbacks import PartnerPress
from bot.dialogs.partners.common import checked, multiselect, own_community
from bot.dialogs.partners.states import PartnerAdmin, PartnerCall
from bot.dialogs.partners.views import skills_text
from bot.formatting import e
from bot.kit.context import Ctx, ctx
from bot.kit.menu import close
from bot.kit.notice import clear_notice, notice, say
from bot.kit.text import L, notice_text
from bot.kit.widgets import picker
from storage.notices import AudienceRole, NoticeService
from storage.partners import CallDraft, PartnerError, PartnerService
from storage.partners.service import MAX_TEXT

DAYS = (3, 7, 14, 30)


def _deadline(c: Ctx, days: int) -> datetime:
    """The end of the day ``days`` from today, local time."""
    local = c.clock.now().astimezone(c.zone).date() + timedelta(days=days)
    return datetime.combine(local, time(23, 59), tzinfo=c.zone)


async def on_title(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    title = (message.text or "").strip()
    if not 2 <= len(title) <= 80:
        say(manager, c.t("partner.call.title_bad"))
        return
    manager.dialog_data["title"] = title
    clear_notice(manager)
    await manager.next()


async def on_description(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    text = (message.text or "").strip()
    if not text or len(text) > MAX_TEXT:
        say(manager, c.t("partner.call.description_bad", max=MAX_TEXT))
        return
    manager.dialog_data["description"] = text
    clear_notice(manager)
    await manager.next()


async def on_skills_next(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    if not checked(manager, "call_skills"):
        say(manager, ctx(manager).t("partner.apply.skills_none"))
        return
    clear_notice(manager)
    await manager.next()


async def on_quota(message: Message, _: MessageInput, manager: DialogManager) -> None:
    c = ctx(manager)
    text = (message.text or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        say(manager, c.t("partner.call.quota_bad"))
        return
    manager.dialog_data["quota"] = int(text)
    clear_notice(manager)
    await manager.next()


async def on_days(call: CallbackQuery, _: Any, manager: DialogManager, item_id: str) -> None:
    if not item_id.isdigit() or int(item_id) not in DAYS:
        return
    manager.dialog_data["days"] = int(item_id)
    await manager.next()


def body(c: Ctx, data: dict[str, Any], skills: list[str], deadline: datetime) -> str:
    """The notice's text as residents read it: plain text (notices go out with entities,
    not HTML), the title made bold by its entity."""
    return c.t(
        "partner.call.body",
        title=data["title"],
        description=data["description"],
        skills=skills_text(c.t, skills),
        quota=data["quota"],
        deadline=deadline.strftime("%m-%d"),
    )


async def on_publish(call: CallbackQuery, _: Button, manager: DialogManager) -> None:
    c = ctx(manager)
    data = manager.dialog_data
    community = await own_community(c)
    if community is None:
        say(manager, c.t("partner.admin.no_community"))
        return
    skills = checked(manager, "call_skills")
    deadline = _deadline(c, int(data.get("days", 7)))
    service = c.services.get(PartnerService)
    try:
        recruitment = await service.create_call(
            c.staffing,
            community,
            CallDraft(
                title=str(data.get("title", "")),
                description=str(data.get("description", "")),
                skills=tuple(skills),
                quota=int(data.get("quota", 0)),
                deadline=deadline,
            ),
        )
    except PartnerError as exc:
        say(manager, c.t(f"partner.problem.{exc.problem.value}"))
        return
    sent = await send_text_notice(
        c.services,
        author_id=c.user_id,
        node=community,
        roles=[AudienceRole.RESIDENTS],
        body=body(c, data, skills, deadline),
        title=str(data["title"]),
        actions=[
            ("partner.call.apply_button", PartnerPress(action="call", ref=recruitment.id).pack())
        ],
    )
    recruitment.notice_id = sent.id
    await manager.start(
        PartnerAdmin.main, data={"notice": c.t("partner.call.published", n=sent.recipients)}
    )


async def getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    c = ctx(dialog_manager)
    data = dialog_manager.dialog_data
    policy = c.services.get(PartnerService).policy
    out: dict[str, Any] = {
        "notice": notice(dialog_manager),
        "skills": [(s, c.t(f"partner.skill.{s}")) for s in policy.skills],
        "days": [(str(d), c.t("partner.call.days", n=d)) for d in DAYS],
    }
    if data.get("days"):
        community = await own_community(c)
        plan = (
            await c.services.get(NoticeService).plan(
                community, [AudienceRole.RESIDENTS], False, author_id=c.user_id
            )
            if community
            else None
        )
        skills = checked(dialog_manager, "call_skills")
        out["preview"] = e(body(c, data, skills, _deadline(c, int(data["days"]))))
        out["count"] = plan.count if plan else 0
    return out


def _cancel(n: int) -> Button:
    return Button(L("partner.cancel_form"), id=f"call_cancel_{n}", on_click=close)


def call_dialog() -> Dialog:
    return Dialog(
        Window(
            notice_text(),
            L("partner.call.ask_title"),
            MessageInput(on_title, content_types=ContentType.ANY),
            _cancel(1),
            state=PartnerCall.title,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.call.ask_description"),
            MessageInput(on_description, content_types=ContentType.ANY),
            Row(Back(L("partner.back"), id="call_back_2"), _cancel(2)),
            state=PartnerCall.description,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.call.ask_skills"),
            multiselect("call_skills", "skills"),
            Row(
                Back(L("partner.back"), id="call_back_3"),
                Button(L("partner.next"), id="call_skills_next", on_click=on_skills_next),
            ),
            state=PartnerCall.skills,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.call.ask_quota"),
            MessageInput(on_quota, content_types=ContentType.ANY),
            Row(Back(L("partner.back"), id="call_back_4"), _cancel(4)),
            state=PartnerCall.quota,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.call.ask_deadline"),
            picker("call_days", "days", on_days, width=2),
            Row(Back(L("partner.back"), id="call_back_5"), _cancel(5)),
            state=PartnerCall.deadline,
            getter=getter,
        ),
        Window(
            notice_text(),
            L("partner.call.confirm"),
            Column(
                Button(L("partner.call.publish"), id="call_publish", on_click=on_publish),
                Back(L("partner.back"), id="call_back_6"),
                _cancel(6),
            ),
            state=PartnerCall.confirm,
            getter=getter,
        ),
    )
