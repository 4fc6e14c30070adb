"""What the council tells the whole community, through the notices engine: the reminders
(the call for topics, the agenda, time and place with the map pin), a moved meeting, and
a vote's result. Each goes to the council's subscribers (and the community's staff), in
the name of the staff member who arranged the meeting, or of the bot itself."""

from __future__ import annotations

from typing import Any

from bot.dialogs.council.views import reminder_text, result_text, rsvp_actions, when
from bot.dialogs.notices.written import send_text_notice
from bot.i18n import Translator
from storage.council import CouncilService, Due, Meeting, ReminderKind, TopicState, Vote
from storage.notices import AudienceRole
from storage.notices.service import SYSTEM, NoticeError
from storage.services import Services

AUDIENCE = [AudienceRole.COUNCIL, AudienceRole.STAFF]


def _venue(t: Translator, meeting: Meeting, community: str) -> dict[str, Any] | None:
    if meeting.latitude is None or meeting.longitude is None:
        return None
    return {
        "latitude": meeting.latitude,
        "longitude": meeting.longitude,
        "title": t("council.venue_title", community=community),
        "address": meeting.place or community,
    }


async def send_reminder(services: Services, t: Translator, due: Due) -> None:
    service = services.get(CouncilService)
    meeting, kind = due.meeting, due.reminder.kind
    community = await services.hierarchy.get(meeting.community_id)
    if community is None:
        due.reminder.outcome = "skipped"
        return
    agenda = (
        await service.topics(meeting.id, states=(TopicState.ACCEPTED,))
        if kind == ReminderKind.AGENDA
        else []
    )
    body, title = reminder_text(
        t,
        kind,
        meeting,
        community.name,
        service.policy.zone,
        agenda=agenda,
        cutoff=meeting.starts_at - service.policy.topic_cutoff,
    )
    try:
        notice = await send_text_notice(
            services,
            author_id=meeting.host_id or SYSTEM,
            node=community,
            roles=AUDIENCE,
            body=body,
            title=title,
            actions=rsvp_actions(meeting.id, propose=kind == ReminderKind.TOPICS),
            venue=_venue(t, meeting, community.name) if kind == ReminderKind.VENUE else None,
        )
    except NoticeError:
        due.reminder.outcome = "nobody"  # a community nobody lives in yet
        return
    due.reminder.notice_id = notice.id


async def announce_move(
    services: Services, t: Translator, meeting: Meeting, reason: str | None = None
) -> int:
    service = services.get(CouncilService)
    community = await services.hierarchy.get(meeting.community_id)
    assert community is not None
    title = t("council.moved_title", community=community.name)
    body = (
        title
        + "\n"
        + t(
            "council.moved",
            when=when(meeting, service.policy.zone),
            place=meeting.place or t("council.place_unset"),
            reason=reason or meeting.moved_reason or "",
        )
    )
    try:
        notice = await send_text_notice(
            services,
            author_id=meeting.host_id or SYSTEM,
            node=community,
            roles=AUDIENCE,
            body=body,
            title=title,
            actions=rsvp_actions(meeting.id),
        )
    except NoticeError:
        return 0
    return notice.recipients


async def publish_result(services: Services, t: Translator, vote: Vote) -> int:
    service = services.get(CouncilService)
    meeting = await service.meeting(vote.meeting_id)
    assert meeting is not None
    community = await services.hierarchy.get(meeting.community_id)
    assert community is not None
    body, title = result_text(t, vote, community.name)
    try:
        notice = await send_text_notice(
            services,
            author_id=vote.opened_by,
            node=community,
            roles=AUDIENCE,
            body=body,
            title=title,
        )
    except NoticeError:
        return 0
    return notice.recipients
