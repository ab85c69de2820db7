"""Tests of bot/insights: traffic copied from Rasa, groups, trends and surges."""
