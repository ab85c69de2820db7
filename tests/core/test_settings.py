from pathlib import Path

import pytest

from bot.core.settings import Settings, SettingsError


def test_defaults_are_embedded_and_local() -> None:
    s = Settings.from_env({"VAR_DIR": "/tmp/x"})
    assert s.database_url == "sqlite:////tmp/x/assistant.db"
    assert s.rasa_tracker_url == "sqlite:////tmp/x/rasa_tracker.db"
    assert s.redis_url is None
    assert (s.bind_host, s.gateway_port, s.rasa_port, s.action_port) == ("127.0.0.1", 8000, 5005, 5055)
    assert s.rasa_url == "http://127.0.0.1:5005"
    assert s.action_webhook_url == "http://127.0.0.1:5055/webhook"
    assert s.default_language == "nl"
    assert s.widget_origins == ("*",)
    assert not (s.telegram_enabled or s.slack_enabled or s.slack_agents_enabled)
    assert (s.agent_reply_timeout_s, s.presence_timeout_s, s.secure_cookies) == (600.0, 90.0, False)


def test_widget_origins_are_a_comma_separated_list() -> None:
    s = Settings.from_env({"WIDGET_ORIGINS": " https://shop.example/, http://localhost:8080 "})
    assert s.widget_origins == ("https://shop.example", "http://localhost:8080")
    assert Settings.from_env({"WIDGET_ORIGINS": "https://shop.example,*"}).widget_origins == ("*",)


def test_a_channel_starts_only_with_all_its_credentials() -> None:
    assert Settings.from_env({"TELEGRAM_TOKEN": "1:x"}).telegram_enabled
    assert not Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).slack_enabled
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}).slack_enabled
    agents = {"SLACK_AGENT_BOT_TOKEN": "xoxb-2", "SLACK_AGENT_SIGNING_SECRET": "s"}
    assert not Settings.from_env(agents).slack_agents_enabled
    assert Settings.from_env({**agents, "SLACK_AGENT_CHANNEL": "C1"}).slack_agents_enabled


def test_postgres_is_shared_with_rasa_tracker_store() -> None:
    url = "postgresql://root@127.0.0.1:5432/test"
    s = Settings.from_env({"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:6379/1"})
    assert s.database_url == url
    assert s.rasa_tracker_url == url
    assert s.redis_url == "redis://127.0.0.1:6379/1"


def test_ports_and_host_derive_urls() -> None:
    s = Settings.from_env({"BIND_HOST": "0.0.0.0", "RASA_PORT": "6005", "ACTION_PORT": "6055"})
    assert s.rasa_url == "http://127.0.0.1:6005"
    assert s.action_server_url == "http://127.0.0.1:6055"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT must be an integer"),
        ({"DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE must be one of nl, fr, en"),
        ({"LANGUAGE_CONFIDENCE": "high"}, "LANGUAGE_CONFIDENCE must be a number"),
        ({"WIDGET_ORIGINS": "https://shop.example, shop.example"}, "WIDGET_ORIGINS must list origins"),
        ({"WIDGET_ORIGINS": "https://shop.example/page"}, "WIDGET_ORIGINS must list origins"),
        ({"SECURE_COOKIES": "maybe"}, "SECURE_COOKIES must be true or false"),
        ({"SURGE_FACTOR": "lots"}, "SURGE_FACTOR must be a number"),
        ({"SURGE_FACTOR": "0.5"}, "SURGE_FACTOR must be at least 1.0"),
        ({"SURGE_MIN_MESSAGES": "0"}, "SURGE_MIN_MESSAGES must be at least 1"),
        ({"SURGE_WINDOW_MINUTES": "45.5"}, "SURGE_WINDOW_MINUTES must be an integer"),
        ({"SURGE_WINDOW_MINUTES": "100"}, "SURGE_WINDOW_MINUTES must be minutes that divide a day"),
        ({"SURGE_WINDOW_MINUTES": "0"}, "SURGE_WINDOW_MINUTES must be minutes that divide a day"),
        ({"SURGE_BASELINE_DAYS": "0"}, "SURGE_BASELINE_DAYS must be at least 1"),
        ({"SURGE_WEBHOOK_URL": "hooks.example/surge"}, "SURGE_WEBHOOK_URL must be an http"),
        ({"INSIGHTS_INTERVAL": "0"}, "INSIGHTS_INTERVAL must be at least 1.0"),
        ({"QUEUE_ABANDON_MINUTES": "-1"}, "QUEUE_ABANDON_MINUTES must be at least 0"),
        ({"QUEUE_ABANDON_MINUTES": "soon"}, "QUEUE_ABANDON_MINUTES must be an integer"),
        ({"ACCOUNT_THREADS": "0"}, "ACCOUNT_THREADS must be at least 1"),
    ],
)
def test_bad_values_give_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_traffic_insights_defaults_and_overrides() -> None:
    s = Settings.from_env({})
    assert (s.surge_factor, s.surge_min_messages, s.surge_window_minutes, s.surge_baseline_days) == (
        3.0,
        10,
        60,
        7,
    )
    assert (s.surge_webhook_url, s.insights_interval_s) == (None, 60.0)
    s = Settings.from_env(
        {
            "SURGE_FACTOR": "2.5",
            "SURGE_MIN_MESSAGES": "25",
            "SURGE_WINDOW_MINUTES": "15",
            "SURGE_BASELINE_DAYS": "28",
            "SURGE_WEBHOOK_URL": " https://hooks.example/services/T1/B2?x=1 ",
            "INSIGHTS_INTERVAL": "300",
        }
    )
    assert (s.surge_factor, s.surge_min_messages, s.surge_window_minutes, s.surge_baseline_days) == (
        2.5,
        25,
        15,
        28,
    )
    assert (s.surge_webhook_url, s.insights_interval_s) == ("https://hooks.example/services/T1/B2?x=1", 300.0)


def test_settings_do_not_read_process_environment_when_given_a_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_NAME", "FromProcess")
    assert Settings.from_env({}).bot_name == "Mila"
    assert Settings.from_env({"BOT_NAME": "Nora"}).bot_name == "Nora"
    assert isinstance(Settings.from_env({}).model_dir, Path)


def test_demo_is_off_by_default_and_decides_the_default_coverage_provider() -> None:
    production = Settings.from_env({})
    assert (production.demo, production.coverage_provider) == (False, "none")
    demo = Settings.from_env({"DEMO": "true"})
    assert (demo.demo, demo.coverage_provider) == (True, "demo")
    assert Settings.from_env({"COVERAGE_PROVIDER": "demo"}).coverage_provider == "demo"
    named = Settings.from_env({"DEMO": "true", "COVERAGE_PROVIDER": "operator.coverage:Api"})
    assert named.coverage_provider == "operator.coverage:Api"
    for bad, message in (
        ({"DEMO": "sometimes"}, "DEMO must be true or false"),
        ({"COVERAGE_PROVIDER": "csv"}, "COVERAGE_PROVIDER must be demo, none or package.module:Class"),
        ({"COVERAGE_PROVIDER": "operator.coverage.Api"}, "COVERAGE_PROVIDER must be"),
    ):
        with pytest.raises(SettingsError, match=message):
            Settings.from_env(bad)


def test_one_time_zone_setting() -> None:
    assert str(Settings.from_env({}).time_zone) == "Europe/Brussels"
    assert str(Settings.from_env({"TIME_ZONE": "Europe/Amsterdam"}).time_zone) == "Europe/Amsterdam"
    for bad in ("Brussels", "Europe", "../../etc/passwd"):
        with pytest.raises(SettingsError, match="TIME_ZONE must be an IANA time zone"):
            Settings.from_env({"TIME_ZONE": bad})


def test_abandoned_queue_chats_close_after_45_minutes_by_default() -> None:
    assert Settings.from_env({}).queue_abandon_minutes == 45
    assert Settings.from_env({"QUEUE_ABANDON_MINUTES": "0"}).queue_abandon_minutes == 0  # never


def test_chat_rate_limits_and_trusted_proxies() -> None:
    default = Settings.from_env({})
    assert (default.chat_rate_per_minute, default.chat_rate_burst, default.trusted_proxies) == (60.0, 60, ())
    custom = Settings.from_env(
        {"CHAT_RATE_PER_MINUTE": "0", "CHAT_RATE_BURST": "5", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,::1"}
    )
    assert (custom.chat_rate_per_minute, custom.chat_rate_burst) == (0.0, 5)  # 0: no limit
    assert custom.trusted_proxies == ("10.0.0.0/8", "192.0.2.7/32", "::1/128")
    for bad, message in (
        ({"TRUSTED_PROXIES": "proxy.local"}, "TRUSTED_PROXIES must list IP addresses or networks"),
        ({"CHAT_RATE_BURST": "0"}, "CHAT_RATE_BURST must be at least 1"),
        ({"CHAT_RATE_PER_MINUTE": "-1"}, "CHAT_RATE_PER_MINUTE must be at least 0"),
    ):
        with pytest.raises(SettingsError, match=message):
            Settings.from_env(bad)
