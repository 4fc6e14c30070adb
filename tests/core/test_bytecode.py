"""The bot writes its own modules' bytecode (bot/bytecode.py): missing or stale files are
compiled, current ones are left alone."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from bot import bytecode


def test_missing_and_stale_bytecode_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    source = package / "screens.py"
    source.write_text("ANSWER = 1\n", encoding="utf-8")
    monkeypatch.setattr(bytecode, "ROOT", tmp_path)
    cached = Path(importlib.util.cache_from_source(str(source)))
    assert not cached.exists()

    assert bytecode.compile_own_code()
    assert cached.exists()
    first = cached.read_bytes()

    assert bytecode.compile_own_code()
    assert cached.read_bytes() == first  # current: not compiled again

    source.write_text("ANSWER = 2\n", encoding="utf-8")
    later = source.stat().st_mtime + 5
    os.utime(source, (later, later))
    assert bytecode.compile_own_code()
    assert cached.read_bytes() != first


def test_a_module_that_does_not_compile_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "broken.py").write_text("def (:\n", encoding="utf-8")
    monkeypatch.setattr(bytecode, "ROOT", tmp_path)
    assert not bytecode.compile_own_code()
