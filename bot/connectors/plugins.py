"""Loading the operator's own connector class named in a setting (``package.module:Class``)."""

from __future__ import annotations

import importlib
from typing import Any

from bot.core.settings import Settings, SettingsError


def load_class(spec: str, setting: str, settings: Settings) -> Any:
    """An instance of ``package.module:Class``: ``Class.from_settings(settings)`` when the class
    has that class method, else ``Class()``. A class that cannot be imported is a settings error."""
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise SettingsError(f"{setting}={spec!r} cannot be loaded: {exc}") from exc
    factory = getattr(cls, "from_settings", None)
    return factory(settings) if callable(factory) else cls()
