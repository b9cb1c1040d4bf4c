"""The runtime checker: the real model, the real optimizer, checked with the model of depth.

Only this package imports torch and transformers (the `lrlint[runtime]` extra).

    >>> from lrlint.runtime import check
    >>> report = check(model, optimizer)
    >>> report.raise_for_findings()
"""

from __future__ import annotations

from typing import Any

from lrlint.runtime.report import Report, Row, RuntimeFinding

__all__ = ["Report", "Row", "RuntimeFinding", "check"]


def check(model: Any, optimizer: Any, **options: Any) -> Report:
    """Check `optimizer`'s parameter groups against `model` (see `groups.check`)."""
    from lrlint.runtime.groups import check as check_groups

    return check_groups(model, optimizer, **options)
