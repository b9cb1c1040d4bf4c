"""Open documents and when they are checked: one scheduler entry per document (a script, or a
whole notebook), a debounce so typing does not start a check per keystroke, a stale run
cancelled when a newer version arrives, and the checking itself in worker threads so that a
slow file never blocks the message loop. Nothing here imports pygls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from lrlint.server.checking import Outcome

T = TypeVar("T")


@dataclass(frozen=True)
class CellSnapshot:
    uri: str
    kind: str  # "code", "markdown" or "raw" (notebooks.cell_kind)
    text: str
    version: int | None


@dataclass(frozen=True)
class Snapshot:
    """One version of a document, as it was when a check started."""

    key: str  # the document's URI; a notebook's own URI for all its cells
    path: Path
    text: str  # a script's text, or the notebook's JSON (notebooks.to_json)
    version: int | None
    cells: tuple[CellSnapshot, ...] | None = None  # a notebook's cells, in order

    @property
    def is_notebook(self) -> bool:
        return self.cells is not None


@dataclass
class Checked:
    snapshot: Snapshot
    outcome: Outcome
    seconds: float = 0.0


@dataclass
class Documents:
    """What was last checked, per document: hover and code actions answer from it."""

    checked: dict[str, Checked] = field(default_factory=dict)
    cell_to_notebook: dict[str, str] = field(default_factory=dict)

    def key_of(self, uri: str) -> str:
        return self.cell_to_notebook.get(uri, uri)

    def forget(self, key: str) -> None:
        self.checked.pop(key, None)
        for cell, notebook in list(self.cell_to_notebook.items()):
            if notebook == key:
                del self.cell_to_notebook[cell]


def same_project(a: Path, b: Path, root_of: Callable[[Path], Path | None]) -> bool:
    """Whether a change to `b` can change what lrlint finds in `a`: both under the same
    `[tool.lrlint]` project root (else the same folder). The one place that decides which open
    documents are checked again when another file of the project changes; the engine's project
    resolution (which files a script reads) can replace it without touching the handlers."""
    root = root_of(a)
    if root is None:
        return b.resolve().parent == a.resolve().parent
    try:
        b.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


class Scheduler:
    """Per key, at most one pending or running check; a new request replaces the old one.

    `check(key)` is awaited after `delay` seconds. Cancelling a task that waits in its debounce
    costs nothing; a task already inside `run_blocking` is cancelled too (its thread finishes
    on its own, and its result is dropped: `check` sees the CancelledError)."""

    def __init__(self, check: Callable[[str], Awaitable[None]], workers: int = 2) -> None:
        self._check = check
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lrlint-check")
        self.cancelled = 0  # stale runs dropped, for the log and the tests

    def schedule(self, key: str, delay: float) -> None:
        old = self._tasks.get(key)
        if old is not None and not old.done():
            old.cancel()
            self.cancelled += 1
        self._tasks[key] = asyncio.get_running_loop().create_task(self._later(key, delay))

    def cancel(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()

    async def _later(self, key: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self._check(key)

    async def run_blocking(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` in a worker thread; the loop goes on answering meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def shutdown(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def timed(function: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start
