"""Tests of handoff/: agents and sessions, the queue, metrics, privacy."""
