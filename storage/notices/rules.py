"""Who may send a notice to which part of the hierarchy, and manage one once sent: the
one place the dialogs, the buttons on the progress message and the service all ask."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from storage.hierarchy import Node, NodeKind
from storage.notices.models import Notice, NoticeState
from storage.roles import Role, Staffing

# Grid workers pass on notices; writing them is for community level and up.
SENDERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.ADMIN)


class NoticeProblem(StrEnum):
    NOT_ALLOWED = "not_allowed"
    NOT_FOUND = "not_found"
    FINISHED = "finished"
    EMPTY = "empty"


def may_send(staffing: Staffing, node: Node | None) -> NoticeProblem | None:
    if node is None:
        return NoticeProblem.NOT_FOUND
    if node.node_kind is NodeKind.BUILDING or not staffing.covers(node, SENDERS):
        return NoticeProblem.NOT_ALLOWED
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
