"""How an appeal from another channel reads on a staff card: where it came from, and for
whom the chat shows a resident's contact (its owner, everyone an urgent call reaches)
the caller's name and phone; an address that matched no building, to be placed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import e
from bot.i18n import Translator
from storage.appeals import Appeal
from storage.channels.models import Channel, ChannelAppeal


async def caller_lines(
    session: AsyncSession, appeal: Appeal, t: Translator, *, contact: bool
) -> list[str]:
    """Nothing for an appeal filed in the chat."""
    if appeal.resident_id is not None:
        return []
    row = (
        await session.execute(
            select(ChannelAppeal, Channel.name)
            .join(Channel, Channel.id == ChannelAppeal.channel_id)
            .where(ChannelAppeal.appeal_id == appeal.id)
        )
    ).first()
    if row is None:
        return []
    filed, name = row
    lines = []
    if contact and appeal.contact_phone:
        phone = e(appeal.contact_phone)
        if filed.caller_name:
            lines.append(
                t("channel.caller", channel=e(name), name=e(filed.caller_name), phone=phone)
            )
        else:
            lines.append(t("channel.caller_no_name", channel=e(name), phone=phone))
    else:
        lines.append(t("channel.origin", channel=e(name)))
    if appeal.building_id is None and filed.address_string:
        lines.append(t("channel.unplaced_card", address=e(filed.address_string)))
    return lines
