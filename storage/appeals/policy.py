"""Appeal categories and deadlines ("123": accept in 24 h, resolve in 48 h, feedback in
72 h; urgent calls accepted in 30 min), configurable per category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

DEFAULT_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("sanitation", "环境卫生", "Sanitation"),
    ("property", "物业服务", "Property management"),
    ("facilities", "设施维修", "Facility repairs"),
    ("disputes", "矛盾纠纷", "Neighbour disputes"),
    ("safety", "安全隐患", "Safety hazard"),
    ("public_order", "治安", "Public order"),
    ("livelihood", "民生服务", "Livelihood services"),
    ("enquiry", "政策咨询", "Policy enquiry"),
    ("other", "其他", "Other"),
)
URGENT_CATEGORY = "urgent"


@dataclass(frozen=True)
class Deadlines:
    accept: timedelta
    resolve: timedelta
    feedback: timedelta

    @property
    def accept_reminder_lead(self) -> timedelta:
        return _lead(self.accept)

    @property
    def resolve_reminder_lead(self) -> timedelta:
        return _lead(self.resolve)

    @property
    def work_window(self) -> timedelta:
        """The handling window for the work itself once accepted (24 h of the 123 rule):
        what a level the appeal reaches, or a worker it is assigned to, gets."""
        return self.resolve - self.accept


def _lead(window: timedelta) -> timedelta:
    """Remind two hours ahead, or a third of a short window (10 minutes of 30)."""
    return min(timedelta(hours=2), window / 3)


STANDARD = Deadlines(timedelta(hours=24), timedelta(hours=48), timedelta(hours=72))
URGENT = Deadlines(timedelta(minutes=30), timedelta(hours=24), timedelta(hours=48))
RATING_WINDOW = timedelta(days=7)
# After 不满意 the owner's card waits this long for the resident's reason, so that it
# arrives with it; a reason typed sooner sends it at once.
REASON_WAIT = timedelta(minutes=15)


@dataclass(frozen=True)
class Category:
    code: str
    zh: str
    en: str

    def name(self, language: str) -> str:
        return self.en if language == "en" else self.zh


@dataclass(frozen=True)
class AppealPolicy:
    categories: tuple[Category, ...] = tuple(Category(*c) for c in DEFAULT_CATEGORIES)
    standard: Deadlines = STANDARD
    urgent: Deadlines = URGENT
    per_category: Mapping[str, Deadlines] = field(default_factory=dict)
    rating_window: timedelta = RATING_WINDOW
    reason_wait: timedelta = REASON_WAIT

    def deadlines(self, category: str, *, urgent: bool) -> Deadlines:
        if urgent:
            return self.urgent
        return self.per_category.get(category, self.standard)

    def category(self, code: str) -> Category | None:
        if code == URGENT_CATEGORY:
            return Category(URGENT_CATEGORY, "一键呼叫", "Urgent call")
        return next((c for c in self.categories if c.code == code), None)

    def category_name(self, code: str, language: str) -> str:
        category = self.category(code)
        return category.name(language) if category else code

    @classmethod
    def from_config(
        cls,
        deadlines: Mapping[str, Mapping[str, Any]] | None = None,
        categories: Sequence[Mapping[str, str]] | None = None,
    ) -> AppealPolicy:
        """``deadlines``: {"safety": {"accept": 2, "resolve": 24, "feedback": 48}} in hours;
        the key "default" replaces the 123 rule and "urgent" the urgent call's."""
        cats = (
            tuple(
                Category(c["code"], c.get("zh", c["code"]), c.get("en", c["code"]))
                for c in categories
            )
            if categories
            else cls().categories
        )
        table = dict(deadlines or {})
        standard = _hours(table.pop("default", None), STANDARD)
        urgent = _hours(table.pop("urgent", None), URGENT)
        known = {c.code for c in cats}
        unknown = set(table) - known
        if unknown:
            raise ValueError(f"deadlines for unknown categories: {sorted(unknown)}")
        per = {code: _hours(spec, standard) for code, spec in table.items()}
        return cls(categories=cats, standard=standard, urgent=urgent, per_category=per)


def _hours(spec: Mapping[str, Any] | None, base: Deadlines) -> Deadlines:
    if not spec:
        return base
    extra = set(spec) - {"accept", "resolve", "feedback"}
    if extra:
        raise ValueError(f"unknown deadline keys: {sorted(extra)}")

    def get(name: str, fallback: timedelta) -> timedelta:
        value = spec.get(name)
        if value is None:
            return fallback
        hours = float(value)
        if hours <= 0:
            raise ValueError(f"{name} must be a positive number of hours")
        return timedelta(hours=hours)

    result = Deadlines(
        get("accept", base.accept), get("resolve", base.resolve), get("feedback", base.feedback)
    )
    if not result.accept <= result.resolve <= result.feedback:
        raise ValueError("deadlines must satisfy accept ≤ resolve ≤ feedback")
    return result
