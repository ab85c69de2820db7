"""A targeted speed-up for Rasa 3.6, installed by the tracker store (bot/rasa_stores.py).

Rasa rebuilds a tracker from its stored events for every message, and for every event
it resolves the event class by walking all ``Event`` subclasses recursively
(``Event.resolve_by_type``). In a 50-turn conversation that walk is most of the time
Rasa spends per message, so the reply gets slower as the conversation grows. Caching
the type-name lookup keeps the same first-match result at a fraction of the cost.
"""

from __future__ import annotations

from typing import Optional

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_installed = False


def install() -> None:
    """Replace ``Event.resolve_by_type`` with a cached lookup (idempotent)."""
    global _installed
    if _installed:
        return
    original = Event.resolve_by_type
    cache: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: Optional[type[Event]] = None) -> Optional[type[Event]]:
        found = cache.get(type_name)
        if found is None:
            for cls in all_subclasses(Event):  # same order as Rasa: the first match wins
                cache.setdefault(cls.type_name, cls)
            found = cache.get(type_name)
        return found if found is not None else original(type_name, default)

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]
    _installed = True
