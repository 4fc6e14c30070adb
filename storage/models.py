"""Every mapped model, imported in one place so Alembic and create_all see them all."""

from storage.appeal_models import Appeal, AppealEvent, AppealFollower, AppealMedia
from storage.audit import AuditEntry
from storage.base import Base
from storage.hierarchy import Node
from storage.outbox import OutboxMessage
from storage.staff import Invite, RoleAssignment
from storage.users import User

__all__ = [
    "Appeal",
    "AppealEvent",
    "AppealFollower",
    "AppealMedia",
    "AuditEntry",
    "Base",
    "Invite",
    "Node",
    "OutboxMessage",
    "RoleAssignment",
    "User",
]
