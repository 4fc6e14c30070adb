"""What the browser tests of the sandbox page share: where artifacts go, and finding a
persona's pane and pressing its buttons as a user would."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pane(page: Page, user_id: int) -> Locator:
    return page.locator(f'.pane[data-user="{user_id}"]')


async def press(chat: Locator, label: str) -> None:
    """Press the newest inline button with this label, as a user would."""
    await chat.locator(".ikb", has_text=label).last.click()
