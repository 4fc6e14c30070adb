"""Other channels (Open311): the feature's record. Its web face is ``web/channels``
(GeoReport v2 under /open311/v2); admins manage channels and keys with /channels."""

from __future__ import annotations

from collections.abc import Sequence

from bot.registry import Feature, WebRoutes
from storage.channels.limits import ChannelLimits


def _web() -> Sequence[WebRoutes]:
    from web.channels import channels_web

    return channels_web()


FEATURE = Feature(
    name="channels",
    config=lambda: [ChannelLimits()],
    web=_web,
)
