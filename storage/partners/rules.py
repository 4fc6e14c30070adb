"""Who may do what with partners and service orders, in which state: the one place the
service refuses with and the chat layer derives its buttons from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from storage.hierarchy import Node
from storage.partners.models import OrderState, Partner, PartnerState, ServiceOrder, Team
from storage.roles import Role, Staffing

# Community staff and above decide on partners and assign orders; grid workers order on
# behalf of households (代点单).
DECIDERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_STAFF, Role.ADMIN)
PROXIES = (Role.WORKER, *DECIDERS)

SKILLS = (
    "repair",
    "haircut",
    "sewing",
    "appliance",
    "elderly",
    "escort",
    "tutoring",
    "patrol",
    "other",
)
# Difficulty tiers (一档/二档/三档) by skill, and the points each tier earns.
TIERS = {
    "repair": 2,
    "haircut": 1,
    "sewing": 1,
    "appliance": 2,
    "elderly": 2,
    "escort": 3,
    "tutoring": 2,
    "patrol": 1,
    "other": 1,
}
AVAILABILITY = (
    "weekday_am",
    "weekday_pm",
    "weekday_eve",
    "weekend_am",
    "weekend_pm",
    "weekend_eve",
)


@dataclass(frozen=True)
class PartnerPolicy:
    skills: tuple[str, ...] = SKILLS
    tiers: dict[str, int] = field(default_factory=lambda: dict(TIERS))
    points: tuple[int, int, int] = (1, 3, 5)  # 一档, 二档, 三档
    dispatch_after: timedelta = timedelta(hours=2)
    # Skills whose orders cannot wait as long (助老): staff are asked sooner.
    dispatch_after_by_skill: dict[str, timedelta] = field(
        default_factory=lambda: {"elderly": timedelta(minutes=30)}
    )
    chase_after: timedelta = timedelta(hours=24)  # reminder to whoever holds it up
    staff_after: timedelta = timedelta(hours=48)  # after the reminder: staff are told
    # The monthly recognition rule (published in /points): at least this many confirmed
    # orders, at least this share rated satisfied, then by points.
    recognise_min_orders: int = 3
    recognise_min_satisfied: float = 0.8
    recognise_top: int = 3
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))  # months are local

    def tier(self, skill: str) -> int:
        return self.tiers.get(skill, 1)

    def points_for(self, tier: int) -> int:
        return self.points[max(1, min(3, tier)) - 1]

    def dispatch_window(self, skill: str) -> timedelta:
        return self.dispatch_after_by_skill.get(skill, self.dispatch_after)


class PartnerProblem(StrEnum):
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    NOT_RESIDENT = "not_resident"  # applying or ordering needs a home in a community
    ALREADY = "already"  # applied or decided already
    WRONG_STATE = "wrong_state"
    TAKEN = "taken"  # another partner was faster
    CANCELLED = "cancelled"  # whoever ordered cancelled it (before or while it was pressed)
    NOT_PARTNER = "not_partner"  # not an approved partner of the order's skill/community
    BAD_INPUT = "bad_input"
    CLOSED = "closed"  # the recruitment call's deadline passed or its quota filled


class PartnerError(Exception):
    def __init__(self, problem: PartnerProblem, detail: str = "") -> None:
        super().__init__(detail or problem.value)
        self.problem = problem


def may_decide(staffing: Staffing, community: Node | None) -> PartnerProblem | None:
    """Approving, rejecting, suspending partners and assigning orders of a community."""
    if community is None:
        return PartnerProblem.NOT_FOUND
    if not staffing.covers(community, DECIDERS):
        return PartnerProblem.NOT_ALLOWED
    return None


def may_serve(
    partner: Partner | None, order: ServiceOrder, team: Team | None = None
) -> PartnerProblem | None:
    """Whether this partner may be offered and take this order: with the skill
    themself, or, given ``team``, as the leader of one of the order's community's teams
    that has it (团队接单). Nobody serves an order they placed, alone or with a team."""
    if (
        partner is None
        or partner.state != PartnerState.APPROVED
        or partner.community_id != order.community_id
    ):
        return PartnerProblem.NOT_PARTNER
    if team is None:
        if order.skill not in partner.skills:
            return PartnerProblem.NOT_PARTNER
    elif (
        team.leader_id != partner.user_id
        or team.community_id != order.community_id
        or order.skill not in (team.skills or [])
    ):
        return PartnerProblem.NOT_PARTNER
    if partner.user_id in (order.resident_id, order.ordered_by):
        return PartnerProblem.NOT_ALLOWED  # nobody serves their own order for points
    return None


class Side(StrEnum):
    PARTNER = "partner"
    RESIDENT = "resident"
    STAFF = "staff"


# What each side may press on an order in each state.
ACTIONS: dict[tuple[Side, OrderState], tuple[str, ...]] = {
    (Side.PARTNER, OrderState.OPEN): ("take",),
    (Side.PARTNER, OrderState.ASSIGNED): ("accept", "decline"),
    (Side.PARTNER, OrderState.TAKEN): ("visited", "done", "release", "msg"),
    (Side.PARTNER, OrderState.VISITED): ("done", "msg"),
    (Side.RESIDENT, OrderState.OPEN): ("cancel",),
    (Side.RESIDENT, OrderState.ASSIGNED): ("cancel",),
    (Side.RESIDENT, OrderState.TAKEN): ("cancel", "msg"),
    (Side.RESIDENT, OrderState.VISITED): ("msg",),
    (Side.RESIDENT, OrderState.DONE): ("confirm", "not_done", "msg"),
    (Side.RESIDENT, OrderState.CONFIRMED): ("show", "hide", "comment"),
    (Side.PARTNER, OrderState.DONE): ("photo", "msg"),
    (Side.PARTNER, OrderState.CONFIRMED): ("photo",),
    (Side.STAFF, OrderState.OPEN): ("assign", "cancel"),
    (Side.STAFF, OrderState.ASSIGNED): ("assign", "cancel"),
    (Side.STAFF, OrderState.TAKEN): ("cancel",),
}


def actions(side: Side, state: str) -> tuple[str, ...]:
    return ACTIONS.get((side, OrderState(state)), ())


CLOSED = (OrderState.CONFIRMED, OrderState.CANCELLED)
# Waiting for a taker: offered to partners, or assigned (派单) and not yet answered.
WAITING = (OrderState.OPEN, OrderState.ASSIGNED)
