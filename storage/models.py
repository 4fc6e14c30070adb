"""Every mapped model, imported in one place so Alembic and create_all see them all."""

from storage.audit import AuditEntry
from storage.base import Base
from storage.hierarchy import Node
from storage.staff import Invite, RoleAssignment
from storage.users import User

__all__ = ["AuditEntry", "Base", "Invite", "Node", "RoleAssignment", "User"]
