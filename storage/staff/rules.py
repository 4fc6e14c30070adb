"""Who may manage staff: admins, within the nodes they administer (a global admin
everywhere). Every staff screen and every press on one asks this."""

from __future__ import annotations

from storage.hierarchy import Node
from storage.roles import Role, Staffing


def admin_scopes(staffing: Staffing) -> list[Node | None]:
    return staffing.scopes([Role.ADMIN])


def is_global_admin(staffing: Staffing) -> bool:
    return None in admin_scopes(staffing)


def may_manage(staffing: Staffing, node: Node | None) -> bool:
    """May ``staffing`` invite or revoke staff at ``node`` (None: a global role)?"""
    if is_global_admin(staffing):
        return True
    return node is not None and staffing.covers(node, [Role.ADMIN])
