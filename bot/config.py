"""All settings in one typed place, read from the environment and `.env`.

Every setting is prefixed ``CAREERS_BOT_`` except the token, which is ``TELEGRAM_BOT_TOKEN`` so that
it matches what @BotFather users expect. A malformed value stops start-up with one line naming it
(see :func:`load_settings`); nothing here ever prints the token.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
# An entry reviewed longer ago than this many months is due for review (the setting's default).
REVIEW_MAX_AGE_MONTHS = 6
# One crontab field: numbers, names, *, ranges, steps, lists, and "mon#1" (first Monday).
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,#-]+")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


class Settings(BaseSettings):
    """The bot's configuration. Field docs are mirrored in `.env.example`."""

    model_config = SettingsConfigDict(
        env_prefix="CAREERS_BOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    database_path: Path = Path("data/careers-bot.db")
    # Sentence vectors of entries and occupations, kept between runs (safe to delete).
    cache_dir: Path = Path("data/cache")
    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    telegram_base_url: str = "https://api.telegram.org/bot"
    # The bot's @username without the @, for share links (`careers-bot link ID`).
    bot_username: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Matching: scores are 0-100. Below `match_threshold` the bot asks "Did you mean…?" or says
    # it does not know; when the runner-up entry is within `ambiguity_margin` points of the best,
    # it asks. Unset means the calibrated values documented in bot/matching.py.
    match_threshold: float | None = Field(default=None, ge=0, le=100)
    ambiguity_margin: float | None = Field(default=None, ge=0, le=100)
    occupation_threshold: float = Field(default=60.0, ge=0, le=100)
    max_question_chars: int = Field(default=500, ge=20, le=4096)

    # Throughput: how many updates the bot works on at once, and how many HTTP connections it
    # keeps to the Bot API. Each update holds at most one connection while it sends its reply, so
    # the pool needs little more than the updates in flight; a larger pool (PTB's default is 256)
    # only costs CPU in the HTTP client's bookkeeping (see README "Scale"). The wait for a free
    # connection is bounded by `http_pool_timeout_s`.
    concurrent_updates: int = Field(default=16, ge=1, le=1024)
    http_pool_size: int = Field(default=20, ge=1, le=1024)
    http_pool_timeout_s: float = Field(default=5.0, gt=0)
    # The HTTP client under python-telegram-bot: aiohttp (telegram_io/transport.py) answers the
    # same updates for less CPU than PTB's default httpx (bench/throughput.py measures both).
    http_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    # Last seen and question counts are written together this often (and when the bot stops).
    usage_flush_interval_s: float = Field(default=1.0, gt=0, le=60)

    # Knowledge reload: how often the running bot checks `knowledge/` for edits (0 = never).
    reload_interval_s: float = Field(default=30.0, ge=0)
    # An entry reviewed longer ago than this is due for review (`kb check --stale`, /stats,
    # `kb report`, the monthly reminder).
    review_max_age_months: int = Field(default=REVIEW_MAX_AGE_MONTHS, ge=1, le=120)

    # Webhook mode (production). Used by `careers-bot run --webhook`.
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    # Occupational maps refresh.
    maps_source: str = "api"
    maps_api_base_url: str = "https://occupational-maps-api.skillsengland.education.gov.uk/api/v1"
    maps_api_key: SecretStr | None = None
    maps_min_ratio: float = Field(default=0.8, gt=0, le=1)
    maps_max_changes: int = Field(default=150, ge=1)
    maps_cron: str = "0 6 * jan,apr,jul,oct mon#1"
    maps_request_pause_s: float = Field(default=1.0, ge=0)
    timezone: str = "Europe/London"

    # Alerts delivery.
    send_window_start: time = time(8, 0)
    send_window_end: time = time(20, 0)
    global_rate_per_s: float = Field(default=25.0, gt=0)

    # Safety and privacy.
    flood_limit_per_minute: int = Field(default=20, ge=1)
    unanswered_retention_days: int = Field(default=90, ge=1)
    inactive_user_retention_days: int = Field(default=365, ge=1)
    safeguarding_contact_id: int | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept "123, 456" from the environment as well as a list."""
        if isinstance(value, str):
            parts = value.replace(",", " ").split()
            bad = [p for p in parts if not p.lstrip("-").isdigit()]
            if bad:
                raise ValueError(f"must be Telegram user ids (numbers) separated by commas, "
                                 f"e.g. 12345678,87654321; '{bad[0]}' is not a number")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone name (for example Europe/London)") from None
        return value

    @field_validator("maps_cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
            raise ValueError(f"'{value}' is not a crontab (five fields: minute hour day month "
                             "weekday, e.g. '0 6 * jan,apr,jul,oct mon#1')")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        """Telegram only calls webhooks over HTTPS (plain http is kept for a local Bot API)."""
        if value and not value.startswith("https://") and urlparse(value).hostname not in (
                "127.0.0.1", "localhost", "::1"):
            raise ValueError("must be an https:// URL: Telegram only calls webhooks over HTTPS")
        return value

    def require_token(self) -> str:
        """The token for `run`; a missing one is a one-line configuration error."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in "
                ".env (or try `careers-bot chat`, which needs no token)"
            )
        return self.telegram_bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line that names the bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        name = "TELEGRAM_BOT_TOKEN" if field == "TELEGRAM_BOT_TOKEN" else f"CAREERS_BOT_{field.upper()}"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} is invalid: {message}") from None
