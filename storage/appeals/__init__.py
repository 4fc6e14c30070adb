"""Appeals (诉求): the feature's storage. ``models`` holds the tables and states,
``policy`` the categories and deadlines, ``rules`` who may do what, ``service`` the state
machine, ``timers`` the deadline sweep, ``kpi`` the monthly figures and ``privacy`` what
deleting a resident's data does here."""

from storage.appeals.models import (
    FINAL_STATES,
    LEVEL_ROLE,
    MAX_PHOTOS,
    MAX_TEXT,
    OPEN_STATES,
    UNACCEPTED,
    WORKING,
    Appeal,
    AppealError,
    AppealEvent,
    AppealFollower,
    AppealMedia,
    Draft,
    Level,
    Problem,
    Rating,
    State,
    Timeline,
    Timer,
)
from storage.appeals.policy import AppealPolicy
from storage.appeals.rules import (
    Action,
    ResidentAction,
    allowed_actions,
    is_supervisor,
    may_handle,
    may_take_over,
    refusal,
    resident_refusal,
)
from storage.appeals.service import AppealService
from storage.appeals.timers import sweep

__all__ = [
    "FINAL_STATES",
    "LEVEL_ROLE",
    "MAX_PHOTOS",
    "MAX_TEXT",
    "OPEN_STATES",
    "UNACCEPTED",
    "WORKING",
    "Action",
    "Appeal",
    "AppealError",
    "AppealEvent",
    "AppealFollower",
    "AppealMedia",
    "AppealPolicy",
    "AppealService",
    "Draft",
    "Level",
    "Problem",
    "Rating",
    "ResidentAction",
    "State",
    "Timeline",
    "Timer",
    "allowed_actions",
    "is_supervisor",
    "may_handle",
    "may_take_over",
    "refusal",
    "resident_refusal",
    "sweep",
]
