"""A person's grants changing reads as a ``storage.changes.Change`` of topic "grants":
their open desk pages check at once whether they may still be there (a revocation
ends the session within a second, whichever process holds the page). A revocation is
an UPDATE statement that names no person the way it is written; it reads as "anyone's
grants" (id 0), and every open page checks: revocations are rare. A session ending (a
sign-out, a revocation ending them all) reads the same way: an open page of that
session stops at once, not at its stream's next periodic check."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.changes import Change, Describe, DescribeBulk
from storage.desk.models import DeskSession
from storage.roles import RoleAssignment

TOPIC = "grants"
ANYONE = 0


def describe(session: Session, row: Any) -> Change | None:
    if isinstance(row, RoleAssignment) and row.user_id is not None:
        return Change(TOPIC, int(row.user_id), ())
    return None


DESCRIBERS: dict[type, Describe] = {RoleAssignment: describe}


def anyone() -> Change:
    return Change(TOPIC, ANYONE, ())


BULK: dict[type, DescribeBulk] = {RoleAssignment: anyone, DeskSession: anyone}
