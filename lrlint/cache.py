"""Results of earlier runs, keyed by file content, so unchanged files are not read twice.

Like ruff's cache, but in the user's cache directory (`$LRLINT_CACHE_DIR`, else
`$XDG_CACHE_HOME/lrlint`, else `~/.cache/lrlint`). One file per configuration: lrlint's own
code, the enabled rules and the settings that change findings all go into its name, so a
different configuration never reads another's results. An entry is used when the file, and every
other module of its project that its check read, are unchanged: same size and modification
time, or, failing that, the same content hash. Files that could not be checked are never
cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path

from lrlint.diagnostics import Diagnostic

_FORMAT = 4  # bump when the stored form changes


def cache_dir() -> Path:
    explicit = os.environ.get("LRLINT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lrlint"


def _code_fingerprint() -> str:
    """lrlint's own version and sources: a changed rule invalidates every result."""
    from lrlint import __version__

    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(f"{_FORMAT}:{__version__}".encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        digest.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


class Cache:
    def __init__(self, settings: Iterable[object], directory: Path | None = None) -> None:
        key = hashlib.blake2b(digest_size=16)
        key.update(_code_fingerprint().encode())
        for item in settings:
            key.update(repr(item).encode())
        self.path = (directory or cache_dir()) / f"{key.hexdigest()}.json"
        self._entries: dict[str, list[object]] = {}
        self._dirty = False
        with contextlib.suppress(OSError, ValueError):
            self._entries = json.loads(self.path.read_text(encoding="utf-8"))

    def lookup(self, path: str, checked: Collection[str] = ()) -> list[Diagnostic] | None:
        """The cached findings of a file when neither it nor any file its check read (other
        modules of its project) has changed, else None. Findings it reported for helper modules
        that this run checks themselves (`checked`) are stale too: they move there."""
        entry = self._entries.get(os.path.abspath(path))
        if entry is None or len(entry) != 6:
            return None
        own, found, dependencies, through = entry[:3], entry[3], entry[4], entry[5]
        if any(module in checked for module in through):
            return None
        if not self._unchanged(path, own):
            return None
        for dependency in dependencies:
            if not self._unchanged(dependency[0], dependency[1:]):
                return None
        return [Diagnostic(path, *item) for item in found]  # type: ignore[misc, union-attr]

    def _unchanged(self, path: str, stamp: list[object]) -> bool:
        """Same size and modification time, or, failing that, the same content (then the new
        stamp is kept: the file was touched, not changed). `stamp` is updated in place."""
        try:
            info = os.stat(path)
        except OSError:
            return stamp[2] is None  # it was missing then, and is missing now
        if (info.st_size, info.st_mtime_ns) == tuple(stamp[:2]):
            return True
        try:
            if _digest(Path(path).read_bytes()) != stamp[2]:
                return False
        except OSError:
            return False
        stamp[0], stamp[1] = info.st_size, info.st_mtime_ns
        self._dirty = True
        return True

    def store(
        self,
        path: str,
        diagnostics: list[Diagnostic],
        dependencies: Iterable[str] = (),
        through: Iterable[str] = (),
    ) -> None:
        own = _stamp(path)
        if own[2] is None:
            return
        found = [[d.line, d.col, d.code, d.message, d.cell] for d in diagnostics]
        read = [[dependency, *_stamp(dependency)] for dependency in dependencies]
        self._entries[os.path.abspath(path)] = [*own, found, read, sorted(through)]
        self._dirty = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is simply not kept."""
        if not self._dirty:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(self._entries, out)
                os.replace(temporary, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)


def _stamp(path: str) -> list[object]:
    """[size, mtime, content digest] of a file; [None, None, None] when it cannot be read."""
    try:
        info = os.stat(path)
        return [info.st_size, info.st_mtime_ns, _digest(Path(path).read_bytes())]
    except OSError:
        return [None, None, None]


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
