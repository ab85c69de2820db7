"""Thin clients, one per external service."""
