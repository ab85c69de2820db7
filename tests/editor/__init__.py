"""Tests of bot/editor: the editors' check, scaffolding and publishing."""
