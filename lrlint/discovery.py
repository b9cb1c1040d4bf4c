"""Which files a `lrlint check PATH...` means: `.py` files and Jupyter notebooks (`.ipynb`) under
the paths, minus the excludes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
# ruff's default excludes: VCS folders, caches, build output, virtual environments.
DEFAULT_EXCLUDES = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def discover(
    paths: Sequence[str],
    exclude: Sequence[str] = (),
    root: Path | None = None,
    force_exclude: bool = False,
) -> Discovery:
    """Files named directly are always checked (as in ruff) unless `force_exclude`; folders are
    walked without following symlinked folders, skipping the default and configured excludes and
    any folder that holds a `pyvenv.cfg` (a virtual environment under any name)."""
    matcher = _Excluder(tuple(DEFAULT_EXCLUDES) + tuple(exclude), root or Path.cwd())
    found = Discovery()
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates: Iterator[str] = _walk(path, matcher)
        elif path.is_file():
            skip = force_exclude and matcher.excluded_with_parents(path)
            candidates = iter(() if skip else (raw,))
        else:
            found.missing.append(raw)
            continue
        for candidate in candidates:
            if candidate not in seen:
                seen.add(candidate)
                found.files.append(candidate)
    return found


def _walk(top: Path, matcher: _Excluder) -> Iterator[str]:
    for directory, subdirs, files in os.walk(top, followlinks=False):
        here = Path(directory)
        subdirs[:] = sorted(
            name
            for name in subdirs
            if not matcher.excluded(here / name) and not (here / name / "pyvenv.cfg").exists()
        )
        for name in sorted(files):
            candidate = here / name
            if name.endswith(SUFFIXES) and candidate.is_file() and not matcher.excluded(candidate):
                yield str(candidate)


class _Excluder:
    def __init__(self, patterns: tuple[str, ...], root: Path) -> None:
        self.patterns = tuple(pattern.rstrip("/") for pattern in patterns if pattern.strip())
        self.root = root.resolve()

    def excluded(self, path: Path) -> bool:
        try:
            relative = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            relative = path.as_posix()
        return any(
            fnmatch(path.name, pattern) or fnmatch(relative, pattern) for pattern in self.patterns
        )

    def excluded_with_parents(self, path: Path) -> bool:
        """For a file named on the command line (pre-commit names `legacy/train.py`): excluded
        when it or a folder above it, up to the project root, matches."""
        if self.excluded(path):
            return True
        resolved = path.resolve()
        for parent in resolved.parents:
            if parent == self.root or self.root not in parent.parents:
                break
            if self.excluded(parent):
                return True
        return False
