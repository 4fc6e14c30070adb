"""Who may send a notice to which part of the hierarchy, and manage one once sent; what a
notice in each state may still cause. The one place the dialogs, the buttons on the
progress message, the receipt press, the jobs, the renderers and the service all ask."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from storage.hierarchy import Node, NodeKind
from storage.notices.models import Notice, NoticeState
from storage.roles import Role, Staffing

# Grid workers pass on notices; writing them is for community level and up.
SENDERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.ADMIN)
# A grid's door-visit list (households' names and phones) goes to its own workers only.
VISITOR = Role.WORKER


class NoticeProblem(StrEnum):
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    FINISHED = "finished"
    EMPTY = "empty"
    STOPPED = "stopped"  # cancelled or recalled: it takes no more receipts


def may_send(staffing: Staffing, node: Node | None) -> NoticeProblem | None:
    if node is None:
        return NoticeProblem.NOT_FOUND
    if node.node_kind is NodeKind.BUILDING or not staffing.covers(node, SENDERS):
        return NoticeProblem.NOT_ALLOWED
    return None


def may_see_visits(
    staffing: Staffing, notice: Notice | None, grid: Node | None
) -> NoticeProblem | None:
    """Whether this person gets the door-visit list of ``grid`` for a notice: the
    grid's own workers, once the lists went out and while the notice still causes them
    (the chat's push, the desk's page)."""
    if notice is None or grid is None or grid.node_kind is not NodeKind.GRID:
        return NoticeProblem.NOT_FOUND
    if notice.visits_sent_at is None or not staffing.covers(grid, (VISITOR,)):
        return NoticeProblem.NOT_ALLOWED
    if not may_still_cause(notice.state, Effect.VISITS):
        return NoticeProblem.STOPPED  # cancelled or recalled: the chat sends no list either
    return None


RECALL_WITHIN = timedelta(hours=48)  # Telegram lets a bot delete its messages this long


def may_manage(
    staffing: Staffing, notice: Notice | None, node: Node | None
) -> NoticeProblem | None:
    """Whether this person may act on a sent notice at all: its author, or an admin
    covering its node."""
    if notice is None or node is None:
        return NoticeProblem.NOT_FOUND
    if notice.author_id != staffing.user_id and not staffing.covers(node, (Role.ADMIN,)):
        return NoticeProblem.NOT_ALLOWED
    return None


def actions(state: str, failed: int, created_at: datetime, now: datetime) -> list[str]:
    """What can be done to a notice now: the buttons under its progress message, and
    the only presses the handler accepts."""
    if state == NoticeState.SCHEDULED:
        return ["reschedule", "cancel"]
    if state == NoticeState.SENDING:
        return ["pause", "cancel"]
    if state == NoticeState.PAUSED:
        return ["resume", "cancel"]
    if state in (NoticeState.DONE, NoticeState.CANCELLED):
        found = ["resend"] if state == NoticeState.DONE and failed > 0 else []
        if now - created_at < RECALL_WITHIN:
            found.append("recall")
        return found
    return []


class Effect(StrEnum):
    """What a notice causes after it is written."""

    COPY = "copy"  # a copy to each recipient
    RECEIPT = "receipt"  # a recipient's 已收到 is recorded
    REMINDER = "reminder"  # the one reminder to those who did not press it
    VISITS = "visits"  # each grid worker's list of households still to visit


_EVERYTHING = frozenset(Effect)
_FOLLOW_UPS = frozenset({Effect.RECEIPT, Effect.REMINDER, Effect.VISITS})
# What a notice in each state causes now. A cancelled or recalled notice causes nothing
# more: no reminder, no door-visit list (names and phones) and no receipt for a notice
# its sender stopped. A paused one takes the receipts of those it reached (they did read
# it; refused now, they would have to press again and be reminded), and holds the rest.
_NOW: dict[str, frozenset[Effect]] = {
    NoticeState.SCHEDULED: frozenset(),
    NoticeState.SENDING: _EVERYTHING,
    NoticeState.PAUSED: frozenset({Effect.RECEIPT}),
    NoticeState.DONE: _FOLLOW_UPS,  # a resend moves it back to sending first
    NoticeState.CANCELLED: frozenset(),
    NoticeState.RECALLED: frozenset(),
}
# ... and once it starts (scheduled) or is resumed (paused): held until then.
_HELD: dict[str, frozenset[Effect]] = {
    NoticeState.SCHEDULED: _EVERYTHING,
    NoticeState.PAUSED: _EVERYTHING,
}


def causes_now(state: str, effect: Effect) -> bool:
    """Whether a notice in ``state`` causes ``effect`` now: the jobs start it, a receipt
    is recorded."""
    return effect in _NOW.get(state, frozenset())


def may_still_cause(state: str, effect: Effect) -> bool:
    """Whether a notice in ``state`` may still cause ``effect``, now or once it starts or
    resumes: a message of that effect already on its way goes; otherwise it is dropped."""
    return causes_now(state, effect) or effect in _HELD.get(state, frozenset())


def states_causing(effect: Effect) -> list[str]:
    """The states in which ``effect`` happens now (for the jobs' queries)."""
    return [state for state, effects in _NOW.items() if effect in effects]
