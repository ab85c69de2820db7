"""Thin interfaces to the operator's systems (coverage, ...), each with a demo implementation."""
