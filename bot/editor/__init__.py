"""Tools for content editors: `python -m bot.editor check | add-intent | publish` (docs/editors.md)."""
