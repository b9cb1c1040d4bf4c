"""lrlint: a linter for the optimizer setup of fine-tuning scripts.

`lrlint.check_source(code, path=...)` and `lrlint.fix_source(code, strategy=...)` are the Python
API (see lrlint/api.py). They load on first use, so `import lrlint` stays light: no LibCST until
a file that could build an optimizer is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["__version__", "check_source", "fix_source"]

if TYPE_CHECKING:
    from lrlint.api import check_source, fix_source


def __getattr__(name: str) -> object:
    if name in ("check_source", "fix_source"):
        from lrlint import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrlint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
