"""The core: settings, database schema and engine, conversation store, ownership, language, texts,
change feed, masking of personal data, the intent taxonomy. Imports nothing of ours above it."""
