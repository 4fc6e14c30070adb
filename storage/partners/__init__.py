"""幸福合伙人: partners, service orders (the five orders) and points."""

from storage.partners.models import (
    OrderState,
    OrderTimer,
    Partner,
    PartnerState,
    PointEntry,
    Rating,
    ServiceOrder,
)
from storage.partners.rules import PartnerError, PartnerPolicy, PartnerProblem, Side, actions
from storage.partners.service import Application, OrderDraft, PartnerService

__all__ = [
    "Application",
    "OrderDraft",
    "OrderState",
    "OrderTimer",
    "Partner",
    "PartnerError",
    "PartnerPolicy",
    "PartnerProblem",
    "PartnerService",
    "PartnerState",
    "PointEntry",
    "Rating",
    "ServiceOrder",
    "Side",
    "actions",
]
