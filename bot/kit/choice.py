"""How a chosen option reads, the same in every feature: "☑️ " before the chosen one of a
single choice (an RSVP, a ballot, a closing time) and before each ticked one of a
multi-select, whose unticked options read "⬜ " so they show they can be ticked too.

Options' own labels carry no tick or cross of their own ("参加", not "✅ 参加"), and
buttons that do something rather than choose ("▶️ 发起表决") never start with ☑️, so a
chosen option is never mistaken for an action or doubled ("✅ ✅ 参加")."""

from __future__ import annotations

CHOSEN = "☑️ "
UNCHOSEN = "⬜ "


def chosen(label: str, is_chosen: bool) -> str:
    """An option of a single choice: the chosen one marked, the others as they are."""
    return CHOSEN + label if is_chosen else label


def ticked(label: str, is_ticked: bool) -> str:
    """An option of a multi-select: ticked or not, each shows which."""
    return (CHOSEN if is_ticked else UNCHOSEN) + label
