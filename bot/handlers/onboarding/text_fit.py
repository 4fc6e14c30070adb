"""Fitting a printed label into a width: wrapping at " · " (so a community, grid or
building name stays whole) or else between characters, and shrinking down to a smallest
size. Nothing is ever cut: at the smallest size a text takes as many lines as it needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

TITLE_SEPARATOR = " · "
SHRINK_STEP = 0.92  # each try is this much smaller than the one before
LEADING = 1.3  # line height, as a multiple of the font size


def fit_lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``width``: at " · " when possible, else
    between characters. A single character wider than ``width`` still gets its line."""
    lines: list[str] = []
    current = ""
    for part in text.split(TITLE_SEPARATOR):
        candidate = part if not current else current + TITLE_SEPARATOR + part
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in part:
            if current and measure(current + char) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class FittedText:
    size: float
    lines: tuple[str, ...]

    @property
    def leading(self) -> float:
        return self.size * LEADING

    @property
    def height(self) -> float:
        return len(self.lines) * self.leading


def shrink_to_fit(
    text: str,
    width: float,
    measure: Callable[[str, float], float],
    *,
    largest: float,
    smallest: float,
    max_lines: int,
) -> FittedText:
    """``text`` at the largest size from ``largest`` down to ``smallest`` at which it
    takes at most ``max_lines`` lines of ``width``; at ``smallest`` it takes what it
    needs."""
    size = largest
    while True:
        fitted = FittedText(size, tuple(_lines_at(text, width, measure, size)))
        if len(fitted.lines) <= max_lines or size <= smallest:
            return fitted
        size = max(smallest, size * SHRINK_STEP)


def _lines_at(
    text: str, width: float, measure: Callable[[str, float], float], size: float
) -> list[str]:
    return fit_lines(text, width, lambda s: measure(s, size))
