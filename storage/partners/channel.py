"""晒单 beyond the bot: a community's staff may name a channel or group where every order
a resident agreed to show is also posted, and taken down again if she changes her mind.
The post carries what the in-bot showcase does (skill, date, the partner's first name,
the rating, the photo), never the resident's data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, func, or_, select

from storage.outbox import Lane, OutboxMessage
from storage.partners.base import PartnerBase
from storage.partners.kinds import CHANNEL_FAILING, SHOWCASE_POST, SHOWCASE_WITHDRAW
from storage.partners.models import ServiceOrder, ShowcaseChannel
from storage.partners.rules import PartnerError, PartnerProblem, may_decide
from storage.roles import Staffing

# Refused posts are looked for this far back: a post is retried for well under an hour.
FAILURES_WITHIN = timedelta(days=1)
# Telegram's refusal of the chat itself (removed, kicked, no right to post, gone), as the
# outbox records it; not a post that had nothing left to show (withdrawn before sending).
_REFUSED = or_(
    OutboxMessage.error.like("Forbidden:%"),
    and_(
        OutboxMessage.error.like("Bad Request:%"),
        or_(OutboxMessage.error.ilike("%chat%"), OutboxMessage.error.ilike("%rights%")),
    ),
)


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
            current.failing_since = None  # picked again: the next refusal is told again
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

    async def check_channels(self) -> int:
        """Posts Telegram refused (the bot was removed from the channel, or may no longer
        post there) are otherwise only logged: the community's staff are told, once per
        breakage, with how to fix it. A post that gets through after the last refused one
        ends the breakage. Returns how many communities were told."""
        failing = await self.session.scalars(
            select(ShowcaseChannel).where(ShowcaseChannel.failing_since.is_not(None))
        )
        for channel in failing.all():
            if await self._last_post(channel.chat_id, sent=True) > await self._last_post(
                channel.chat_id, sent=False
            ):
                channel.failing_since = None
        refused = await self.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.kind == SHOWCASE_POST,
                OutboxMessage.sent_at.is_(None),
                _REFUSED,
                OutboxMessage.created_at >= self.now - FAILURES_WITHIN,
            )
            .order_by(OutboxMessage.id.desc())
        )
        latest: dict[int, OutboxMessage] = {}
        for post in refused.all():
            latest.setdefault(post.user_id, post)
        told = 0
        for chat_id, post in latest.items():
            channels = await self.session.scalars(
                select(ShowcaseChannel).where(
                    ShowcaseChannel.chat_id == chat_id,
                    ShowcaseChannel.failing_since.is_(None),
                    ShowcaseChannel.set_at <= post.created_at,  # refused since it was set
                )
            )
            for channel in channels.all():
                if await self._last_post(chat_id, sent=True) > post.id:
                    continue  # refused once, fine since
                channel.failing_since = self.now
                told += 1
                self.outbox.add(
                    await self.deciders(channel.community_id),
                    CHANNEL_FAILING,
                    now=self.now,
                    lane=Lane.TASK,
                    subject_id=channel.community_id,
                    error=(post.error or "")[:200],
                )
        return told

    async def _last_post(self, chat_id: int, *, sent: bool) -> int:
        """The newest post to the chat that got through (``sent``) or was refused."""
        state = (
            OutboxMessage.sent_at.is_not(None)
            if sent
            else and_(OutboxMessage.sent_at.is_(None), _REFUSED)
        )
        found = await self.session.scalar(
            select(func.max(OutboxMessage.id)).where(
                OutboxMessage.kind == SHOWCASE_POST, OutboxMessage.user_id == chat_id, state
            )
        )
        return int(found or 0)
