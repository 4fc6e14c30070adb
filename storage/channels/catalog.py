"""The services a channel sees (one per appeal category) and the attributes each
accepts: GeoReport's ``services`` and their definitions, as data. Their names and
descriptions are locale texts (``channel.group.*``, ``channel.attribute.*``)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.appeals.policy import AppealPolicy, Category


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # GeoReport: string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool = False
    values: tuple[str, ...] = ()  # keys of a list's values


URGENT = Attribute("urgent", "singlevaluelist", values=("true", "false"))
CALLBACK = Attribute("callback_phone", "string")
# The channel's own ticket number (a retry with it files nothing new): every service.
EXTERNAL_ID = Attribute("external_id", "string")

# Where a category sits in a channel's menu; categories configured later fall in "other".
GROUPS = {
    "sanitation": "living",
    "property": "living",
    "facilities": "living",
    "disputes": "safety",
    "safety": "safety",
    "public_order": "safety",
    "livelihood": "services",
    "enquiry": "services",
}
# A policy enquiry is answered, never rushed out: no urgency, no call-back line.
PLAIN = frozenset({"enquiry"})


def services(policy: AppealPolicy) -> tuple[Category, ...]:
    return policy.categories


def group_of(code: str) -> str:
    return GROUPS.get(code, "other")


def attributes_of(code: str) -> tuple[Attribute, ...]:
    """The attributes a service's definition lists (``metadata`` is true when any)."""
    return () if code in PLAIN else (URGENT, CALLBACK)


def accepted_attributes(code: str) -> frozenset[str]:
    return frozenset(a.code for a in (*attributes_of(code), EXTERNAL_ID))
