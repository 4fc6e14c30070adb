"""What the partners feature owes people through the outbox (its kinds), and the
limits on what people type."""

# Outbox kinds
APPLICATION = "partner.application"  # to community staff: a new application to decide
# Staff's application cards, once decided: edited to say what, by whom, when.
APPLICATION_DECIDED = "partner.application_decided"
DECISION = "partner.decision"  # to the applicant
OFFER = "partner.offer"  # to each partner who may take an open order
OFFER_GONE = "partner.offer_gone"  # the offer card of those who did not get it: edited
TAKEN = "partner.taken"  # to the partner who has it: the full card with the contact
ORDER_NEWS = "partner.order_news"  # to the resident (or the worker for 代点单)
DISPATCH = "partner.dispatch"  # to community staff: assign it (派单), or it is stuck
CHASE = "partner.chase"  # a reminder to whoever holds the order up
CREDITED = "partner.credited"  # to the partner: confirmed, rated, points
CALL_CLOSED = "partner.call_closed"  # to the call's author: how it went
NOMINATED = "partner.nominated"  # to the nominee: a neighbour put you forward
NOMINATION = "partner.nomination"  # to community staff: who was put forward, by whom
TEAM_INVITE = "partner.team_invite"  # to a partner invited into a team
RECOGNITION = "partner.recognition"  # to community staff: the month's proposal
SHOWCASE_POST = "partner.showcase_post"  # to the community's channel: a 晒单, nothing personal
SHOWCASE_WITHDRAW = "partner.showcase_withdraw"  # the resident took it back: the post goes
# To community staff: Telegram refuses posts to their showcase channel; how to fix it.
CHANNEL_FAILING = "partner.channel_failing"
RELAY = "partner.relay"  # a message between the partner and the resident, through the bot

MAX_TEXT = 1000
MAX_NAME = 32
