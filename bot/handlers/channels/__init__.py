"""Other channels (Open311): the feature's record. Its web face is ``web/channels``
(GeoReport v2 under /open311/v2); admins make, rotate and revoke channels' keys with
/channels."""

from __future__ import annotations

from collections.abc import Sequence

from bot.dialogs.channels.manage import channels_dialog
from bot.handlers.channels import commands
from bot.registry import ADMINS, Command, Feature, WebRoutes
from storage.channels.limits import ChannelLimits


def _web() -> Sequence[WebRoutes]:
    from web.channels import channels_web

    return channels_web()


FEATURE = Feature(
    name="channels",
    routers=lambda: [commands.build_router()],
    dialogs=lambda: [channels_dialog()],
    commands=(Command("channels", "channel.commands.channels", ADMINS, rank=42),),
    config=lambda: [ChannelLimits()],
    web=_web,
)
