"""How council messages to one person go out: a proposer hears what became of their topic
(on the agenda, merged into another, or declined with the reason), and each voter gets
the ballot card: the question and one button per option."""

from __future__ import annotations

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.dialogs.council.views import ballot_keyboard, ballot_text
from bot.formatting import e, local_time
from storage.council import BALLOT, TOPIC_NEWS, CouncilService, TopicState, VoteState


async def render_topic_news(r: Rendering) -> list[Send]:
    service = r.services.get(CouncilService)
    topic = await service.topic(r.message.subject_id or 0)
    if topic is None or topic.state == TopicState.OPEN:
        raise Gone("no decision to tell")
    meeting = await service.meeting(topic.meeting_id)
    assert meeting is not None
    fields = {
        "text": e(topic.text) or r.t("council.voice_topic"),
        "when": local_time(meeting.starts_at, service.policy.zone),
        "reason": e(topic.reason or ""),
        "into": "",
    }
    if topic.merged_into_id:
        target = await service.topic(topic.merged_into_id)
        fields["into"] = e(target.text) if target else ""
    text = r.t(f"council.topic_news.{topic.state}", **fields)
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


RENDERERS: dict[str, Renderer] = {
    TOPIC_NEWS: render_topic_news,
    BALLOT: render_ballot,
}
