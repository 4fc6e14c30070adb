"""Every mapped model, so that Alembic and create_all see them all: the shared tables
here, and each feature's ``storage/<feature>/models.py``, found without a list to edit."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import storage
from storage.audit import AuditEntry
from storage.base import Base
from storage.hierarchy import Node
from storage.outbox import OutboxMessage
from storage.processes import OutboxProcess
from storage.roles import RoleAssignment
from storage.users import User


def load_feature_models() -> list[str]:
    """Import the ``models`` module of every feature package under storage/."""
    loaded = []
    for info in pkgutil.iter_modules([str(Path(storage.__file__).parent)]):
        if not info.ispkg or info.name == "migrations":
            continue
        name = f"storage.{info.name}.models"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            loaded.append(name)
    return loaded


FEATURE_MODELS = load_feature_models()

__all__ = [
    "FEATURE_MODELS",
    "AuditEntry",
    "Base",
    "Node",
    "OutboxMessage",
    "OutboxProcess",
    "RoleAssignment",
    "User",
]
