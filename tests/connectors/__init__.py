"""Tests of bot/connectors: the interfaces to the operator's systems and their demo providers."""
