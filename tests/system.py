"""What some tests need from the machine beyond Python packages (a browser, a Chinese
font, poppler). On a developer's bare machine such a test is skipped, saying what is
missing and how to install it; CI sets GRIDBOT_REQUIRE_SYSTEM=1, and there a missing
part fails the run instead (.ci/run installs them)."""

from __future__ import annotations

import os
import shutil

import pytest

from bot.fonts import find_cjk_font

REQUIRED = os.environ.get("GRIDBOT_REQUIRE_SYSTEM") == "1"


def _missing(what: str, install: str) -> None:
    message = f"{what} not found; install it with: {install}"
    if REQUIRED:
        pytest.fail(f"{message} (GRIDBOT_REQUIRE_SYSTEM=1: CI must have it)")
    pytest.skip(message)


def chromium() -> str:
    """The Chromium executable Playwright drives."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        _missing("Chromium", "apt-get install chromium (or set CHROMIUM_PATH)")
    assert path is not None
    return path


def cjk_font() -> str:
    font = find_cjk_font()
    if font is None:
        _missing("a font with Chinese glyphs", "apt-get install fonts-wqy-microhei")
    assert font is not None
    return font


def poppler(tool: str = "pdftoppm") -> str:
    path = shutil.which(tool)
    if path is None:
        _missing(f"poppler's {tool}", "apt-get install poppler-utils")
    assert path is not None
    return path
