"""Turning diagnostics into output: one module per format."""

from __future__ import annotations

from lrlint.registry import BY_CODE


def severity(code: str) -> str:
    """`error` for the rules on by default (lrlint exits 1 on them), `warning` for the opt-in
    ones (LR006, LR009): the level CI annotations and SARIF results carry."""
    info = BY_CODE.get(code)
    return "error" if info is None or info.default_enabled else "warning"
