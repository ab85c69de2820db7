"""Shared by tests and benchmarks: local fake platforms, database helpers, the running stack."""
