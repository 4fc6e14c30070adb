"""How partners and service orders read in the chat: labels, the order cards each side
gets (a partner offered an order never sees who ordered it; the one who has it, and
staff, do) and their buttons, derived from the rules in storage.partners."""

from __future__ import annotations

from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.dialogs.partners.callbacks import PartnerPress
from bot.formatting import e
from bot.i18n import Translator
from storage.partners import PartnerPolicy, Rating, ServiceOrder, Side, actions
from storage.partners.slots import Slot

CONFIRMS = ("confirm_satisfied", "confirm_fair", "confirm_unsatisfied")


def skill_label(t: Translator, skill: str) -> str:
    return t(f"partner.skill.{skill}")


def skills_text(t: Translator, skills: list[str] | tuple[str, ...]) -> str:
    return t("common.list_sep").join(skill_label(t, s) for s in skills) or t("partner.apply.none")


def slots_text(t: Translator, slots: list[str] | tuple[str, ...]) -> str:
    return t("common.list_sep").join(t(f"partner.slot.{s}") for s in slots) or t(
        "partner.apply.none"
    )


def tier_text(t: Translator, policy: PartnerPolicy, tier: int) -> str:
    return t(
        "partner.tier",
        tier=t(f"partner.tier_name.t{max(1, min(3, tier))}"),
        points=policy.points_for(tier),
    )


def when_text(t: Translator, preferred: str) -> str:
    if preferred == "any" or ":" not in preferred:
        return t("partner.when.any")
    day, half = preferred.split(":", 1)
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        return t("partner.when.any")
    return t(
        "partner.when.day_half", date=f"{parsed.month}/{parsed.day}", half=t(f"partner.when.{half}")
    )


def when_label(t: Translator, slot: Slot) -> str:
    """Today, tomorrow and the day after by those words, later days by their weekday."""
    day = {0: "today", 1: "tomorrow", 2: "after"}.get(slot.offset, f"wd{slot.day.weekday()}")
    return t(
        "partner.when.label",
        day=t(f"partner.when.{day}"),
        half=t(f"partner.when.{slot.half}"),
        date=f"{slot.day.month}/{slot.day.day}",
    )


def order_fields(
    t: Translator, policy: PartnerPolicy, order: ServiceOrder, place: str
) -> dict[str, str]:
    return {
        "number": order.number,
        "skill": skill_label(t, order.skill),
        "tier": tier_text(t, policy, order.tier),
        "text": e(order.description) if order.description else "🎤",
        "voice": t("partner.card.voice") if order.voice_file_id else "",
        "when": when_text(t, order.preferred),
        "place": e(place),
        "state": t(f"partner.order_state.{order.state}"),
    }


def button(t: Translator, action: str, ref: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t(f"partner.button.{action}"),
        callback_data=PartnerPress(action=action, ref=ref).pack(),
    )


def keyboard(t: Translator, rows: list[list[str]], ref: int) -> InlineKeyboardMarkup | None:
    rows = [r for r in rows if r]
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[button(t, a, ref) for a in r] for r in rows])


def partner_keyboard(t: Translator, order: ServiceOrder) -> InlineKeyboardMarkup | None:
    allowed = actions(Side.PARTNER, order.state)
    return keyboard(t, [[a] for a in allowed], order.id)


def resident_keyboard(t: Translator, order: ServiceOrder) -> InlineKeyboardMarkup | None:
    allowed = actions(Side.RESIDENT, order.state)
    rows: list[list[str]] = []
    if "confirm" in allowed:
        rows.append(list(CONFIRMS))
    rows.append([a for a in allowed if a not in ("confirm", "comment")])
    if "comment" in allowed:
        rows.append(["comment"])
    return keyboard(t, rows, order.id)


def staff_keyboard(t: Translator, order: ServiceOrder) -> InlineKeyboardMarkup | None:
    return keyboard(t, [list(actions(Side.STAFF, order.state))], order.id)


def rated_line(t: Translator, order: ServiceOrder) -> str:
    return t(
        "partner.rated",
        number=order.number,
        rating=t(f"partner.rating.{order.rating or Rating.SATISFIED}"),
    )


def showcase_keyboard(t: Translator, order: ServiceOrder) -> InlineKeyboardMarkup | None:
    """The 晒单 question's buttons, and 写几句评价 while she has written none."""
    rows = [["show", "hide"]]
    if not (order.comment or order.comment_voice_file_id):
        rows.append(["comment"])
    return keyboard(t, rows, order.id)
