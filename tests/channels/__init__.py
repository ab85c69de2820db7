"""Tests of bot/channels: web chat and widget, Telegram, Slack for customers."""
