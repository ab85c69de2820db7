"""The one place where configuration is read from the environment.

Every component receives a :class:`Settings` instance; nothing reads ``os.environ``
anywhere else. Tests build their own instance with :meth:`Settings.from_env` and a
plain dict, so no global state leaks between them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Mapping, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUPPORTED_LANGUAGES: tuple[str, ...] = ("nl", "fr", "en")
DEFAULT_TIME_ZONE = "Europe/Brussels"
T = TypeVar("T", int, float)


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


def _number(env: Mapping[str, str], key: str, default: T, cast: Callable[[str], T], kind: str) -> T:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        raise SettingsError(f"{key} must be {kind}, got {raw!r}") from exc


def _at_least(key: str, value: T, minimum: T | None) -> T:
    if minimum is not None and value < minimum:
        raise SettingsError(f"{key} must be at least {minimum}, got {value}")
    return value


def _int(env: Mapping[str, str], key: str, default: int, minimum: int | None = None) -> int:
    return _at_least(key, _number(env, key, default, int, "an integer"), minimum)


def _float(env: Mapping[str, str], key: str, default: float, minimum: float | None = None) -> float:
    return _at_least(key, _number(env, key, default, float, "a number"), minimum)


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{key} must be true or false, got {raw!r}")


def _language(env: Mapping[str, str], key: str, default: str) -> str:
    value = (env.get(key) or default).strip().lower()
    if value not in SUPPORTED_LANGUAGES:
        raise SettingsError(f"{key} must be one of {', '.join(SUPPORTED_LANGUAGES)}, got {value!r}")
    return value


def _origins(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """A comma-separated list of web origins (scheme://host[:port]); ``*`` (the default) means any."""
    origins = tuple(o.strip().rstrip("/") for o in (env.get(key) or "").split(",") if o.strip())
    if not origins or "*" in origins:
        return ("*",)
    for origin in origins:
        if not re.fullmatch(r"https?://[^/\s]+", origin):
            raise SettingsError(f"{key} must list origins like https://www.example.com, got {origin!r}")
    return origins


def _window_minutes(env: Mapping[str, str], key: str, default: int) -> int:
    """Surge windows are aligned on the clock, so their length must divide a day (15, 60, 240...)."""
    value = _int(env, key, default)
    if value < 1 or 1440 % value:
        raise SettingsError(f"{key} must be minutes that divide a day (15, 30, 60...), got {value}")
    return value


def _http_url(env: Mapping[str, str], key: str) -> str | None:
    value = (env.get(key) or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
        raise SettingsError(f"{key} must be an http(s) URL, got {value!r}")
    return value


def _time_zone(env: Mapping[str, str], key: str, default: str) -> ZoneInfo:
    name = (env.get(key) or default).strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a folder like "Europe"
        raise SettingsError(f"{key} must be an IANA time zone like Europe/Brussels, got {name!r}") from exc


def _networks(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses or networks (``10.0.0.0/8``); empty by default."""
    found = []
    for part in (p.strip() for p in (env.get(key) or "").split(",")):
        if not part:
            continue
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            message = f"{key} must list IP addresses or networks like 10.0.0.0/8, got {part!r}"
            raise SettingsError(message) from exc
    return tuple(found)


def _coverage_provider(env: Mapping[str, str], key: str, demo: bool) -> str:
    """``demo``, ``none`` or ``package.module:Class``; unset means ``demo`` only in a demo."""
    value = (env.get(key) or "").strip() or ("demo" if demo else "none")
    if value in ("demo", "none") or re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", value):
        return value
    raise SettingsError(f"{key} must be demo, none or package.module:Class, got {value!r}")


def _minutes_by_channel(env: Mapping[str, str], key: str) -> tuple[tuple[str, int], ...]:
    """``telegram=1440,web=30``: minutes per channel; empty by default."""
    found = []
    for part in (p.strip() for p in (env.get(key) or "").split(",")):
        if not part:
            continue
        channel, _, minutes = part.partition("=")
        if not re.fullmatch(r"[a-z_]+", channel.strip()) or not minutes.strip().isdigit():
            raise SettingsError(f"{key} must look like telegram=1440,web=30, got {part!r}")
        found.append((channel.strip(), int(minutes)))
    return tuple(found)


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    """All configuration of the gateway, the router, Rasa's stores and the action server.

    Defaults live in :meth:`from_env` only.
    """

    var_dir: Path
    database_url: str
    rasa_tracker_url: str
    redis_url: str | None
    bind_host: str
    gateway_port: int
    rasa_port: int
    action_port: int
    rasa_url: str
    action_server_url: str
    rasa_token: str | None
    rasa_timeout_s: float
    model_dir: Path
    default_language: str
    language_confidence: float
    bot_name: str
    bot_avatar_url: str
    widget_origins: tuple[str, ...]
    max_message_chars: int
    rasa_speedups: bool
    agent_reply_timeout_s: float
    presence_timeout_s: float
    secure_cookies: bool
    csat_window_h: float
    queue_abandon_minutes: int
    feed_interval_s: float
    telegram_token: str | None
    telegram_webhook_url: str | None
    telegram_secret_token: str | None
    telegram_api_url: str
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_api_url: str
    slack_agent_bot_token: str | None
    slack_agent_signing_secret: str | None
    slack_agent_channel: str | None
    surge_factor: float
    surge_min_messages: int
    surge_window_minutes: int
    surge_baseline_days: int
    surge_webhook_url: str | None
    insights_interval_s: float
    retention_transcript_days: int
    retention_tracker_days: int
    retention_insights_days: int
    retention_export_days: int
    retention_interval_s: float
    demo: bool
    coverage_provider: str
    time_zone: ZoneInfo
    account_provider: str
    account_timeout_s: float
    account_threads: int
    sms_provider: str
    verified_ttl_minutes: int
    verified_ttl_by_channel: tuple[tuple[str, int], ...]
    trusted_proxies: tuple[str, ...]
    chat_rate_per_minute: float
    chat_rate_burst: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (``os.environ`` when omitted)."""
        env = os.environ if env is None else env
        var_dir = Path(env.get("VAR_DIR") or PROJECT_ROOT / "var")
        database_url = env.get("DATABASE_URL") or _sqlite_url(var_dir / "assistant.db")
        host = env.get("BIND_HOST") or "127.0.0.1"
        rasa_port = _int(env, "RASA_PORT", 5005)
        demo = _bool(env, "DEMO", False)
        action_port = _int(env, "ACTION_PORT", 5055)
        return cls(
            var_dir=var_dir,
            database_url=database_url,
            rasa_tracker_url=env.get("RASA_TRACKER_URL") or _default_tracker_url(database_url, var_dir),
            redis_url=env.get("REDIS_URL") or None,
            bind_host=host,
            gateway_port=_int(env, "GATEWAY_PORT", 8000),
            rasa_port=rasa_port,
            action_port=action_port,
            rasa_url=(env.get("RASA_URL") or f"http://{_client_host(host)}:{rasa_port}").rstrip("/"),
            action_server_url=(
                env.get("ACTION_SERVER_URL") or f"http://{_client_host(host)}:{action_port}"
            ).rstrip("/"),
            rasa_token=env.get("RASA_TOKEN") or None,
            rasa_timeout_s=_float(env, "RASA_TIMEOUT", 15.0),
            model_dir=Path(env.get("MODEL_DIR") or PROJECT_ROOT / "models"),
            default_language=_language(env, "DEFAULT_LANGUAGE", "nl"),
            language_confidence=_float(env, "LANGUAGE_CONFIDENCE", 0.55),
            bot_name=(env.get("BOT_NAME") or "Mila").strip(),
            bot_avatar_url=env.get("BOT_AVATAR_URL") or "/static/avatar.svg",
            widget_origins=_origins(env, "WIDGET_ORIGINS"),
            max_message_chars=_int(env, "MAX_MESSAGE_CHARS", 2000),
            rasa_speedups=_bool(env, "RASA_SPEEDUPS", True),
            agent_reply_timeout_s=_float(env, "AGENT_REPLY_TIMEOUT", 600.0),
            presence_timeout_s=_float(env, "PRESENCE_TIMEOUT", 90.0),
            secure_cookies=_bool(env, "SECURE_COOKIES", False),
            csat_window_h=_float(env, "CSAT_WINDOW_HOURS", 24.0),
            # A waiting chat whose customer is silent this long (open hours) is closed; 0 never.
            queue_abandon_minutes=_int(env, "QUEUE_ABANDON_MINUTES", 45, minimum=0),
            feed_interval_s=_float(env, "FEED_INTERVAL", 0.2),
            telegram_token=env.get("TELEGRAM_TOKEN") or None,
            telegram_webhook_url=(env.get("TELEGRAM_WEBHOOK_URL") or "").rstrip("/") or None,
            telegram_secret_token=env.get("TELEGRAM_SECRET_TOKEN") or None,
            telegram_api_url=env.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot",
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_api_url=env.get("SLACK_API_URL") or "https://slack.com/api/",
            slack_agent_bot_token=env.get("SLACK_AGENT_BOT_TOKEN") or None,
            slack_agent_signing_secret=env.get("SLACK_AGENT_SIGNING_SECRET") or None,
            slack_agent_channel=env.get("SLACK_AGENT_CHANNEL") or None,
            surge_factor=_float(env, "SURGE_FACTOR", 3.0, minimum=1.0),
            surge_min_messages=_int(env, "SURGE_MIN_MESSAGES", 10, minimum=1),
            surge_window_minutes=_window_minutes(env, "SURGE_WINDOW_MINUTES", 60),
            surge_baseline_days=_int(env, "SURGE_BASELINE_DAYS", 7, minimum=1),
            surge_webhook_url=_http_url(env, "SURGE_WEBHOOK_URL"),
            insights_interval_s=_float(env, "INSIGHTS_INTERVAL", 60.0, minimum=1.0),
            # Days each kind of personal data is kept (handoff/privacy.py); 0 keeps it for good.
            retention_transcript_days=_int(env, "RETENTION_TRANSCRIPT_DAYS", 365, minimum=0),
            retention_tracker_days=_int(env, "RETENTION_TRACKER_DAYS", 90, minimum=0),
            retention_insights_days=_int(env, "RETENTION_INSIGHTS_DAYS", 180, minimum=0),
            retention_export_days=_int(env, "RETENTION_EXPORT_DAYS", 30, minimum=0),
            retention_interval_s=_float(env, "RETENTION_INTERVAL", 86400.0, minimum=60.0),
            demo=demo,
            coverage_provider=_coverage_provider(env, "COVERAGE_PROVIDER", demo),
            time_zone=_time_zone(env, "TIME_ZONE", DEFAULT_TIME_ZONE),
            # The customer's account system and the SMS gateway (bot/connectors/accounts.py, sms.py):
            # demo, none or package.module:Class, like COVERAGE_PROVIDER.
            account_provider=_coverage_provider(env, "ACCOUNT_PROVIDER", demo),
            account_timeout_s=_float(env, "ACCOUNT_TIMEOUT", 3.0, minimum=0.1),
            # How many account calls may run at once per action server (the provider's client
            # is shared by these threads, so it must be thread-safe).
            account_threads=_int(env, "ACCOUNT_THREADS", 16, minimum=1),
            sms_provider=_coverage_provider(env, "SMS_PROVIDER", demo),
            # How long a channel identity stays verified after a right code (bot/core/identity.py),
            # and per channel where it differs (VERIFIED_TTL_BY_CHANNEL=telegram=1440).
            verified_ttl_minutes=_int(env, "VERIFIED_TTL_MINUTES", 30, minimum=1),
            verified_ttl_by_channel=_minutes_by_channel(env, "VERIFIED_TTL_BY_CHANNEL"),
            # Proxies whose X-Forwarded-For names the client (rate limits); none by default.
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            # Messages a minute per client address on POST /api/chat, after a burst; 0: no limit.
            chat_rate_per_minute=_float(env, "CHAT_RATE_PER_MINUTE", 60.0, minimum=0.0),
            chat_rate_burst=_int(env, "CHAT_RATE_BURST", 60, minimum=1),
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (handy in tests)."""
        return replace(self, **changes)

    def verified_ttl_for(self, channel: str) -> int:
        """Minutes a verified identity on ``channel`` stays verified."""
        return dict(self.verified_ttl_by_channel).get(channel, self.verified_ttl_minutes)

    @property
    def action_webhook_url(self) -> str:
        return f"{self.action_server_url}/webhook"

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def slack_enabled(self) -> bool:
        """Customers in a Slack workspace: needs the app's bot token and signing secret."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def slack_agents_enabled(self) -> bool:
        """The webcare team's Slack: token, signing secret and the channel escalations go to."""
        return bool(
            self.slack_agent_bot_token and self.slack_agent_signing_secret and self.slack_agent_channel
        )

    @property
    def gateway_url(self) -> str:
        return f"http://{_client_host(self.bind_host)}:{self.gateway_port}"


def _client_host(bind_host: str) -> str:
    """The address a local client uses to reach a server bound to ``bind_host``."""
    return "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host


def _default_tracker_url(database_url: str, var_dir: Path) -> str:
    """Rasa's tracker store shares PostgreSQL with the transcripts; on SQLite it gets its own file.

    Two processes writing one SQLite file would serialise on its lock, so the embedded
    default keeps Rasa's events in a separate file.
    """
    if database_url.startswith("sqlite"):
        return _sqlite_url(var_dir / "rasa_tracker.db")
    return database_url
