"""Helpers shared by test modules of several folders (test modules never import each other)."""
