"""Checking text and files: prefilter, parse, run the enabled rules, honour noqa.

One path from source to findings: a file is read into a `sources.Unit` (a script's text, or a
notebook's code cells joined), the unit's text is checked as one script, and the findings are
mapped back to cells. libcst and the rules are imported only once a file passes the prefilter,
so a pre-commit run over files that build no optimizer never pays for them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from lrlint import sources
from lrlint.diagnostics import Diagnostic
from lrlint.noqa import filter_suppressed
from lrlint.prefilter import may_have_findings, worth_parsing
from lrlint.project import layout
from lrlint.project.modules import Project
from lrlint.registry import BY_CODE, PARSE_ERROR

if TYPE_CHECKING:
    from lrlint.analysis.training import TrainingSetup
    from lrlint.cache import Cache

# Below this many files to parse, a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 4


@dataclass(frozen=True)
class CheckOptions:
    enabled: frozenset[str]
    num_examples: int | None = None
    # real paths of the files this run checks: a helper module among them reports its own
    # findings; one outside is reported at the checked script's call of it
    checked: frozenset[str] = frozenset()


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None  # a one-line message: the file could not be checked
    # the other files of the project the check read (real paths): the result depends on them
    dependencies: list[str] = field(default_factory=list)
    # the modules whose findings were reported at this file's calls (not checked this run)
    through: list[str] = field(default_factory=list)


def check_source(
    text: str, path: str, options: CheckOptions, project: Project | None = None
) -> list[Diagnostic]:
    """All findings in one file's text, sorted, with noqa applied. With a `project`, the
    modules of the file's project that its setup imports are read too (`path` locates it)."""
    real = Path(os.path.realpath(path)) if project is not None else None
    if real is not None and layout.is_installed(real):
        project, real = None, None  # an installed library is read file by file
    module_text = partial(project.module_text, real) if project is not None and real else None
    if not worth_parsing(text, module_text):
        return []
    import libcst  # deferred: see the module docstring

    from lrlint.analysis.script import Script
    from lrlint.analysis.training import TrainingSetup
    from lrlint.rules.base import RuleContext

    try:
        script = Script.parse(text, path=real, project=project)
    except libcst.ParserSyntaxError as exc:
        diagnostics = _parse_error(text, path, exc, options)
    else:
        context = RuleContext(TrainingSetup(script), options.num_examples)
        diagnostics = []
        for code in sorted(options.enabled):
            rule_class = BY_CODE[code].load()
            if rule_class is None:
                continue
            for finding in rule_class().check(context):
                line, col = script.position(finding.node)
                diagnostics.append(Diagnostic(path, line, col, code, finding.message))
        if project is not None and "LR001" in options.enabled:
            diagnostics += _handed_over(context.setup, path, options, project)
    return sorted(set(filter_suppressed(diagnostics, text.splitlines())))


def _handed_over(
    setup: TrainingSetup, path: str, options: CheckOptions, project: Project
) -> list[Diagnostic]:
    """LR001 at this script's calls of helpers in other modules that train the pretrained model
    it hands them at one rate, unless the helper's module is checked too (it reports there)."""
    from lrlint.analysis.handoff import handoffs
    from lrlint.rules.uniform_lr import ADVICE

    found = []
    for handoff in handoffs(setup, may_have_findings):
        module = str(handoff.module)
        if module in options.checked:
            continue
        project.through.add(module)
        line, col = setup.script.position(handoff.call.node)
        where = os.path.relpath(module, os.path.dirname(os.path.realpath(path)))
        if handoff.kind == "trainer":
            built = "Trainer builds its default optimizer"
        else:
            built = "the optimizer is built"
        message = (
            f"{handoff.helper.name}() trains every layer of the pretrained model it is given at "
            f"one learning rate ({built} at {where}:{handoff.built_at}); {ADVICE}"
        )
        found.append(Diagnostic(path, line, col, "LR001", message))
    return found


def _parse_error(text: str, path: str, exc: Exception, options: CheckOptions) -> list[Diagnostic]:
    if PARSE_ERROR not in options.enabled:
        return []
    # CPython's own parser places the error where users expect it (libcst's line can be one
    # off); libcst's position is the fallback for syntax CPython accepts and libcst does not.
    try:
        compile(text, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
    except SyntaxError as syntax:
        line, col = syntax.lineno or 1, syntax.offset or 1
        message = f"cannot parse: {syntax.msg}"
    else:
        line = getattr(exc, "raw_line", 1)
        col = getattr(exc, "raw_column", 0) + 1
        message = f"lrlint's parser (libcst) cannot parse this file: {str(exc).splitlines()[0]}"
    return [Diagnostic(path, line, col, PARSE_ERROR, message)]


def check_unit(
    unit: sources.Unit, options: CheckOptions, project: Project | None = None
) -> list[Diagnostic]:
    """All findings of a read file: its script checked, a notebook's findings in cell
    coordinates, and an LR900 for each notebook cell that does not parse."""
    if unit.joined is None:
        return check_source(unit.text, unit.path, options, project)
    diagnostics = []
    if unit.broken and PARSE_ERROR in options.enabled and may_have_findings(unit.everything):
        diagnostics += [
            Diagnostic(unit.path, b.line, b.col, PARSE_ERROR, b.message, b.cell)
            for b in unit.broken
        ]
    for found in check_source(unit.text, unit.path, options, project):
        place = unit.place(found.line)
        if place is not None:  # always: nothing is reported on a cell's marker line
            cell, line = place
            message = _LINES.sub(lambda m: _in_cells(unit, m), found.message)
            diagnostics.append(replace(found, line=line, cell=cell, message=message))
    return sorted(diagnostics)


_LINES = re.compile(r"\b(lines?) (\d+(?:, \d+)*)")


def _in_cells(unit: sources.Unit, match: re.Match[str]) -> str:
    """`line 500` of the joined script, as the notebook's user sees it: `line 4 of cell 29`
    (`lines 4, 9 of cell 29`)."""
    places = [unit.place(int(n)) for n in match[2].split(", ")]
    if any(p is None or p[0] is None for p in places):
        return match[0]
    cells = {p[0] for p in places if p is not None}
    lines = ", ".join(str(p[1]) for p in places if p is not None)
    if len(cells) == 1:
        return f"{match[1]} {lines} of cell {cells.pop()}"
    return ", ".join(f"line {p[1]} of cell {p[0]}" for p in places if p is not None)


def check_file(path: str, options: CheckOptions, project: Project | None = None) -> FileResult:
    """One file's findings, or a one-line error. The `project` (one per run: its modules are
    parsed once) defaults to the worker's, else a new one."""
    project = project or _WORKER_PROJECT or Project()
    project.begin()
    result = _check_file(path, options, project)
    own = os.path.realpath(path)
    result.dependencies = sorted(str(p) for p in project.touched if str(p) != own)
    result.through = sorted(project.through)
    return result


def _check_file(path: str, options: CheckOptions, project: Project) -> FileResult:
    try:
        unit = sources.read(path)
    except sources.SourceError as exc:
        if exc.unreadable:
            return FileResult(path, error=str(exc))
        # bytes that are not text in the declared encoding, JSON that is not a notebook:
        # a finding, not a crash
        if PARSE_ERROR in options.enabled:
            return FileResult(path, [Diagnostic(path, exc.line, exc.col, PARSE_ERROR, str(exc))])
        # a script that is not text may be no Python at all; a notebook that cannot be read
        # is one the user asked for, and hears about
        return FileResult(path, error=str(exc) if sources.is_notebook(path) else None)
    try:
        return FileResult(path, check_unit(unit, options, project))
    except RecursionError:
        return FileResult(path, error="internal error: the file nests too deeply to analyse")
    except Exception as exc:  # a bug in a rule must not stop the other files
        return FileResult(path, error=f"internal error: {type(exc).__name__}: {exc}")


def check_files(
    paths: Sequence[str],
    options: CheckOptions,
    jobs: int | None,
    cache: Cache | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Check files: unchanged ones from the cache, the rest in worker processes when there are
    enough of them (each worker reads, prefilters and checks, so all three run in parallel)."""
    done = progress or (lambda count: None)
    if not options.checked:
        options = replace(options, checked=frozenset(os.path.realpath(p) for p in paths))
    results: dict[str, FileResult] = {}
    pending: list[str] = []
    for path in paths:
        cached = cache.lookup(path, options.checked) if cache is not None else None
        if cached is None:
            pending.append(path)
        else:
            results[path] = FileResult(path, cached)
            done(1)
    workers = jobs or os.cpu_count() or 1
    if workers <= 1 or len(pending) < _PARALLEL_THRESHOLD:
        project = Project()  # one per run: each module is parsed once
        for path in pending:
            results[path] = check_file(path, options, project)
            done(1)
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker) as pool:
            chunks = max(1, len(pending) // (workers * 16))  # small enough to balance the load
            checked = pool.map(
                check_file, pending, _repeat(options, len(pending)), chunksize=chunks
            )
            for path, result in zip(pending, checked, strict=True):
                results[path] = result
                done(1)
    if cache is not None:
        for path in pending:
            result = results[path]
            if result.error is None:  # a file that could not be checked is not kept
                cache.store(path, result.diagnostics, result.dependencies, result.through)
        cache.save()
    return [results[path] for path in paths]


_WORKER_PROJECT: Project | None = None


def _start_worker() -> None:
    """A worker process keeps one project for the run, so each module is parsed once in it."""
    global _WORKER_PROJECT
    _WORKER_PROJECT = Project()


def _repeat(value: CheckOptions, times: int) -> Iterable[CheckOptions]:
    return [value] * times
