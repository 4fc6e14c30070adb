"""Notices (通知): staff write once, the bot copies it to everyone in the chosen part of the
hierarchy through the outbox's bulk lane, counts who acknowledged, reminds once, and
gives each grid worker the households still to visit."""

from storage.notices.audience import AudienceRole, Recipients
from storage.notices.models import Notice, NoticeAck, NoticeState
from storage.notices.rules import NoticeProblem, may_manage, may_send
from storage.notices.service import NoticeService, Progress

__all__ = [
    "AudienceRole",
    "Notice",
    "NoticeAck",
    "NoticeProblem",
    "NoticeService",
    "NoticeState",
    "Progress",
    "Recipients",
    "may_manage",
    "may_send",
]
