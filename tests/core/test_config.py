"""Settings: defaults, parsing, and one clear line for each bad setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "ADMIN_IDS",
        "TIMEZONE",
        "TELEGRAM_API_URL",
        "WEBHOOK_URL",
        "BOT_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.timezone == "Asia/Shanghai"
    assert settings.redis_url is None
    assert settings.admin_ids == []
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("gridbot.db")


def test_env_file_and_lists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADMIN_IDS", raising=False)
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=123456:ABCDEFGHIJKLMNOP\nADMIN_IDS=11, 22 33\n"
        "TELEGRAM_API_URL=http://127.0.0.1:8081/\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.admin_ids == [11, 22, 33]
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    assert settings.require_token() == "123456:ABCDEFGHIJKLMNOP"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"admin_ids": "12,abc"}, "ADMIN_IDS: use numeric Telegram user ids"),
        ({"timezone": "Mars/Olympus"}, "TIMEZONE: use an IANA zone name"),
        ({"telegram_api_url": "localhost:8081"}, "TELEGRAM_API_URL: use a full URL"),
        ({"webhook_url": "https://bot.example.org"}, "WEBHOOK_SECRET: required when WEBHOOK_URL"),
        ({"webhook_url": "https://x.org", "webhook_secret": "has space"}, "WEBHOOK_SECRET: use"),
        ({"webhook_port": "eighty"}, "WEBHOOK_PORT:"),
    ],
)
def test_bad_settings_name_the_setting(overrides: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_missing_token_stops_run_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gridbot: configuration error: BOT_TOKEN: missing or malformed — set it to the token "
        "from @BotFather (looks like 123456789:AA...) in the environment or .env"
    ]
