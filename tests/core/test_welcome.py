"""The opening message's content (bot/core/welcome.py): every language, real intents."""

from __future__ import annotations

import pytest
import yaml

from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.core.texts import text
from bot.core.welcome import WELCOME_BUTTONS, WELCOME_PAYLOADS, welcome_language, welcome_replies


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_opening_has_persona_privacy_topics_and_a_person_in_every_language(language: str) -> None:
    [reply] = welcome_replies(language, "Zoë")
    greeting, privacy = reply["text"].split("\n\n")
    assert "Zoë" in greeting and privacy == text("welcome_privacy", language)
    assert [b["payload"] for b in reply["buttons"]] == [payload for _key, payload in WELCOME_BUTTONS]
    assert reply["buttons"][-1]["payload"] == "/request_human"
    titles = [b["title"] for b in reply["buttons"]]
    assert len(set(titles)) == len(titles) and all(titles)


def test_the_languages_differ() -> None:
    texts = {welcome_replies(language, "Mila")[0]["text"] for language in SUPPORTED_LANGUAGES}
    assert len(texts) == len(SUPPORTED_LANGUAGES)


def test_every_welcome_payload_is_an_intent_of_the_domain() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert {payload.removeprefix("/") for payload in WELCOME_PAYLOADS} <= set(domain["intents"])


@pytest.mark.parametrize(
    "locale, expected",
    [("fr-BE", "fr"), ("en_GB", "en"), ("NL", "nl"), ("de-DE", "nl"), (None, "nl"), ("", "nl")],
)
def test_the_language_comes_from_the_locale_else_the_default(locale: str | None, expected: str) -> None:
    assert welcome_language(locale, "nl") == expected
