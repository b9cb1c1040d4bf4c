"""Turning diagnostics into output: one module per format."""
