"""How the council reads in the chat: the meeting's time and place, the reminders' texts
(plain text: they go out as notices, with entities, never HTML), the RSVP and ballot
buttons (the chosen one marked), and a vote's result."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.dialogs.council.callbacks import CouncilPress
from bot.formatting import MESSAGE_LIMIT, local_time, visible_length
from bot.i18n import Translator, translator
from bot.kit.choice import CHOSEN
from bot.kit.choice import chosen as marked_if
from storage.council import Answer, ClosedCard, Meeting, ReminderKind, TopicRow, Vote
from storage.council.models import Decision, DecisionState, Report

ANSWERS = (Answer.YES, Answer.NO, Answer.MAYBE)
MARK = CHOSEN  # how the chosen answer or option reads (bot/kit/choice.py)


def short(text: str, size: int = 30) -> str:
    """A button's label: the start of a text whose whole is one tap away, marked as cut."""
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


def when(meeting: Meeting, zone: ZoneInfo) -> str:
    return local_time(meeting.starts_at, zone)


def day_of(t: Translator, meeting: Meeting | None, zone: ZoneInfo) -> str:
    """The meeting's day ("11月25日"): which meeting a list is about, whatever month it is."""
    if meeting is None:
        return ""
    local = meeting.starts_at.astimezone(zone)
    return t("council.day", m=local.month, d=local.day)


def place_of(t: Translator, meeting: Meeting) -> str:
    return meeting.place or t("council.place_unset")


def rsvp_actions(meeting_id: int, *, propose: bool = False) -> list[tuple[str, str]]:
    """The buttons under a council notice, as (locale key, callback data)."""
    buttons = [
        (f"council.rsvp.{answer.value}", CouncilPress(action="rsvp", ref=meeting_id, arg=i).pack())
        for i, answer in enumerate(ANSWERS)
    ]
    if propose:
        buttons.append(
            ("council.propose.button", CouncilPress(action="propose", ref=meeting_id).pack())
        )
    return buttons


def marked(
    t: Translator, actions: Sequence[tuple[str, str]], chosen: str | None
) -> InlineKeyboardMarkup:
    """The notice's buttons in the presser's language, the chosen answer marked."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=marked_if(t(label), data == chosen), callback_data=data)]
            for label, data in actions
        ]
    )


def rsvp_data(meeting_id: int, answer: str | None) -> str | None:
    if answer is None:
        return None
    index = [a.value for a in ANSWERS].index(answer)
    return CouncilPress(action="rsvp", ref=meeting_id, arg=index).pack()


AGENDA_ITEM = 80  # characters of a topic in an agenda list; the whole is in /council
AGENDA_ITEMS = 20  # topics listed in one message (a message holds 4096 characters)


def agenda_lines(t: Translator, rows: Sequence[TopicRow], *, outcomes: bool = False) -> str:
    """The agenda as a list that always fits in one message: long topics and a long list
    are shortened visibly (…, "and N more"), and /council has each in full. With
    ``outcomes``, each item says what the meeting made of it, where staff recorded it."""
    if not rows:
        return t("council.agenda_empty")
    lines = []
    for i, row in enumerate(rows[:AGENDA_ITEMS], 1):
        fields = {
            "i": i,
            "text": short(row.topic.text or t("council.voice_topic"), AGENDA_ITEM),
            "n": row.supports,
        }
        if outcomes and row.topic.outcome:
            outcome = t(f"council.outcome.{row.topic.outcome}")
            lines.append(t("council.agenda_outcome", outcome=outcome, **fields))
        else:
            lines.append(t("council.agenda_line", **fields))
    if len(rows) > AGENDA_ITEMS:
        lines.append(t("council.agenda_more", n=len(rows) - AGENDA_ITEMS))
    return "\n".join(lines)


def reminder_text(
    t: Translator,
    kind: str,
    meeting: Meeting,
    community: str,
    zone: ZoneInfo,
    *,
    agenda: Sequence[TopicRow] = (),
    cutoff: datetime | None = None,
) -> tuple[str, str]:
    """(body, title): the title is in the body and reads bold."""
    title = t(f"council.reminder.{kind}_title", community=community)
    fields = {
        "when": when(meeting, zone),
        "place": place_of(t, meeting),
        "cutoff": local_time(cutoff, zone),
        "agenda": agenda_lines(t, agenda),
    }
    body = title + "\n" + t(f"council.reminder.{kind}", **fields)
    if kind == ReminderKind.TOPICS and meeting.moved_reason:
        body += "\n" + t("council.moved_note", reason=meeting.moved_reason)
    return body, title


def option_label(t: Translator, option: str) -> str:
    """Default options are stored as "=key" (shown in each reader's language); others as
    the staff member wrote them."""
    if option.startswith("="):
        return t(f"council.option.{option[1:]}")
    return option


def ballot_keyboard(t: Translator, vote: Vote, chosen: int | None) -> InlineKeyboardMarkup:
    return _ballot_keyboard(t.language, vote.id, tuple(vote.options), vote.live, chosen)


# A burst of ballots re-marks a vote's card thousands of times with one of a handful of
# keyboards (an option marked, per language): each is built once.
@lru_cache(maxsize=256)
def _ballot_keyboard(
    language: str, vote_id: int, options: tuple[str, ...], live: bool, chosen: int | None
) -> InlineKeyboardMarkup:
    t = translator(language)
    rows = [
        [
            InlineKeyboardButton(
                text=marked_if(option_label(t, option), i == chosen),
                callback_data=CouncilPress(action="ballot", ref=vote_id, arg=i).pack(),
            )
        ]
        for i, option in enumerate(options)
    ]
    if live:
        rows.append(
            [
                InlineKeyboardButton(
                    text=t("council.vote.tally"),
                    callback_data=CouncilPress(action="tally", ref=vote_id).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def ballot_text(t: Translator, vote: Vote, community: str, zone: ZoneInfo) -> str:
    closes = (
        t("council.vote.closes", at=local_time(vote.closes_at, zone))
        if vote.closes_at
        else t("council.vote.closes_by_staff")
    )
    rules = [closes, t("council.vote.live" if vote.live else "council.vote.hidden")]
    if vote.attendees_only:
        rules.append(t("council.vote.attendees_only"))
    return t(
        "council.vote.card",
        community=community,
        question=vote.question,
        rules="\n".join(rules),
    )


def tally_lines(t: Translator, vote: Vote, counts: Sequence[int]) -> str:
    total = sum(counts) or 1
    return "\n".join(
        t(
            "council.vote.count_line",
            option=option_label(t, option),
            n=n,
            pct=f"{100 * n / total:.0f}",
        )
        for option, n in zip(vote.options, counts, strict=True)
    )


def result_text(
    t: Translator, vote: Vote, community: str, title_key: str = "council.vote.result_title"
) -> tuple[str, str]:
    """(body, title) of the published result."""
    result = vote.result or {}
    counts = list(result.get("counts") or [0] * len(vote.options))
    title = t(title_key, community=community)
    quorum = ""
    if vote.quorum:
        quorum = t(
            "council.vote.quorum_met" if result.get("quorum_met") else "council.vote.quorum_missed",
            quorum=vote.quorum,
        )
    body = "\n".join(
        part
        for part in (
            title,
            vote.question,
            tally_lines(t, vote, counts),
            t(
                "council.vote.turnout",
                ballots=sum(counts),
                chat=result.get("chat", 0),
                paper=result.get("paper", 0),
                eligible=result.get("eligible", 0),
            ),
            quorum,
        )
        if part
    )
    return body, title


def closed_card_text(t: Translator, card: ClosedCard) -> str:
    """A ballot card once its vote is over: the result, and what the holder voted."""
    body, _ = result_text(t, card.vote, card.community, "council.vote.closed_title")
    if card.choice is not None and 0 <= card.choice < len(card.vote.options):
        mine = t("council.vote.yours", option=option_label(t, card.vote.options[card.choice]))
    else:
        mine = t("council.vote.yours_none")
    return body + "\n" + mine


REPORTS_SHOWN = 10  # the latest progress reports under a decision
NOTICE_ROOM = 300  # characters kept for the line a screen may show above (a notice)


def decision_status(t: Translator, decision: Decision, now: datetime) -> str:
    if decision.state == DecisionState.DONE:
        return t("council.decision.done")
    if decision.due_at <= now:
        return t("council.decision.overdue", percent=decision.percent)
    return t("council.decision.open", percent=decision.percent)


def decision_items(
    t: Translator, decisions: Sequence[Decision], now: datetime
) -> list[tuple[int, str]]:
    """Decisions as picker buttons: the start of what, and how it stands."""
    return [(d.id, short(d.what, 24) + " · " + decision_status(t, d, now)) for d in decisions]


def decision_text(
    t: Translator,
    decision: Decision,
    owner: str,
    zone: ZoneInfo,
    now: datetime,
    reports: Sequence[Report] = (),
) -> str:
    """A decision in full (HTML: the dialogs' parse mode), with its progress reports."""
    head = t(
        "council.decision.card",
        number=decision.number,
        what=html.escape(decision.what),
        owner=html.escape(owner),
        due=local_time(decision.due_at, zone),
        status=decision_status(t, decision, now),
    )
    # The latest reports that fit one message beside the screen's notice; the rest counted.
    size = visible_length(head) + NOTICE_ROOM
    shown: list[str] = []
    for report in reversed(reports[-REPORTS_SHOWN:]):
        line = t(
            "council.decision.report_line",
            at=local_time(report.at, zone),
            percent=report.percent,
            text=html.escape(report.text) or t("council.decision.photo_only"),
        )
        size += visible_length(line) + 1
        if size > MESSAGE_LIMIT:
            break
        shown.insert(0, line)
    lines = [head]
    if len(reports) > len(shown):
        lines.append(t("council.decision.earlier", n=len(reports) - len(shown)))
    lines.extend(shown)
    return "\n".join(lines)
