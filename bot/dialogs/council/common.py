"""What the staff's council screens share: the council service, the community the staff
member runs (chosen when the dialog started, or the first they may host), its next
meeting, a refusal's sentence, and a window that asks for one typed answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.fsm.state import State
from aiogram.types import ContentType
from aiogram_dialog import DialogManager, Window
from aiogram_dialog.api.internal import Widget
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.input.base import MessageHandlerFunc
from aiogram_dialog.widgets.kbd import SwitchTo

from bot.kit.context import Ctx, ctx, start_data
from bot.kit.notice import notice_getter
from bot.kit.text import L, notice_text
from bot.kit.toast import toast
from storage.council import (
    CouncilError,
    CouncilService,
    Meeting,
    Topic,
)
from storage.council.rules import HOSTS
from storage.hierarchy import Node, NodeKind


def council(c: Ctx) -> CouncilService:
    return c.services.get(CouncilService)


async def hosted_community(c: Ctx, manager: DialogManager) -> Node | None:
    """The community chosen when the dialog started, or the first one the staff member
    runs (their own, or the first under their street or district)."""
    wanted = start_data(manager).get("community_id")
    for scope in c.staffing.scopes(HOSTS):
        if (
            scope is not None
            and scope.node_kind == NodeKind.COMMUNITY
            and wanted in (None, scope.id)
        ):
            return scope
    for scope in c.staffing.scopes(HOSTS):
        found = await c.services.hierarchy.of_kind(NodeKind.COMMUNITY, within=scope)
        for community in found:
            if wanted in (None, community.id):
                return community
    return None


async def hosted_meeting(c: Ctx, manager: DialogManager) -> tuple[Node | None, Meeting | None]:
    community = await hosted_community(c, manager)
    if community is None:
        return None, None
    return community, await council(c).next_meeting(community.id)


async def hosts_only(_: Any, manager: DialogManager) -> None:
    """A staff dialog's start: someone who runs no community's council (a resident who
    forged the hidden button, a stale button from a revoked role) is refused and the
    dialog closes before it shows anything."""
    c = ctx(manager)
    if await hosted_community(c, manager) is None:
        await toast(manager, c.t("common.not_allowed"), alert=True)
        await manager.done()


async def hosted_topic(c: Ctx, manager: DialogManager) -> Topic | None:
    """The topic the screen is about (``dialog_data["topic"]``, from a pressed button),
    read through the person's scope and only if it is on the hosted meeting."""
    topic_id = manager.dialog_data.get("topic")
    topic = await (await c.scoped()).topic(int(topic_id)) if topic_id else None
    meeting = (await hosted_meeting(c, manager))[1]
    if topic is None or meeting is None or topic.meeting_id != meeting.id:
        return None
    return topic


def problem_text(c: Ctx, exc: CouncilError) -> str:
    return c.t(f"council.problem.{exc.problem.value}")


def input_window(
    state: State,
    key: str,
    handler: MessageHandlerFunc,
    back: State,
    getter: Any = notice_getter,
    widgets: Sequence[Widget] = (),
) -> Window:
    return Window(
        notice_text(),
        L(key),
        MessageInput(handler, content_types=ContentType.ANY),
        *widgets,
        SwitchTo(L("council.back"), id=str(state.state).split(":")[-1] + "_back", state=back),
        state=state,
        getter=getter,
    )
