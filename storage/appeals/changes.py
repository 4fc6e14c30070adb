"""How a written appeal reads as a ``storage.changes.Change``: its grid's scope path
(and the one it left, when transferred) and when it next turns overdue. A new event of
an appeal loaded in the same unit of work counts as a change of that appeal (a note, a
supervision: the appeal's page shows it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from storage.appeals.models import Appeal, AppealEvent
from storage.changes import Change, Describe

TOPIC = "appeal"


def _of_appeal(appeal: Appeal) -> Change | None:
    if appeal.id is None:
        return None
    paths = [appeal.scope_path]
    moved = inspect(appeal).attrs.scope_path.history.deleted
    paths += [p for p in moved or () if isinstance(p, str)]
    due = appeal.deadline_at if appeal.is_open else None
    return Change(TOPIC, int(appeal.id), tuple(dict.fromkeys(paths)), due)


def describe(session: Session, row: Any) -> Change | None:
    if isinstance(row, Appeal):
        return _of_appeal(row)
    if isinstance(row, AppealEvent):
        appeal = session.identity_map.get(identity_key(Appeal, row.appeal_id))
        return _of_appeal(appeal) if isinstance(appeal, Appeal) else None
    return None


DESCRIBERS: dict[type, Describe] = {Appeal: describe, AppealEvent: describe}
