"""幸福合伙人: partners, service orders (the five orders) and points."""

from storage.partners.models import (
    CallState,
    Nomination,
    OrderState,
    OrderTimer,
    Origin,
    Partner,
    PartnerState,
    PointEntry,
    Rating,
    Recognition,
    RecruitmentCall,
    ServiceOrder,
    Team,
    TeamMember,
)
from storage.partners.rules import PartnerError, PartnerPolicy, PartnerProblem, Side, actions
from storage.partners.service import Application, CallDraft, OrderDraft, PartnerService

__all__ = [
    "Application",
    "CallDraft",
    "CallState",
    "Nomination",
    "OrderDraft",
    "OrderState",
    "OrderTimer",
    "Origin",
    "Partner",
    "PartnerError",
    "PartnerPolicy",
    "PartnerProblem",
    "PartnerService",
    "PartnerState",
    "PointEntry",
    "Rating",
    "Recognition",
    "RecruitmentCall",
    "ServiceOrder",
    "Side",
    "Team",
    "TeamMember",
    "actions",
]
