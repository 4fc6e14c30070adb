"""Who may manage a channel, and what a channel's key may file and read: the one place
that decides. The service refuses with these; the chat derives its buttons from them."""

from __future__ import annotations

from enum import StrEnum

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
