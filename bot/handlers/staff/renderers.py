"""What the staff feature tells people through the outbox: the admin whose invite was
used, and the person whose role was revoked."""

from __future__ import annotations

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.formatting import SEPARATOR, e
from bot.kit.roles import role_name
from storage.roles import Role, RoleAssignment
from storage.staff.models import Invite
from storage.users import User


async def _place(r: Rendering, node_id: int | None) -> str:
    if node_id is None:
        return r.t("roles.everywhere")
    node = await r.services.hierarchy.get(node_id)
    if node is None:
        return "—"
    chain = await r.services.hierarchy.ancestors(node)
    return e(SEPARATOR.join(n.name for n in chain[-2:]))


async def render_joined(r: Rendering) -> list[Send]:
    invite = await r.services.session.get(Invite, r.message.subject_id or 0)
    if invite is None or invite.used_by is None:
        raise Gone("invite gone")
    person = await r.services.session.get(User, invite.used_by)
    text = r.t(
        "staff.joined",
        name=e(person.display_name) if person else str(invite.used_by),
        role=role_name(Role(invite.role), r.t),
        where=await _place(r, invite.node_id),
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def render_revoked(r: Rendering) -> list[Send]:
    assignment = await r.services.session.get(RoleAssignment, r.message.subject_id or 0)
    if assignment is None:
        raise Gone("assignment gone")
    text = r.t(
        "staff.revoked_notice",
        role=role_name(Role(assignment.role), r.t),
        where=await _place(r, assignment.node_id),
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


RENDERERS: dict[str, Renderer] = {
    "staff.joined": render_joined,
    "staff.revoked": render_revoked,
}
