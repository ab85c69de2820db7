"""The console pages' one text catalogue (bot/agentdesk/console_texts.yml): every key in nl, fr and
en with the same placeholders, every text a page asks for, and a label for every code a page shows
(reasons, priorities, channels, outcomes, wrap-ups) and every API error code it may get."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.agentdesk import console_texts as module
from bot.agentdesk.console_texts import CHANNELS, ConsoleTextsError, console_texts, placeholders
from bot.core.db import NLU_TURN_STATUSES, Priority
from bot.core.rules import default_rules
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.insights import REASONS, TOPICS
from handoff.queue_search import CLOSED_OUTCOMES
from handoff.workspace import WRAP_UPS

STATIC = Path(module.__file__).with_name("static")
PAGES = sorted([*STATIC.glob("*.html"), *STATIC.glob("js/*.js")])
ASKED = re.compile(r"""\bt\(\s*"([a-z0-9_]+)"|data-t(?:-[a-z-]+)?="([a-z0-9_]+)\"""")
PLURAL = re.compile(r"""\btn\(\s*"([a-z0-9_]+)\"""")
ERROR_CODE = re.compile(r"""(?:error_response|ApiError|ConsoleError)\([^)]*?"([a-z_]+)"\s*(?:,|\))""", re.S)
SHOWN_CODES = {
    "reason": sorted(default_rules()),
    "priority": [p.value for p in Priority],
    "channel": list(CHANNELS),
    "outcome": list(CLOSED_OUTCOMES),
    "wrap_up": list(WRAP_UPS),
    "owner": ["bot", "queued", "agent", "closed"],
    "presence": ["online", "away", "offline"],
    "role": ["agent", "admin"],
    "author": ["customer", "bot", "agent", "system"],
    "sort": ["priority", "oldest", "newest"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "topic": list(TOPICS),
    "insights_status": list(NLU_TURN_STATUSES),
    "insights_reason": list(REASONS),
}


def test_every_text_exists_in_every_language_with_the_same_placeholders() -> None:
    texts = console_texts()
    assert len(texts) > 200
    for key, variants in texts.items():
        assert set(variants) == set(SUPPORTED_LANGUAGES), key
        assert all(variants[lang].strip() for lang in SUPPORTED_LANGUAGES), key
        assert len({frozenset(placeholders(variants[lang])) for lang in SUPPORTED_LANGUAGES}) == 1, key


def test_every_text_a_page_asks_for_is_in_the_catalogue() -> None:
    texts, asked = console_texts(), set()
    assert any(page.name == "console.html" for page in PAGES) and any(p.name == "i18n.js" for p in PAGES)
    for page in PAGES:
        source = page.read_text(encoding="utf-8")
        asked |= {a or b for a, b in ASKED.findall(source)}
        asked |= {f"{key}_{form}" for key in PLURAL.findall(source) for form in ("one", "other")}
    asked = {key for key in asked if key != "key" and not key.endswith("_")}  # kind_ + code: below
    assert asked, "no page asks for a text"
    assert sorted(asked - set(texts)) == []


@pytest.mark.parametrize("kind", sorted(SHOWN_CODES))
def test_every_code_a_page_shows_has_a_readable_label(kind: str) -> None:
    missing = [code for code in SHOWN_CODES[kind] if f"{kind}_{code}" not in console_texts()]
    assert missing == []


def test_readable_reasons_say_what_happened() -> None:
    texts = console_texts()
    assert texts["reason_request_human"] == {
        "nl": "Vraagt een medewerker",
        "fr": "Demande un conseiller",
        "en": "Asked for a person",
    }
    assert texts["reason_not_helped"]["en"] == "Answer did not help"


def test_every_api_error_the_console_may_get_has_a_text() -> None:
    sources = [
        *(PROJECT_ROOT / "bot" / "agentdesk").glob("*.py"),
        PROJECT_ROOT / "bot" / "web" / "http.py",
        PROJECT_ROOT / "handoff" / "console.py",
    ]
    codes = {code for path in sources for code in ERROR_CODE.findall(path.read_text(encoding="utf-8"))}
    codes |= {"http_error", "not_found", "method_not_allowed", "invalid_request"}  # the framework's
    assert {"not_online", "taken", "wrong_language", "csrf", "invalid_filter", "empty_note"} <= codes
    slack_only = {"invalid_signature", "invalid_update", "invalid_token", "token_required", "wrong_token"}
    missing = sorted(code for code in codes - slack_only if f"error_{code}" not in console_texts())
    assert missing == []


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ('a:\n  nl: "x"\n  fr: "y"\n', "lacks en"),
        ('a:\n  nl: "{n} x"\n  fr: "{n} y"\n  en: "z"\n', "different placeholders"),
        ('a_one:\n  nl: "x"\n  fr: "y"\n  en: "z"\n', "no _other form"),
    ],
)
def test_the_catalogue_refuses_a_missing_language_placeholder_or_plural(
    tmp_path: Path, yaml_text: str, problem: str
) -> None:
    path = tmp_path / "texts.yml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConsoleTextsError, match=problem):
        console_texts.__wrapped__(path)
