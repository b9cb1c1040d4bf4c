"""`[tool.lrlint]` in the nearest pyproject.toml; the command line wins over it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem, reported as one line with exit code 2."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # the pyproject.toml it came from
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    num_examples: int | None = None

    @property
    def root(self) -> Path | None:
        return self.path.parent if self.path else None


_LIST_KEYS = {
    "select": "select",
    "extend-select": "extend_select",
    "ignore": "ignore",
    "exclude": "exclude",
}
_INT_KEYS = {"num-examples": "num_examples"}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.lrlint] table."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and "lrlint" in _read(candidate).get("tool", {}):
            return candidate
    return None


def load(path: Path) -> Config:
    table = _read(path).get("tool", {}).get("lrlint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.lrlint] must be a table")
    values: dict[str, object] = {}
    for key, value in table.items():
        normalized = key.replace("_", "-")
        if normalized in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: [tool.lrlint] {key} must be a list of strings")
            values[_LIST_KEYS[normalized]] = tuple(value)
        elif normalized in _INT_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{path}: [tool.lrlint] {key} must be a non-negative integer")
            values[_INT_KEYS[normalized]] = value
        else:
            known = ", ".join([*_LIST_KEYS, *_INT_KEYS])
            raise ConfigError(f"{path}: unknown key {key!r} in [tool.lrlint] (known: {known})")
    return Config(path=path, **values)  # type: ignore[arg-type]


def _read(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
