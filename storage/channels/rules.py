"""Who may manage a channel, and what a channel's key may file and read: the one place
that decides. The service refuses with these; the chat derives its buttons from them."""

from __future__ import annotations

from enum import StrEnum

from storage.appeals.models import Appeal, State
from storage.appeals.rules import Action, is_supervisor, refusal
from storage.channels.models import Channel
from storage.hierarchy import Node, NodeKind
from storage.roles import Role, Staffing

# A channel files for a whole district or one street (the 12345 hotline of a district,
# a street's own web form); never for a single community or grid.
CHANNEL_NODE_KINDS = (NodeKind.DISTRICT, NodeKind.STREET)
MAX_NAME = 100


class ChannelProblem(StrEnum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    BAD_NODE = "bad_node"
    BAD_NAME = "bad_name"
    REVOKED = "revoked"
    WRONG_STATE = "wrong_state"


def administers(staffing: Staffing, node: Node) -> bool:
    """An admin whose grant reaches ``node``: only admins make, rotate and revoke keys."""
    return any(
        g.role is Role.ADMIN and (g.node is None or node.is_within(g.node)) for g in staffing.grants
    )


def create_refusal(staffing: Staffing, node: Node | None, name: str) -> ChannelProblem | None:
    if node is None:
        return ChannelProblem.NOT_FOUND
    if not administers(staffing, node):
        return ChannelProblem.NOT_ALLOWED
    if node.node_kind not in CHANNEL_NODE_KINDS:
        return ChannelProblem.BAD_NODE
    if not name.strip() or len(name.strip()) > MAX_NAME:
        return ChannelProblem.BAD_NAME
    return None


def manage_refusal(
    staffing: Staffing, channel: Channel | None, node: Node | None
) -> ChannelProblem | None:
    """Rotating or revoking ``channel`` (whose node is ``node``)."""
    if channel is None or node is None:
        return ChannelProblem.NOT_FOUND
    if not administers(staffing, node):
        return ChannelProblem.NOT_FOUND  # out of scope reads as missing
    if not channel.active:
        return ChannelProblem.REVOKED
    return None


def files_at(channel_node: Node, place: Node) -> bool:
    """A key files only inside its node."""
    return place.is_within(channel_node)


def relay_refusal(staffing: Staffing, appeal: Appeal | None, filed: bool) -> ChannelProblem | None:
    """Recording on the desk the rating a channel's caller gave by phone (``filed``: the
    appeal came from a channel): a supervisor of the appeal, never its owner, once it is
    resolved; an appeal out of sight reads as missing."""
    if appeal is None or refusal(Action.OPEN, appeal, staffing) is not None:
        return ChannelProblem.NOT_FOUND
    if not filed or appeal.resident_id is not None:
        return ChannelProblem.NOT_ALLOWED
    if not is_supervisor(staffing, appeal) or appeal.owner_id == staffing.user_id:
        return ChannelProblem.NOT_ALLOWED
    if appeal.state != State.RESOLVED:
        return ChannelProblem.WRONG_STATE
    return None
