"""Escalation rules read from handoff/rules.yml (reason -> priority, may the bot answer first)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.core.db import Priority

RULES_FILE = Path(__file__).resolve().parents[2] / "handoff" / "rules.yml"
PRIORITIES = tuple(p.value for p in Priority)  # most urgent first


class RulesError(ValueError):
    """handoff/rules.yml is malformed."""


@dataclass(frozen=True)
class Rule:
    reason: str
    priority: str
    bot_answers_first: bool

    @property
    def rank(self) -> int:
        """0 for the most urgent priority; the queue sorts on it."""
        return PRIORITIES.index(self.priority)


def load_rules(path: Path = RULES_FILE) -> dict[str, Rule]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = {}
    for reason, spec in (data.get("reasons") or {}).items():
        priority = (spec or {}).get("priority")
        if priority not in PRIORITIES:
            raise RulesError(f"{path}: reason {reason!r} has priority {priority!r}; use one of {PRIORITIES}")
        rules[reason] = Rule(reason, priority, bool(spec.get("bot_answers_first", False)))
    if not rules:
        raise RulesError(f"{path}: no reasons defined")
    return rules


@lru_cache(maxsize=1)
def default_rules() -> dict[str, Rule]:
    return load_rules()
