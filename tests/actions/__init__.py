"""Tests of actions/: the custom actions of the Rasa action server."""
