"""How partner messages go out: an order offered to partners (no resident data), its
card edited to "已被接单" for those who did not get it, the full card for the one who
did, news to whoever ordered, staff's 派单 and application cards, reminders, the
decision on an application and the points a confirmation earned."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select

from bot.delivery import Gone, Renderer, Rendering, Send
from bot.dialogs.partners.views import (
    keyboard,
    order_fields,
    partner_keyboard,
    resident_keyboard,
    skill_label,
    skills_text,
    slots_text,
    staff_keyboard,
)
from bot.formatting import e, local_time
from storage.outbox import OutboxMessage
from storage.partners import (
    Nomination,
    OrderState,
    Partner,
    PartnerPolicy,
    PartnerService,
    PartnerState,
    Rating,
    RecruitmentCall,
    ServiceOrder,
)
from storage.partners.rules import Side, actions, may_serve
from storage.partners.service import (
    APPLICATION,
    APPLICATION_DECIDED,
    CALL_CLOSED,
    CHANNEL_FAILING,
    CHASE,
    CREDITED,
    DECISION,
    DISPATCH,
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
    month_bounds_of,
)
from storage.users import User

DELETE_WINDOW = timedelta(hours=47)  # Telegram's 48 h, less a margin for a late send


def _service(r: Rendering) -> PartnerService:
    return r.services.get(PartnerService)


async def _order(r: Rendering) -> tuple[ServiceOrder, dict[str, str]]:
    service = _service(r)
    order = await service.order(r.message.subject_id or 0)
    if order is None:
        raise Gone("order deleted")
    community = await r.services.hierarchy.get(order.community_id)
    grid = await r.services.hierarchy.get(order.grid_id) if order.grid_id else None
    place = " ".join(n.name for n in (community, grid) if n is not None)
    return order, order_fields(r.t, service.policy, order, place)


async def _address(r: Rendering, order: ServiceOrder) -> dict[str, str]:
    """What only the partner who has the order and staff see."""
    building = await r.services.hierarchy.get(order.building_id) if order.building_id else None
    resident = await r.services.users.get(order.resident_id) if order.resident_id else None
    name = order.household or (resident.display_name if resident else "—")
    return {
        "address": e(building.name) if building else "—",
        "name": e(name),
        "phone": e(order.contact_phone) if order.contact_phone else r.t("partner.order.no_phone"),
    }


def _with_voice(r: Rendering, order: ServiceOrder, card: Send) -> list[Send]:
    """The resident's voice note goes first and the card with its buttons last: the card
    is the message the outbox records (and edits later) and the one left at the bottom."""
    if order.voice_file_id is None:
        return [card]
    chat, voice = r.chat_id, order.voice_file_id
    return [lambda: r.bot.send_voice(chat, voice), card]


async def render_offer(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    assigned = bool(r.params.get("assigned"))
    if assigned:
        if order.state != OrderState.ASSIGNED or order.partner_id != r.chat_id:
            raise Gone("no longer assigned to them")
    elif order.state != OrderState.OPEN:
        raise Gone("taken before the offer went out")
    text = r.t("partner.card.assigned" if assigned else "partner.card.offer", **fields)
    markup = partner_keyboard(r.t, order)
    if not assigned:
        # What this recipient may press: 接单 if they have the skill, 团队接单 if they
        # lead a team that has it.
        service = _service(r)
        row = []
        partner = await service.partner(r.chat_id)
        if may_serve(partner, order) is None:
            row.append("take")
        team = await service.team_for(order, r.chat_id)
        if team is not None and may_serve(partner, order, team) is None:
            row.append("team_take")
        if not row:
            raise Gone("no longer a partner of this skill")
        markup = keyboard(r.t, [row], order.id)
    chat = r.chat_id
    return _with_voice(r, order, lambda: r.bot.send_message(chat, text, reply_markup=markup))


async def render_offer_gone(r: Rendering) -> list[Send]:
    """Edit the offer card in place, once: the buttons go, the text says it is taken."""
    order, fields = await _order(r)
    sent = await r.services.session.scalar(
        select(OutboxMessage.message_id)
        .where(
            OutboxMessage.kind == OFFER,
            OutboxMessage.subject_id == order.id,
            OutboxMessage.user_id == r.chat_id,
            OutboxMessage.message_id.is_not(None),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if sent is None:
        raise Gone("the offer never reached them")
    why = "gone_cancelled" if r.params.get("why") == "cancelled" else "gone"
    text = r.t("partner.card.offer", **fields) + "\n\n" + r.t(f"partner.card.{why}")
    chat = r.chat_id
    return [lambda: r.bot.edit_message_text(text, chat_id=chat, message_id=sent)]


async def render_taken(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    if order.partner_id != r.chat_id or order.state in (OrderState.CANCELLED, OrderState.OPEN):
        raise Gone("no longer theirs")
    text = r.t("partner.card.taken", **fields, **await _address(r, order))
    markup = await taken_keyboard(r, order)
    chat = r.chat_id
    return _with_voice(r, order, lambda: r.bot.send_message(chat, text, reply_markup=markup))


async def taken_keyboard(r: Rendering, order: ServiceOrder) -> InlineKeyboardMarkup | None:
    """The card of the one who has the order; a team's leader may also hand it on."""
    team = await _service(r).team(order.team_id) if order.team_id else None
    rows = [[a] for a in actions(Side.PARTNER, order.state)]
    if team is not None and team.leader_id == r.chat_id and order.state == OrderState.TAKEN:
        rows.append(["hand"])
    return keyboard(r.t, rows, order.id)


async def _partner_name(r: Rendering, order: ServiceOrder) -> str:
    partner = await r.services.session.get(Partner, order.partner_id) if order.partner_id else None
    return e(partner.real_name) if partner else "—"


async def render_news(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    event = str(r.params.get("event", ""))
    if event not in ("taken", "visited", "done", "release", "cancelled", "from_appeal"):
        raise Gone("unknown event")
    text = r.t(
        f"partner.news.{event}",
        **fields,
        partner=await _partner_name(r, order),
        appeal=e(r.params.get("appeal", "")),
    )
    markup: InlineKeyboardMarkup | None = None
    if event == "done":
        if order.state != OrderState.DONE:
            raise Gone("confirmed meanwhile")
        markup = resident_keyboard(r.t, order)
    elif event in ("taken", "visited", "from_appeal") and order.state in (
        OrderState.OPEN,
        OrderState.TAKEN,
        OrderState.VISITED,
    ):
        markup = resident_keyboard(r.t, order)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text, reply_markup=markup)]


async def render_dispatch(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    why = str(r.params.get("why", "nobody"))
    if why in ("nobody", "declined") and order.state not in (
        OrderState.OPEN,
        OrderState.ASSIGNED,
    ):
        raise Gone("taken meanwhile")
    if why == "stuck" and order.state in (OrderState.CONFIRMED, OrderState.CANCELLED):
        raise Gone("closed meanwhile")
    minutes = int(_service(r).policy.dispatch_window(order.skill).total_seconds() // 60)
    reason = r.t(f"partner.card.why_{why}", minutes=minutes)
    text = r.t("partner.card.dispatch", **fields, **await _address(r, order), why=reason)
    markup = staff_keyboard(r.t, order)
    chat = r.chat_id
    return _with_voice(r, order, lambda: r.bot.send_message(chat, text, reply_markup=markup))


async def render_chase(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    why = str(r.params.get("why", "partner"))
    markup: InlineKeyboardMarkup | None
    if why == "resident":
        if order.state != OrderState.DONE:
            raise Gone("confirmed meanwhile")
        markup = resident_keyboard(r.t, order)
    else:
        if order.state not in (OrderState.TAKEN, OrderState.VISITED):
            raise Gone("done meanwhile")
        markup = partner_keyboard(r.t, order)
    text = r.t(f"partner.chase.{why}", **fields)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text, reply_markup=markup)]


async def render_credited(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    balance = await _service(r).balance(r.chat_id)
    rating = r.t(f"partner.rating.{Rating(order.rating or Rating.SATISFIED).value}")
    text = r.t(
        "partner.credited",
        number=fields["number"],
        rating=rating,
        points=int(r.params.get("points", 0)),
        balance=balance,
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def _application_text(r: Rendering, partner: Partner, result: str = "") -> str:
    user = await r.services.session.get(User, partner.user_id)
    building = (
        await r.services.hierarchy.get(user.building_id) if user and user.building_id else None
    )
    community = await r.services.hierarchy.get(partner.community_id)
    return r.t(
        "partner.card.application",
        title=r.t("partner.card.title_decided" if result else "partner.card.title_new"),
        community=e(community.name) if community else "—",
        name=e(partner.real_name),
        phone=e(partner.phone),
        building=e(building.name) if building else "—",
        skills=skills_text(r.t, partner.skills),
        slots=slots_text(r.t, partner.availability),
        intro=e(partner.intro) or r.t("partner.apply.none"),
        result=result,
    )


async def render_application(r: Rendering) -> list[Send]:
    partner = await _service(r).partner(r.message.subject_id or 0)
    if partner is None or partner.state != PartnerState.PENDING:
        raise Gone("decided meanwhile")
    text = await _application_text(r, partner)
    markup = keyboard(r.t, [["approve", "reject"]], partner.user_id)
    chat = r.chat_id
    card: Send = lambda: r.bot.send_message(chat, text, reply_markup=markup)  # noqa: E731
    if partner.certificate_file_id is None:
        return [card]
    # The certificate first and the card last: the card is the message the outbox
    # records, and edits once the application is decided.
    photo = partner.certificate_file_id
    return [lambda: r.bot.send_photo(chat, photo), card]


async def render_application_decided(r: Rendering) -> list[Send]:
    """The cards this staff member got for the application, edited to the decision:
    what, by whom, when (and the reason of a rejection); no buttons left."""
    partner = await _service(r).partner(r.message.subject_id or 0)
    if partner is None or partner.state not in (PartnerState.APPROVED, PartnerState.REJECTED):
        raise Gone("no longer decided that way")
    cards = (
        await r.services.session.scalars(
            select(OutboxMessage.message_id).where(
                OutboxMessage.kind == APPLICATION,
                OutboxMessage.subject_id == partner.user_id,
                OutboxMessage.user_id == r.chat_id,
                OutboxMessage.id > int(r.params.get("since", 0)),
                OutboxMessage.id < r.message.id,
                OutboxMessage.message_id.is_not(None),
            )
        )
    ).all()
    if not cards:
        raise Gone("no card to edit")
    by = await r.services.users.get(partner.decided_by) if partner.decided_by else None
    approved = partner.state == PartnerState.APPROVED
    result = r.t(
        "partner.card.approved_by" if approved else "partner.card.rejected_by",
        who=e(by.display_name) if by else "—",
        at=local_time(partner.decided_at, r.settings.zone)[5:],
        reason=e(partner.reason or ""),
    )
    text = await _application_text(r, partner, "\n\n" + result)
    chat = r.chat_id

    def edit(message_id: int) -> Send:
        return lambda: r.bot.edit_message_text(text, chat_id=chat, message_id=message_id)

    return [edit(int(m)) for m in cards if m is not None]


async def render_decision(r: Rendering) -> list[Send]:
    partner = await _service(r).partner(r.chat_id)
    if partner is None:
        raise Gone("application withdrawn")
    community = await r.services.hierarchy.get(partner.community_id)
    state = PartnerState(partner.state)
    key = {
        PartnerState.APPROVED: "reinstated" if r.params.get("reinstated") else "approved",
        PartnerState.REJECTED: "rejected",
        PartnerState.SUSPENDED: "suspended",
    }.get(state)
    if key is None:
        raise Gone("pending again")
    text = r.t(
        f"partner.decision.{key}",
        community=e(community.name) if community else "",
        reason=e(partner.reason or ""),
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def render_call_closed(r: Rendering) -> list[Send]:
    service = _service(r)
    recruitment = await r.services.session.get(RecruitmentCall, r.message.subject_id or 0)
    if recruitment is None:
        raise Gone("call deleted")
    figures = await service.call_figures(recruitment)
    text = r.t(
        "partner.call.closed",
        title=e(recruitment.title),
        applied=figures.applied,
        quota=recruitment.quota,
        approved=figures.approved,
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def _nomination(r: Rendering) -> tuple[Nomination, dict[str, str]]:
    nomination = await r.services.session.get(Nomination, r.message.subject_id or 0)
    if nomination is None:
        raise Gone("nomination deleted")
    by = await r.services.users.get(nomination.by_id) if nomination.by_id else None
    community = await r.services.hierarchy.get(nomination.community_id)
    building = (
        await r.services.hierarchy.get(nomination.building_id) if nomination.building_id else None
    )
    return nomination, {
        "by": e(by.display_name) if by else "—",
        "community": e(community.name) if community else "",
        "name": e(nomination.nominee_name),
        "building": e(building.name) if building else r.t("partner.nominate.in_chat"),
        "reason": e(nomination.reason),
    }


async def render_nominated(r: Rendering) -> list[Send]:
    nomination, fields = await _nomination(r)
    if nomination.state != "open":
        raise Gone("answered meanwhile")
    text = r.t("partner.nominate.to_nominee", **fields)
    markup = keyboard(r.t, [["nominee", "nominee_no"]], nomination.id)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text, reply_markup=markup)]


async def render_nomination(r: Rendering) -> list[Send]:
    nomination, fields = await _nomination(r)
    status = r.t(
        "partner.nominate.status_asked"
        if nomination.nominee_id
        else "partner.nominate.status_offline"
    )
    text = r.t("partner.nominate.to_staff", **fields, status=status)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


async def render_team_invite(r: Rendering) -> list[Send]:
    service = _service(r)
    team = await service.team(r.message.subject_id or 0)
    if team is None:
        raise Gone("team deleted")
    leader = await service.partner(team.leader_id)
    text = r.t(
        "partner.team.invite_text",
        leader=e(leader.real_name) if leader else "—",
        name=e(team.name),
        skills=skills_text(r.t, team.skills),
    )
    markup = keyboard(r.t, [["join", "join_no"]], team.id)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text, reply_markup=markup)]


async def render_relay(r: Rendering) -> list[Send]:
    order, fields = await _order(r)
    side = str(r.params.get("side", ""))
    if order.state in (OrderState.CANCELLED, OrderState.OPEN):
        raise Gone("no longer between them")
    source, message_id = int(r.params.get("chat", 0)), int(r.params.get("message", 0))
    who = (
        r.t("partner.relay.from_partner", partner=await _partner_name(r, order))
        if side == "partner"
        else r.t("partner.relay.from_resident")
    )
    header = r.t("partner.relay.header", number=fields["number"], who=who)
    markup = keyboard(r.t, [["msg"]], order.id)
    chat = r.chat_id
    return [
        lambda: r.bot.send_message(chat, header),
        lambda: r.bot.copy_message(chat, source, message_id, reply_markup=markup),
    ]


async def render_recognition(r: Rendering) -> list[Send]:
    service = _service(r)
    recognition = await service.recognition(r.message.subject_id or 0)
    if recognition is None or recognition.state != "proposed":
        raise Gone("decided meanwhile")
    start, end, _ = month_bounds_of(recognition.month, service.policy.zone)
    rows = {
        row.partner_id: row for row in await service.month(recognition.community_id, start, end)
    }
    lines = [
        r.t(
            "partner.recognise.line",
            name=e(rows[pid].name),
            points=rows[pid].points,
            confirmed=rows[pid].confirmed,
            rate=int(rows[pid].satisfaction * 100),
        )
        for pid in recognition.partner_ids
        if pid in rows
    ]
    p = service.policy
    text = r.t(
        "partner.recognise.proposal",
        month=recognition.month,
        lines="\n".join(lines),
        min=p.recognise_min_orders,
        rate=int(p.recognise_min_satisfied * 100),
    )
    markup = keyboard(r.t, [["recognise"]], recognition.id)
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text, reply_markup=markup)]


async def render_showcase_post(r: Rendering) -> list[Send]:
    """晒单 in the community's channel: what the in-bot showcase shows, nothing more."""
    order = await _service(r).order(r.message.subject_id or 0)
    if order is None or not order.may_show or order.state != OrderState.CONFIRMED:
        raise Gone("no longer shown")
    community = await r.services.hierarchy.get(order.community_id)
    partner = await r.services.session.get(Partner, order.partner_id) if order.partner_id else None
    text = r.t(
        "partner.showcase.post",
        community=e(community.name) if community else "",
        date=local_time(order.confirmed_at, r.settings.zone)[:10],
        skill=skill_label(r.t, order.skill),
        partner=e(partner.real_name) if partner else "—",
        rating=r.t(f"partner.rating.{order.rating or 'satisfied'}"),
    )
    chat, photo = r.chat_id, order.photo_file_id
    if photo:
        return [lambda: r.bot.send_photo(chat, photo, caption=text)]
    return [lambda: r.bot.send_message(chat, text)]


async def render_showcase_withdraw(r: Rendering) -> list[Send]:
    """The resident changed her mind: the post goes. A bot may delete only for 48 hours;
    after that the post is edited down to a line saying it was withdrawn."""
    chat, message_id = r.chat_id, int(r.params["message"])
    posted_at = datetime.fromisoformat(str(r.params["posted_at"]))
    if r.services.now() - posted_at < DELETE_WINDOW:
        return [lambda: r.bot.delete_message(chat, message_id)]
    text = r.t("partner.showcase.withdrawn")
    if r.params.get("photo"):
        return [
            lambda: r.bot.edit_message_caption(chat_id=chat, message_id=message_id, caption=text)
        ]
    return [lambda: r.bot.edit_message_text(text, chat_id=chat, message_id=message_id)]


async def render_channel_failing(r: Rendering) -> list[Send]:
    """To community staff, once per breakage: the showcase channel refuses the bot's
    posts, and how to fix it."""
    channel = await _service(r).showcase_channel(r.message.subject_id or 0)
    if channel is None or channel.failing_since is None:
        raise Gone("fixed or changed meanwhile")
    text = r.t(
        "partner.channel.failing_staff",
        title=e(channel.title or str(channel.chat_id)),
        error=e(str(r.params.get("error") or "—")),
        button=r.t("partner.channel.button"),
        pick=r.t("partner.channel.pick"),
    )
    chat = r.chat_id
    return [lambda: r.bot.send_message(chat, text)]


RENDERERS: dict[str, Renderer] = {
    CHANNEL_FAILING: render_channel_failing,
    SHOWCASE_POST: render_showcase_post,
    SHOWCASE_WITHDRAW: render_showcase_withdraw,
    RECOGNITION: render_recognition,
    RELAY: render_relay,
    TEAM_INVITE: render_team_invite,
    NOMINATED: render_nominated,
    NOMINATION: render_nomination,
    CALL_CLOSED: render_call_closed,
    OFFER: render_offer,
    OFFER_GONE: render_offer_gone,
    TAKEN: render_taken,
    ORDER_NEWS: render_news,
    DISPATCH: render_dispatch,
    CHASE: render_chase,
    CREDITED: render_credited,
    APPLICATION: render_application,
    APPLICATION_DECIDED: render_application_decided,
    DECISION: render_decision,
}

__all__ = ["RENDERERS", "PartnerPolicy"]
