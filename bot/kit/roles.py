"""How staff roles read in the chat."""

from __future__ import annotations

from bot.formatting import e
from bot.i18n import Translator
from storage.roles import Role, Staffing


def role_name(role: Role, t: Translator) -> str:
    return t(f"roles.{role.value}")


def describe_grants(staffing: Staffing, t: Translator) -> str:
    lines = []
    for grant in staffing.grants:
        where = e(grant.node.name) if grant.node else t("roles.everywhere")
        lines.append(t("roles.line", role=role_name(grant.role, t), where=where))
    return "\n".join(lines)
