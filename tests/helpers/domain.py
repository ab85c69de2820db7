"""The domain's response texts and the coverage questions the end-to-end tests ask (the pass's
stack has an outage going on in Hasselt)."""

from __future__ import annotations

from typing import Any

import yaml

from bot.core.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def response_text(name: str, language: str, /, **values: Any) -> str:
    """domain.yml's response ``name`` in ``language``, filled with ``values`` when given."""
    for variant in DOMAIN["responses"][name]:
        if variant["condition"][0]["value"] == language:
            return str(variant["text"]).format(**values) if values else str(variant["text"])
    raise KeyError(name)


def texts(body: dict[str, Any]) -> list[str]:
    """The texts of a POST /api/chat reply."""
    return [r["text"] for r in body["replies"] if r.get("text")]


COVERAGE_QUESTIONS = {  # 5G and no signal where the outage is, an outage elsewhere, a follow-up
    "nl": (
        "is er 5G in Hasselt?",
        "ik heb geen bereik in Hasselt",
        "is er een storing in Genk?",
        "en in Namen?",
    ),
    "fr": (
        "il y a la 5G à Hasselt ?",
        "je n'ai pas de réseau à Hasselt",
        "une panne à Genk ?",
        "et à Namur ?",
    ),
    "en": (
        "is there 5G in Hasselt?",
        "I've got no signal in Hasselt",
        "is there an outage in Genk?",
        "and in Namur?",
    ),
}
NAMUR = {"nl": "Namen", "fr": "Namur", "en": "Namur"}
