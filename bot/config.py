"""Settings from the environment or a .env file. A bad setting stops start-up with one
line that names it and says how to fix it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")


ENV = SettingsConfigDict(
    env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
)


class Settings(BaseSettings):
    """The bot's own settings; each feature reads its own (e.g. APPEAL_DEADLINES) the same
    way through ``load_config``."""

    model_config = ENV

    bot_token: str = Field(default="", description="from @BotFather")
    database_url: str = Field(default=f"sqlite+aiosqlite:///{Path.cwd() / 'gridbot.db'}")
    redis_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"
    telegram_api_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_path: str = "/webhook"
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    # The web server (desk, public page, Open311) when polling; by webhook it is the
    # webhook's own server. Port 0 picks a free one.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # The address people open (links in the chat); http://WEB_HOST:WEB_PORT otherwise.
    web_base_url: str | None = None
    public_page: bool = False
    bot_username: str | None = None
    qr_font: str | None = None
    log_level: str = "INFO"
    # Messages a second for the whole bot: Telegram's 30, more for a self-hosted Bot API
    # server or paid broadcasts.
    send_rate: float = Field(default=30.0, gt=0, le=1000)
    outbox_workers: int = Field(default=8, ge=1, le=64)
    # A process that has not renewed its heartbeat for this long is taken for dead and
    # what it was sending is sent by the others (a restart on the same machine knows its
    # predecessor at once; a single SQLite process takes its own back at start).
    outbox_silent_seconds: float = Field(default=10.0, gt=0, le=600)
    # Updates handled at once; the rest wait, holding no connection. Keep it below the
    # database pool (DATABASE_POOL) less the outbox workers.
    max_concurrent_updates: int = Field(default=16, ge=1, le=256)
    database_pool: int = Field(default=32, ge=2, le=256)
    redis_connections: int = Field(default=64, ge=4, le=1024)
    # Keys in Redis start with this: several bots can share one Redis.
    redis_prefix: str = Field(default="gridbot", pattern=r"^[A-Za-z0-9_.-]{1,40}$")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError(
                    "use numeric Telegram user ids, e.g. ADMIN_IDS=1234,5678"
                ) from None
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("use an IANA zone name such as Asia/Shanghai") from None
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh", "en"):
            raise ValueError("use zh or en")
        return value

    @field_validator("telegram_api_url", "webhook_url", "web_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("use a full URL starting with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: str | None) -> str | None:
        # Telegram's rule for secret_token: 1-256 characters A-Z a-z 0-9 _ -
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("use 1-256 characters from A-Z a-z 0-9 _ -")
        return value or None

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "WEBHOOK_SECRET: required when WEBHOOK_URL is set (random A-Z a-z 0-9 _ -)"
            )
        return self

    @property
    def web_url(self) -> str:
        """Where people open the desk and the public page: WEB_BASE_URL, else the webhook's
        public address (the same server serves both), else the polling server's."""
        if self.web_base_url:
            return self.web_base_url
        if self.webhook_url:
            return self.webhook_url
        host = f"[{self.web_host}]" if ":" in self.web_host else self.web_host
        return f"http://{host}:{self.web_port}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        if not TOKEN_RE.match(self.bot_token):
            raise ConfigError(
                "BOT_TOKEN: missing or malformed — set it to the token from @BotFather "
                "(looks like 123456789:AA...) in the environment or .env"
            )
        return self.bot_token


class ConfigError(Exception):
    """A setting that cannot work; the message is the one line shown to the operator."""


S = TypeVar("S", bound=BaseSettings)


def load_config(kind: type[S], **overrides: object) -> S:
    """Settings of ``kind`` from the environment or .env; a bad value raises ConfigError
    with one line naming it."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).upper() or "SETTINGS"
        message = str(first["msg"]).removeprefix("Value error, ")
        if ":" in message and message.split(":", 1)[0].isupper():
            raise ConfigError(message) from None
        raise ConfigError(f"{field}: {message}") from None


def load_settings(**overrides: object) -> Settings:
    return load_config(Settings, **overrides)
