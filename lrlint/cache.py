"""Results of earlier runs, keyed by file content, so unchanged files are not read twice.

Like ruff's cache, but in the user's cache directory (`$LRLINT_CACHE_DIR`, else
`$XDG_CACHE_HOME/lrlint`, else `~/.cache/lrlint`). One file per configuration: lrlint's own
code, the enabled rules and the settings that change findings all go into its name, so a
different configuration never reads another's results. An entry is used when the file's size
and modification time are unchanged, or, failing that, when its content hash is; files that
could not be checked are never cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from lrlint.diagnostics import Diagnostic

_FORMAT = 2  # bump when the stored form changes


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

    def lookup(self, path: str) -> list[Diagnostic] | None:
        """The cached findings of an unchanged file, else None."""
        entry = self._entries.get(os.path.abspath(path))
        if entry is None:
            return None
        size, mtime, digest, found = entry
        try:
            info = os.stat(path)
        except OSError:
            return None
        if (info.st_size, info.st_mtime_ns) != (size, mtime):
            try:
                if _digest(Path(path).read_bytes()) != digest:
                    return None
            except OSError:
                return None
            entry[0], entry[1] = info.st_size, info.st_mtime_ns  # touched, not changed
            self._dirty = True
        return [Diagnostic(path, *item) for item in found]  # type: ignore[misc, union-attr]

    def store(self, path: str, diagnostics: list[Diagnostic]) -> None:
        try:
            info = os.stat(path)
            digest = _digest(Path(path).read_bytes())
        except OSError:
            return
        found = [[d.line, d.col, d.code, d.message, d.cell] for d in diagnostics]
        self._entries[os.path.abspath(path)] = [info.st_size, info.st_mtime_ns, digest, found]
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


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
