"""The shape the code keeps: storage never imports the chat layer, a feature is one
sub-package in each layer registered once, everything the registry names exists, and no
two windows of a dialog share a button id (a double tap must not press the next
window's button of the same name)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiogram_dialog import Dialog

from bot.features import FEATURES
from bot.i18n import LANGUAGES, catalog
from bot.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
CHAT_LAYER = ("aiogram", "aiogram_dialog", "bot", "emulator", "sandbox")
# Home (the main menu, /help, /language) keeps nothing of its own in the database.
NO_STORAGE = {"home"}


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_storage_never_imports_the_chat_layer() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "storage").rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in CHAT_LAYER
    ]
    assert len(list((ROOT / "storage").rglob("*.py"))) > 20
    assert offenders == []


def test_storage_never_imports_the_web_faces() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "storage").rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in ("web", "aiohttp", "jinja2")
    ]
    assert offenders == []


def test_the_tools_do_not_live_in_the_chat_layer() -> None:
    assert not (ROOT / "bot" / "emulator").exists()
    assert not (ROOT / "bot" / "sandbox").exists()
    emulator_imports = {
        name.split(".")[0] for path in (ROOT / "emulator").rglob("*.py") for name in _imports(path)
    }
    assert not emulator_imports & {"bot", "storage", "sandbox"}


def test_every_feature_is_one_package_in_each_layer() -> None:
    assert [f.name for f in FEATURES] == [
        "home",
        "staff",
        "onboarding",
        "privacy",
        "appeals",
        "notices",
        "partners",
        "council",
        "desk",
        "channels",
    ]
    for feature in FEATURES:
        layers = ["bot/handlers", "bot/dialogs", "tests"]
        if feature.name not in NO_STORAGE:
            layers.append("storage")
        for layer in layers:
            package = ROOT / layer / feature.name
            assert (package / "__init__.py").is_file(), f"{layer}/{feature.name}"


def test_one_list_registers_everything() -> None:
    registry = Registry(FEATURES)
    assert set(registry.renderers) >= {"appeal.task", "appeal.status"}
    assert [j.name for j in registry.jobs()] == [
        "appeal-deadlines",
        "notices-progress",
        "notices-follow-up",
        "partner-orders",
        "council",
        "desk-ended",
    ]
    assert len(registry.forget_hooks()) >= 1
    assert [e.id for e in registry.menu][:3] == ["file", "urgent", "mine"]
    assert [c.name for c in registry.commands_for(None)] == [
        "start",
        "menu",
        "new",
        "sos",
        "appeals",
        "order",
        "partner",
        "showcase",
        "council",
        "building",
        "privacy",
        "settings",
        "language",
        "help",
    ]


def test_every_text_the_registry_names_exists_in_both_languages() -> None:
    registry = Registry(FEATURES)
    keys = {e.label for e in registry.menu}
    keys |= {c.description for c in registry.commands} | {
        c.help for c in registry.commands if c.help
    }
    keys |= {h.label for h in registry.held()}
    keys |= {v.label for v in (*registry.stats_views, *registry.settings_views)}
    keys |= {key for f in FEATURES for key in f.help_tips.values()}
    for language in LANGUAGES:
        missing = keys - set(catalog(language))
        assert not missing, (language, missing)


def test_registering_a_kind_or_entry_twice_is_refused() -> None:
    feature = FEATURES[-1]
    for twice in ([feature, feature],):
        try:
            Registry(twice)
        except ValueError:
            continue
        raise AssertionError("a feature registered twice was accepted")


def _widget_ids(widget: Any) -> Iterator[str]:
    widget_id = getattr(widget, "widget_id", None)
    if widget_id:
        yield widget_id
    for child in getattr(widget, "buttons", ()) or ():
        yield from _widget_ids(child)


def test_no_two_windows_of_a_dialog_share_a_button_id() -> None:
    dialogs = [d for d in Registry(FEATURES).dialog_routers() if isinstance(d, Dialog)]
    assert len(dialogs) >= 10
    for dialog in dialogs:
        owners: dict[str, str] = {}
        for state, window in dialog.windows.items():
            for widget_id in set(_widget_ids(window.keyboard)):
                other = owners.setdefault(widget_id, str(state))
                assert other == str(state), f"{widget_id!r} in {other} and {state}"


# Slow to import and needed only by a report, a chart, a QR sheet or an import: none of
# them may be loaded on the way to the first update (every start of the bot pays for it).
# Alembic only when the schema is behind (storage/migrate.py); redis-py only where REDIS_URL
# is set (bot/app.py).
HEAVY = (
    "openpyxl", "matplotlib", "numpy", "reportlab", "zxingcpp", "PIL.ImageFont", "alembic",
    "redis",
)  # fmt: skip


def test_nothing_heavy_is_imported_on_the_way_to_the_first_update() -> None:
    probe = (
        "import sys, bot.cli, bot.runner\n"
        "from bot.features import FEATURES\n"
        # The web pages are mounted at start-up too (webhook, WEB_PORT): the desk's XLSX
        # export loads openpyxl when someone exports, not before.
        "[w for f in FEATURES for w in f.web()]\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "", f"loaded at start-up: {done.stdout.strip()}"
