"""Who may send a notice to which part of the hierarchy, and manage one once sent: the
one place the dialogs, the buttons on the progress message and the service all ask."""

from __future__ import annotations

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


def may_manage(
    staffing: Staffing, notice: Notice | None, node: Node | None
) -> NoticeProblem | None:
    """Pause, resume or cancel: the author, or an admin covering the notice's node."""
    if notice is None or node is None:
        return NoticeProblem.NOT_FOUND
    if notice.author_id != staffing.user_id and not staffing.covers(node, (Role.ADMIN,)):
        return NoticeProblem.NOT_ALLOWED
    if notice.state in (NoticeState.DONE, NoticeState.CANCELLED):
        return NoticeProblem.FINISHED
    return None


def actions(staffing: Staffing, notice: Notice, node: Node | None) -> list[str]:
    """The buttons the progress message offers now."""
    if may_manage(staffing, notice, node) is not None:
        return []
    toggle = "resume" if notice.state == NoticeState.PAUSED else "pause"
    return [toggle, "cancel"]
