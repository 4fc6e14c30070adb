"""Finding a font with Chinese glyphs, for what the bot draws itself (QR posters,
charts): the one the operator configured, well-known locations, then fontconfig."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


def find_cjk_font(explicit: str | None = None) -> str | None:
    """A TrueType/OpenType font file with Chinese glyphs, or None.

    Order: the path the caller gives (the QR_FONT setting), $QR_FONT, well-known
    locations, then fontconfig."""
    return next(cjk_font_candidates(explicit), None)


def cjk_font_candidates(explicit: str | None = None) -> Iterator[str]:
    """Every font file with Chinese glyphs, best first (the order of ``find_cjk_font``),
    for a caller that cannot use some of them: reportlab embeds only TrueType outlines,
    not the CFF ones of Noto Sans CJK."""
    seen: set[str] = set()
    for wanted in (explicit, os.environ.get("QR_FONT")):
        if not wanted or wanted in seen:
            continue
        seen.add(wanted)
        if Path(wanted).is_file():
            yield wanted
        else:
            log.warning("QR font %s does not exist; looking for another Chinese font", wanted)
    for candidate in CJK_FONT_CANDIDATES:
        if candidate not in seen and Path(candidate).is_file():
            seen.add(candidate)
            yield candidate
    # Asked only when the caller wants more than the well-known fonts: it runs fc-list.
    for candidate in _fontconfig_cjk_fonts():
        if candidate not in seen:
            seen.add(candidate)
            yield candidate


def _fontconfig_cjk_fonts() -> list[str]:
    # fc-list (unlike fc-match, which always answers with *some* font) only lists fonts
    # that really cover Chinese.
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh-cn", "file"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(
        line.strip().rstrip(":")
        for line in out.splitlines()
        if line.strip().lower().endswith((".ttf:", ".ttc:", ".otf:", ".otc:"))
    )
