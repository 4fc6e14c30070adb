"""The appeal feature's settings: categories and deadlines, read from the environment or
.env like the bot's own (APPEAL_DEADLINES, APPEAL_CATEGORIES)."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from bot.config import ENV, load_config
from storage.appeals import AppealPolicy


class AppealSettings(BaseSettings):
    model_config = ENV

    # JSON, hours per category: {"safety": {"accept": 2, "resolve": 24, "feedback": 48}};
    # "default" replaces the 123 rule, "urgent" the urgent call's.
    appeal_deadlines: dict[str, dict[str, float]] = Field(default_factory=dict)
    # JSON list of {"code", "zh", "en"}; empty keeps the nine standard categories.
    appeal_categories: list[dict[str, str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _policy_is_valid(self) -> AppealSettings:
        try:
            self.policy()
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"APPEAL_DEADLINES: {exc}") from None
        return self

    def policy(self) -> AppealPolicy:
        return AppealPolicy.from_config(self.appeal_deadlines, self.appeal_categories or None)


def appeal_config() -> list[object]:
    return [load_config(AppealSettings).policy()]
