"""Typed settings, read from the environment and an optional `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
SUPPORTED_DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/resilience-bot.sqlite3"


class ConfigError(Exception):
    """Bad configuration: the message is one line naming the variable and what is expected."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,  # `NAME=` in .env means "use the default"
    )

    telegram_bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    curricula_dir: Path = Path("./curricula")
    facilitator_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    day_length_seconds: float | None = Field(default=None, gt=0)
    log_level: str = "INFO"
    bot_username: str | None = None
    send_rate_per_second: float = Field(default=30.0, ge=0)
    unknown_retry_seconds: float = Field(default=60.0, ge=0)
    tick_seconds: float = Field(default=5.0, gt=0)
    at_risk_days: int = Field(default=3, ge=1)
    answer_encryption_key: SecretStr | None = None
    safety_file: Path | None = None
    alert_escalation_minutes: float = Field(default=30.0, gt=0)
    loop_fail_exit_seconds: float = Field(default=300.0, gt=0)
    sending_lease_seconds: float = Field(default=30.0, gt=0)
    health_file: Path = Path("./data/health.json")

    @field_validator("facilitator_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            try:
                return frozenset(int(part) for part in parts)
            except ValueError:
                raise ValueError("expected comma-separated numeric Telegram user ids") from None
        return value

    @field_validator("answer_encryption_key")
    @classmethod
    def _check_encryption_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        from bot.db.crypto import parse_keys

        parse_keys(value.get_secret_value())  # a ValueError names what is expected, not the key
        return value

    @field_validator("database_url")
    @classmethod
    def _check_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme == "postgresql" or scheme == "postgres":
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if scheme == "sqlite":
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if scheme not in SUPPORTED_DATABASE_SCHEMES:
            raise ValueError(
                "expected a sqlite+aiosqlite:// or postgresql+asyncpg:// URL, got " + repr(scheme)
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("telegram_api_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:8081/bot")
        return value.rstrip("/")

    @cached_property
    def preview_clock(self) -> bool:
        return self.day_length_seconds is not None

    def require_token(self) -> str:
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram "
                "(/newbot), then put its token in .env as TELEGRAM_BOT_TOKEN=..."
            )
        return self.telegram_bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning a validation error into one ConfigError line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {message}") from None
