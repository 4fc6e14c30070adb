"""Partners and their service orders: applying and being decided on, an order offered to
every partner of its skill in the community with one winner, 派单 when nobody takes it,
visits, completion, the resident's confirmation and rating, and the points ledger.

Every change writes what people are owed into the outbox in the same transaction, and
every transition that can race (two partners pressing 接单, a doubled confirmation, a
timer firing in two processes) is a conditional UPDATE on the state it expects: the
loser changes nothing. The service is assembled from one module per part (applications,
teams, orders, points) over their shared base."""

from __future__ import annotations

from storage.partners.applications import Applications
from storage.partners.drafts import (
    Application,
    CallDraft,
    CallFigures,
    MonthRow,
    OrderDraft,
    Standing,
    month_bounds,
    month_bounds_of,
)
from storage.partners.kinds import (
    APPLICATION,
    APPLICATION_DECIDED,
    CALL_CLOSED,
    CHANNEL_FAILING,
    CHASE,
    CREDITED,
    DECISION,
    DISPATCH,
    MAX_NAME,
    MAX_TEXT,
    NOMINATED,
    NOMINATION,
    OFFER,
    OFFER_GONE,
    ORDER_NEWS,
    RECOGNITION,
    RELAY,
    SHOWCASE_POST,
    SHOWCASE_WITHDRAW,
    TAKEN,
    TEAM_INVITE,
)
from storage.partners.orders import Orders
from storage.partners.points import Points
from storage.partners.teams import Teams


class PartnerService(Applications, Teams, Orders, Points):
    """``services.get(PartnerService)``: every partner operation in one unit of work."""


__all__ = [
    "APPLICATION",
    "APPLICATION_DECIDED",
    "CALL_CLOSED",
    "CHANNEL_FAILING",
    "CHASE",
    "CREDITED",
    "DECISION",
    "DISPATCH",
    "MAX_NAME",
    "MAX_TEXT",
    "NOMINATED",
    "NOMINATION",
    "OFFER",
    "OFFER_GONE",
    "ORDER_NEWS",
    "RECOGNITION",
    "RELAY",
    "SHOWCASE_POST",
    "SHOWCASE_WITHDRAW",
    "TAKEN",
    "TEAM_INVITE",
    "Application",
    "CallDraft",
    "CallFigures",
    "MonthRow",
    "OrderDraft",
    "PartnerService",
    "Standing",
    "month_bounds",
    "month_bounds_of",
]
