"""A headless Chromium (Debian's, driven by Playwright) for the sandbox page's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.sandbox.browsing import CHROMIUM_ARGS
from tests.system import chromium

# Bot round trips take milliseconds; this only bounds a failure.
expect.set_options(timeout=10_000)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()  # skipped on a bare machine, a failure on CI
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()
