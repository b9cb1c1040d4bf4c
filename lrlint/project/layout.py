"""Where a project's modules are on disk, as Python finds them when the script runs.

`python train.py` puts the script's real folder first on `sys.path` (symbolic links resolved);
a project run as `python -m pkg.train`, or installed with `pip install -e .`, has its root (the
nearest folder above with a `pyproject.toml`, `setup.cfg`, `setup.py` or `.git`) and a `src/`
under it. Relative imports count from the package the file is in. Installed libraries are not
the project: nothing is looked up on the rest of `sys.path`. Only the file system is read here.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
_INSTALLED = frozenset({"site-packages", "dist-packages"})


def is_installed(path: Path) -> bool:
    """Whether `path` is installed code (under `site-packages`): no project of its own."""
    return not _INSTALLED.isdisjoint(path.parts)


@functools.lru_cache(maxsize=4096)
def project_root(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` that marks a project root, if any. Installed
    code (under `site-packages`) belongs to no project, even in a virtualenv inside one."""
    if is_installed(folder):
        return None
    for candidate in (folder, *folder.parents):
        if any(os.path.exists(candidate / marker) for marker in ROOT_MARKERS):
            return candidate
    return None


@functools.lru_cache(maxsize=4096)
def search_path(script: Path) -> tuple[Path, ...]:
    """The folders a script's absolute imports of its own project are looked up in."""
    folder = script.parent
    found = [folder]
    root = project_root(folder)
    if root is not None:
        found += [root, root / "src"]
    return tuple(dict.fromkeys(p for p in found if p.is_dir()))


@functools.lru_cache(maxsize=16384)
def _module_in(base: Path, dotted: str) -> Path | None:
    """`a.b` under `base`: `a/b.py`, or the package `a/b/__init__.py` (or a namespace folder,
    given as the folder itself)."""
    if not dotted:
        init = base / "__init__.py"
        return init if init.is_file() else None
    target = base.joinpath(*dotted.split("."))
    module = target.with_name(target.name + ".py")
    if module.is_file():
        return module
    init = target / "__init__.py"
    if init.is_file():
        return init
    return target if target.is_dir() else None


def package_folder(script: Path, level: int) -> Path | None:
    """The folder `from .` (level 1), `from ..` (level 2) ... refer to in `script`."""
    folder = script.parent
    for _ in range(level - 1):
        if folder.parent == folder:
            return None
        folder = folder.parent
    return folder


def module_file(script: Path, dotted: str, level: int = 0) -> Path | None:
    """The file (or namespace folder) of module `dotted` as `script` imports it."""
    if level:
        base = package_folder(script, level)
        return _module_in(base, dotted) if base is not None else None
    for base in search_path(script):
        found = _module_in(base, dotted)
        if found is not None:
            return found
    return None


def split_relative(qualname: str) -> tuple[int, str]:
    """`..models.Net` -> (2, "models.Net")."""
    stripped = qualname.lstrip(".")
    return len(qualname) - len(stripped), stripped
