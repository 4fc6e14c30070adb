"""Who may do what to an appeal, in which state: the one place that decides.

The service refuses with these before it changes anything; the chat layer asks the same
function which buttons to show (a card never offers a press that would be refused) and
again before acting on a press, because a shown button can be old or forged."""

from __future__ import annotations

from enum import StrEnum

from storage.appeals.models import OPEN_STATES, WORKING, Appeal, Problem, State
from storage.roles import Role, Staffing


class Action(StrEnum):
    """What staff do to an appeal; the values travel in callback data."""

    ACCEPT = "accept"
    REJECT = "reject"
    CALL_UP = "callup"
    TRANSFER = "transfer"
    PROGRESS = "progress"
    RESOLVE = "resolve"
    OPEN = "open"


class ResidentAction(StrEnum):
    CANCEL = "cancel"
    ADD_DETAILS = "add_details"
    RATE = "rate"
    COMMENT = "comment"


def may_handle(staffing: Staffing, appeal: Appeal) -> bool:
    """Staff whose scope covers the appeal's grid may see it and act on it: its own grid
    workers and every level above."""
    return any(
        grant.node is None or appeal.scope_path.startswith(grant.node.path)
        for grant in staffing.grants
    )


def is_supervisor(staffing: Staffing, appeal: Appeal) -> bool:
    """Staff above the grid whose area covers the appeal."""
    return any(
        grant.role is not Role.WORKER
        and (grant.node is None or appeal.scope_path.startswith(grant.node.path))
        for grant in staffing.grants
    )


def may_take_over(staffing: Staffing, appeal: Appeal) -> bool:
    """Once someone owns an appeal (首问负责) only they, or a supervisor, may return, call
    up or transfer it; another worker of the grid may not."""
    if appeal.owner_id is None or appeal.owner_id == staffing.user_id:
        return True
    return is_supervisor(staffing, appeal)


def refusal(action: Action, appeal: Appeal | None, staffing: Staffing) -> Problem | None:
    """Why ``staffing`` may not do ``action`` to ``appeal`` now, or None when they may.
    Input the action needs (a reason, a target grid) is checked where it is given."""
    if appeal is None:
        return Problem.NOT_FOUND
    if not may_handle(staffing, appeal):
        return Problem.NOT_ALLOWED
    if action is Action.OPEN:
        return None
    if action is Action.ACCEPT:
        if appeal.state in WORKING and appeal.owner_id is not None:
            return Problem.ALREADY_TAKEN
        if appeal.state != State.SUBMITTED:
            return Problem.WRONG_STATE
        return None
    if action in (Action.PROGRESS, Action.RESOLVE):
        if appeal.state not in WORKING:
            return Problem.WRONG_STATE
        if appeal.owner_id != staffing.user_id:
            return Problem.ALREADY_TAKEN if appeal.owner_id else Problem.WRONG_STATE
        return None
    # reject, call up, transfer
    if appeal.state not in OPEN_STATES:
        return Problem.WRONG_STATE
    if not may_take_over(staffing, appeal):
        return Problem.ALREADY_TAKEN
    if action is Action.CALL_UP and appeal.level_enum.up is None:
        return Problem.TOP_LEVEL
    return None


def allowed_actions(appeal: Appeal, staffing: Staffing) -> list[Action]:
    """The actions ``staffing`` may take now, in the order the buttons show them."""
    return [a for a in Action if refusal(a, appeal, staffing) is None]


def resident_refusal(
    action: ResidentAction, appeal: Appeal | None, resident_id: int
) -> Problem | None:
    """The same for the resident who filed the appeal."""
    if appeal is None:
        return Problem.NOT_FOUND
    if appeal.resident_id != resident_id:
        return Problem.NOT_ALLOWED
    if action is ResidentAction.CANCEL and appeal.state != State.SUBMITTED:
        return Problem.WRONG_STATE
    if action is ResidentAction.ADD_DETAILS and not appeal.is_open:
        return Problem.WRONG_STATE
    if action is ResidentAction.RATE and appeal.state != State.RESOLVED:
        return Problem.WRONG_STATE
    if action is ResidentAction.COMMENT and appeal.rated_at is None:
        return Problem.WRONG_STATE
    return None
