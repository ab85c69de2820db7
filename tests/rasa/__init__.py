"""Tests of bot/rasa: HTTP client, stores, NLU components, policies, training, Rasa's own checks."""
