"""Targeted speed-ups for Rasa 3.6, installed by the tracker store (bot/rasa/stores.py).

Without them every reply gets slower as the conversation grows:
- Rasa rebuilds a tracker from its stored events for every message, and for every event
  resolves the event class by walking all ``Event`` subclasses recursively
  (``Event.resolve_by_type``). Caching the type-name lookup keeps the same first-match
  result at a fraction of the cost.
- Every custom action call sends the whole conversation to the action server. Actions
  get the slots, the latest message and the active loop separately; the events they look
  at are the recent ones, so only the last ``ACTION_EVENTS`` events are sent.
- Rasa's process holds millions of long-lived objects (TensorFlow, the model); every full
  garbage collection walks them all, which shows as latency spikes. Once the first
  conversation is read (the model is loaded by then) they are frozen out of collection.
"""

from __future__ import annotations

import gc
from typing import Any, Optional

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

ACTION_EVENTS = 100
_installed = False
_frozen = False


def freeze_heap_once() -> None:
    """Move everything allocated so far out of the garbage collector's sight (once)."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


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
    _trim_action_calls()
    _installed = True


def _trim_action_calls() -> None:
    original = RemoteAction._action_call_format

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        payload = original(self, tracker, domain)
        events = payload["tracker"].get("events") or []
        if len(events) > ACTION_EVENTS:
            payload["tracker"]["events"] = events[-ACTION_EVENTS:]
        return payload

    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]
