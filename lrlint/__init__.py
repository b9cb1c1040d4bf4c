"""lrlint: a linter for the optimizer setup of fine-tuning scripts."""

from __future__ import annotations

__version__ = "0.1.0"
