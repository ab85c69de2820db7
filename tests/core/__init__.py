"""Tests of bot/core: settings, database, ownership, store, feed, language, masking, knowledge, hours."""
