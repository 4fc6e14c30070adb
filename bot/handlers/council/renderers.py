"""How council messages to one person go out: a proposer hears what became of their topic
(on the agenda, merged into another, declined with the reason, or carried over to the
next meeting still waiting for review); each voter gets the ballot card (the question and
one button per option), edited to the result once the vote closed; a decision's owners
hear it is theirs, that it is due soon, that it is overdue (staff too); and when it is
done, everyone who proposed, attended or voted hears so."""

from __future__ import annotations

from typing import Any

from aiogram.exceptions import TelegramBadRequest

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.dialogs.council.views import ballot_keyboard, ballot_text, closed_card_text
from bot.formatting import e, local_time
from storage.council import (
    BALLOT,
    BALLOT_CLOSED,
    TOPIC_NEWS,
    CouncilService,
    TopicState,
    VoteState,
)
from storage.council.decisions import (
    DECISION_DONE,
    DECISION_NEW,
    DECISION_OVERDUE,
    DECISION_REMIND,
    DecisionService,
)
from storage.council.models import DecisionState


async def render_topic_news(r: Rendering) -> list[Send]:
    service = r.services.get(CouncilService)
    topic = await service.topic(r.message.subject_id or 0)
    carried_from = r.params.get("carried_from")
    if topic is None:
        raise Gone("topic deleted")
    if carried_from:
        if topic.state != TopicState.OPEN:  # decided since: that is news of its own
            raise Gone("decided since it was carried over")
        news = "carried"
    elif topic.state == TopicState.OPEN:
        raise Gone("no decision to tell")
    else:
        news = topic.state
    meeting = await service.meeting(topic.meeting_id)
    assert meeting is not None
    before = await service.meeting(int(carried_from)) if carried_from else None
    fields = {
        "text": e(topic.text) or r.t("council.voice_topic"),
        "when": local_time(meeting.starts_at, service.policy.zone),
        "reason": e(topic.reason or ""),
        "into": "",
        "before": local_time(before.starts_at, service.policy.zone) if before else "",
    }
    if topic.merged_into_id:
        target = await service.topic(topic.merged_into_id)
        fields["into"] = e(target.text) if target else ""
    text = r.t(f"council.topic_news.{news}", **fields)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def render_ballot(r: Rendering) -> list[Send]:
    service = r.services.get(CouncilService)
    vote = await service.vote(r.message.subject_id or 0)
    if vote is None or vote.state != VoteState.OPEN:
        raise Gone("the vote closed before the card went out")
    meeting = await service.meeting(vote.meeting_id)
    community = await r.services.hierarchy.get(meeting.community_id) if meeting else None
    text = ballot_text(r.t, vote, community.name if community else "", service.policy.zone)
    markup = ballot_keyboard(r.t, vote, await service.choice_of(vote.id, r.chat_id))
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text, parse_mode=None, reply_markup=markup)]


async def render_closed_ballot(r: Rendering) -> list[Send]:
    """The card edited to what the vote came to, its buttons gone."""
    service = r.services.get(CouncilService)
    vote = await service.vote(r.message.subject_id or 0)
    message_id = r.params.get("message_id")
    if vote is None or vote.state != VoteState.CLOSED or not isinstance(message_id, int):
        raise Gone("no closed vote to show")
    text = closed_card_text(r.t, await service.closed_card(vote, r.chat_id))
    chat = r.chat_id

    async def edit() -> Any:
        try:
            return await r.bot.edit_message_text(
                text=text, chat_id=chat, message_id=message_id, parse_mode=None, reply_markup=None
            )
        except TelegramBadRequest as exc:
            # The resident deleted the card: there is nothing left to edit, or to retry.
            raise Gone(exc.message) from exc

    return [edit]


def _decision_renderer(key: str) -> Renderer:
    async def render(r: Rendering) -> list[Send]:
        service = r.services.get(DecisionService)
        decision = await service.decision(r.message.subject_id or 0)
        if decision is None:
            raise Gone("decision deleted")
        if key != "done" and decision.state == DecisionState.DONE:
            raise Gone("done already")
        meeting = await service.meeting(decision.meeting_id)
        community = await r.services.hierarchy.get(meeting.community_id) if meeting else None
        text = r.t(
            f"council.decision.{key}_news",
            community=e(community.name) if community else "",
            number=decision.number,
            what=e(decision.what),
            due=local_time(decision.due_at, service.policy.zone),
            percent=decision.percent,
        )
        chat = r.chat_id
        return [lambda: r.bot.send_message(chat, text)]

    return render


RENDERERS: dict[str, Renderer] = {
    TOPIC_NEWS: render_topic_news,
    BALLOT: render_ballot,
    BALLOT_CLOSED: render_closed_ballot,
    DECISION_NEW: _decision_renderer("new"),
    DECISION_REMIND: _decision_renderer("remind"),
    DECISION_OVERDUE: _decision_renderer("overdue"),
    DECISION_DONE: _decision_renderer("done"),
}
