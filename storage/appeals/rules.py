"""Who may do what to an appeal, in which state: the one place that decides.

The service refuses with these before it changes anything; the chat layer asks the same
function which buttons to show (a card never offers a press that would be refused) and
again before acting on a press, because a shown button can be old or forged.

The level holding an appeal (``Appeal.level``) decides who may take it: at the grid its
workers; once escalated or called up, only staff of that level or above, who either take
it themselves or assign it (指派) to a worker of its grid. Once someone owns it (首问负责)
only they work on it; the holding level's staff may still send it back, pass it on or
call it up."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from storage.appeals.models import OPEN_STATES, WORKING, Appeal, Level, Problem, State
from storage.hierarchy import NodeKind
from storage.roles import Role, Staffing


class Action(StrEnum):
    """What staff do to an appeal; the values travel in callback data."""

    ACCEPT = "accept"
    ASSIGN = "assign"
    REJECT = "reject"
    CALL_UP = "callup"
    TRANSFER = "transfer"
    PROGRESS = "progress"
    RESOLVE = "resolve"
    SUPERVISE = "supervise"
    OPEN = "open"


class ResidentAction(StrEnum):
    CANCEL = "cancel"
    ADD_DETAILS = "add_details"
    RATE = "rate"
    COMMENT = "comment"


_ROLE_LEVEL = {
    Role.WORKER: Level.GRID,
    Role.COMMUNITY_STAFF: Level.COMMUNITY,
    Role.STREET_STAFF: Level.STREET,
    Role.DISTRICT_STAFF: Level.DISTRICT,
}
_NODE_LEVEL = {
    NodeKind.GRID: Level.GRID,
    NodeKind.COMMUNITY: Level.COMMUNITY,
    NodeKind.STREET: Level.STREET,
    NodeKind.DISTRICT: Level.DISTRICT,
}
_ORDER = list(Level)


def staff_level(staffing: Staffing, appeal: Appeal) -> Level | None:
    """The highest level at which ``staffing`` covers the appeal's grid, or None when it
    does not cover it at all. An admin acts at the level of the node they administer."""
    best: Level | None = None
    for grant in staffing.grants:
        if grant.node is not None and not appeal.scope_path.startswith(grant.node.path):
            continue
        if grant.role is Role.ADMIN:
            level = Level.DISTRICT if grant.node is None else _NODE_LEVEL.get(grant.node.node_kind)
        else:
            level = _ROLE_LEVEL.get(grant.role)
        if level is not None and (best is None or _ORDER.index(level) > _ORDER.index(best)):
            best = level
    return best


def may_handle(staffing: Staffing, appeal: Appeal) -> bool:
    """Staff whose scope covers the appeal's grid may see it: its own grid workers and
    every level above."""
    return staff_level(staffing, appeal) is not None


def holds(staffing: Staffing, appeal: Appeal) -> bool:
    """Staff of the level holding the appeal, or above it."""
    level = staff_level(staffing, appeal)
    return level is not None and _ORDER.index(level) >= _ORDER.index(appeal.level_enum)


def is_supervisor(staffing: Staffing, appeal: Appeal) -> bool:
    """Staff above the grid whose area covers the appeal, at or above its level."""
    level = staff_level(staffing, appeal)
    return level is not None and level is not Level.GRID and holds(staffing, appeal)


def may_take_over(staffing: Staffing, appeal: Appeal) -> bool:
    """Once someone owns an appeal only they, or a supervisor of the level holding it,
    may send it back, call it up or pass it on; another worker of the grid may not."""
    if appeal.owner_id is None or appeal.owner_id == staffing.user_id:
        return holds(staffing, appeal) or appeal.owner_id == staffing.user_id
    return is_supervisor(staffing, appeal)


def refusal(action: Action, appeal: Appeal | None, staffing: Staffing) -> Problem | None:
    """Why ``staffing`` may not do ``action`` to ``appeal`` now, or None when they may.
    Input the action needs (a reason, a target grid, a worker) is checked where it is
    given."""
    if appeal is None:
        return Problem.NOT_FOUND
    if not may_handle(staffing, appeal):
        return Problem.NOT_ALLOWED
    if action is Action.OPEN:
        return None
    if appeal.state not in OPEN_STATES:
        return Problem.WRONG_STATE
    mine = appeal.owner_id == staffing.user_id
    if action is Action.SUPERVISE:
        # 督办: a supervisor of the level holding the appeal, or above, urges its owner.
        if not is_supervisor(staffing, appeal) or mine:
            return Problem.NOT_ALLOWED
        return Problem.WRONG_STATE if appeal.owner_id is None else None
    if action in (Action.PROGRESS, Action.RESOLVE):
        if appeal.state not in WORKING:
            return Problem.WRONG_STATE
        if not mine:
            return Problem.ALREADY_TAKEN if appeal.owner_id else Problem.WRONG_STATE
        return None
    if action is Action.ACCEPT:
        if appeal.owner_id is not None:
            return Problem.ALREADY_TAKEN
        if appeal.state != State.SUBMITTED:
            return Problem.WRONG_STATE
    if not holds(staffing, appeal) and not mine:
        return Problem.ESCALATED if appeal.level_enum is not Level.GRID else Problem.NOT_ALLOWED
    if action is Action.ACCEPT:
        return None
    if action is Action.ASSIGN:
        if not is_supervisor(staffing, appeal):
            return Problem.NOT_ALLOWED
        return None
    # send back, call up, pass on to another grid
    if not may_take_over(staffing, appeal):
        return Problem.ALREADY_TAKEN
    if action is Action.REJECT and appeal.urgent:
        return Problem.URGENT
    if action is Action.CALL_UP and appeal.level_enum.up is None:
        return Problem.TOP_LEVEL
    return None


def sees_contact(appeal: Appeal, viewer: Staffing) -> bool:
    """The resident's name and phone: for the owner (首问负责), and at once for everyone
    an urgent call reaches."""
    if appeal.owner_id is not None and appeal.owner_id == viewer.user_id:
        return True
    return appeal.urgent and staff_level(viewer, appeal) is not None


def allowed_actions(appeal: Appeal, staffing: Staffing) -> list[Action]:
    """The actions ``staffing`` may take now, in the order the buttons show them."""
    return [a for a in Action if refusal(a, appeal, staffing) is None]


# A resident who files the same words in the same category again this soon is asked
# whether it is the same matter (no answer after a silence, or a second press of confirm,
# is what makes people file again).
SAME_MATTER_WITHIN = timedelta(minutes=30)


def same_words(a: str, b: str) -> bool:
    """The same description, whatever the spaces, punctuation or case."""

    def letters(text: str) -> str:
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    return bool(letters(a)) and letters(a) == letters(b)


def same_matter(appeal: Appeal, resident_id: int, category: str, text: str) -> bool:
    """``appeal`` is what the resident is about to file again: theirs, still open, the
    same category and the same words (when the new one has words)."""
    return (
        appeal.resident_id == resident_id
        and appeal.is_open
        and appeal.category == category
        and same_words(appeal.text, text)
    )


def resident_refusal(
    action: ResidentAction, appeal: Appeal | None, resident_id: int | None
) -> Problem | None:
    """The same for the resident who filed the appeal (None: for an appeal without a
    resident, the channel that filed it, on its caller's behalf)."""
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
