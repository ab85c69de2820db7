"""The embeddable web chat widget: ``<script src="https://<gateway>/widget.js" defer></script>``.

Installed on the gateway by :func:`install_widget`.
"""

from __future__ import annotations

from fastapi import FastAPI

from bot.settings import Settings


def install_widget(app: FastAPI, settings: Settings) -> None:
    """Routes and cross-origin rules the widget needs on the gateway."""
