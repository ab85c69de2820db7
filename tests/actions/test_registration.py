"""The action server finds every custom action the domain names, wherever in ``actions/`` it
lives (rasa_sdk registers the package's submodules, as `rasa run actions` does)."""

from __future__ import annotations

import yaml
from rasa_sdk.executor import ActionExecutor

from bot.core.settings import PROJECT_ROOT


def test_every_custom_action_of_the_domain_is_registered() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    custom = [a for a in domain["actions"] if a.startswith(("action_", "validate_"))]
    assert custom and [a for a in custom if a not in executor.actions] == []
