"""晒单 beyond the bot: a community's staff may name a channel or group where every order
a resident agreed to show is also posted, and taken down again if she changes her mind.
The post carries what the in-bot showcase does (skill, date, the partner's first name,
the rating, the photo), never the resident's data."""

from __future__ import annotations

from sqlalchemy import select

from storage.outbox import Lane, OutboxMessage
from storage.partners.base import PartnerBase
from storage.partners.kinds import SHOWCASE_POST, SHOWCASE_WITHDRAW
from storage.partners.models import ServiceOrder, ShowcaseChannel
from storage.partners.rules import PartnerError, PartnerProblem, may_decide
from storage.roles import Staffing


class ShowcaseChannels(PartnerBase):
    async def showcase_channel(self, community_id: int) -> ShowcaseChannel | None:
        return await self.session.get(ShowcaseChannel, community_id)

    async def set_showcase_channel(
        self, staffing: Staffing, community_id: int, chat_id: int | None, title: str = ""
    ) -> ShowcaseChannel | None:
        """Name the channel (``chat_id``), or stop posting (``None``). Orders shown
        before keep their posts where they were."""
        problem = may_decide(staffing, await self.hierarchy.get(community_id))
        if problem is not None:
            raise PartnerError(problem)
        if chat_id is not None and chat_id >= 0:
            raise PartnerError(PartnerProblem.BAD_INPUT, "a channel or group id is negative")
        current = await self.showcase_channel(community_id)
        if chat_id is None:
            if current is not None:
                await self.session.delete(current)
        elif current is None:
            current = ShowcaseChannel(
                community_id=community_id,
                chat_id=chat_id,
                title=title,
                set_by=staffing.user_id,
                set_at=self.now,
            )
            self.session.add(current)
        else:
            current.chat_id, current.title = chat_id, title
            current.set_by, current.set_at = staffing.user_id, self.now
        await self.audit.record(
            actor_id=staffing.user_id,
            action="partner.showcase_channel",
            at=self.now,
            object_type="node",
            object_id=community_id,
            chat_id=chat_id,
        )
        await self.session.flush()
        return current if chat_id is not None else None

    async def post_or_withdraw(self, order: ServiceOrder, shown_before: bool) -> None:
        """Called when the resident says show or hide: post once, or take the post down."""
        if bool(order.may_show) == shown_before:
            return
        if order.may_show:
            channel = await self.showcase_channel(order.community_id)
            if channel is not None:
                self.outbox.add(
                    [channel.chat_id],
                    SHOWCASE_POST,
                    now=self.now,
                    lane=Lane.BULK,
                    subject_id=order.id,
                )
            return
        posted = await self.session.scalar(
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == SHOWCASE_POST,
                OutboxMessage.subject_id == order.id,
                OutboxMessage.message_id.is_not(None),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        if posted is not None:
            self.outbox.add(
                [posted.user_id],
                SHOWCASE_WITHDRAW,
                now=self.now,
                lane=Lane.BULK,
                subject_id=order.id,
                message=posted.message_id,
                posted_at=(posted.sent_at or self.now).isoformat(),
                photo=bool(order.photo_file_id),
            )
