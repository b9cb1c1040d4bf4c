"""Running the fixer over files: read, fix, then print a diff or write back, and say what
happened to every LR001 site."""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lrlint import sources
from lrlint.fix import anymodel
from lrlint.fix.fixer import FixOptions, fix_source
from lrlint.fix.notebooks import fix_text
from lrlint.fix.writeback import WriteError, write_fixed
from lrlint.sources import notebook


@dataclass
class FixOutcome:
    lines: list[str] = field(default_factory=list)  # what to print, in order
    errors: list[str] = field(default_factory=list)  # one-line errors (exit 2)
    fixed: int = 0
    refused: int = 0


def fix_files(
    paths: Sequence[str],
    options: FixOptions,
    write: bool,
    style_diff: Callable[[str], str] | None = None,
) -> FixOutcome:
    """`style_diff` dresses each printed diff (colour on a terminal)."""
    outcome = FixOutcome()
    files_changed = 0
    for name in paths:
        path = Path(name)
        if notebook.is_notebook(name):
            files_changed += _fix_notebook(name, options, write, style_diff, outcome)
            continue
        try:
            raw = path.read_bytes()
            text = sources.decode(raw)
        except OSError as exc:
            outcome.errors.append(f"{name}: cannot read: {exc.strerror or exc}")
            continue
        except sources.SourceError as exc:
            outcome.errors.append(f"{name}: {exc}")
            continue
        try:
            length = anymodel.line_length(path)
            result = fix_source(
                text.text, dataclasses.replace(options, line_length=length, path=str(path))
            )
        except Exception as exc:  # a bug must not cost the user a file: nothing is written
            outcome.errors.append(f"{name}: internal error: {type(exc).__name__}: {exc}")
            continue
        if result.unparsable is not None:
            outcome.errors.append(
                f"{name}: not fixed: the file does not parse ({result.unparsable})"
            )
            continue
        for refusal in result.refused:
            outcome.lines.append(f"{name}:{refusal.line}: LR001 not fixed: {refusal.reason}")
            outcome.refused += 1
        if not result.changed:
            continue
        if write:
            try:
                write_fixed(path, raw, text, result.text)
            except WriteError as exc:
                outcome.errors.append(f"{name}: {exc}")
                continue
        else:
            outcome.lines.append(_styled(_diff(name, text.text, result.text), style_diff))
        files_changed += 1
        for line in result.fixed:
            verb = "would fix" if not write else "fixed"
            outcome.lines.append(f"{name}:{line}: {verb} LR001 ({result.strategy})")
        outcome.fixed += len(result.fixed)
        for other, (read, fixed_text) in sorted(result.others.items()):
            files_changed += _fix_caller(
                name, Path(other), (read, fixed_text), write, style_diff, outcome
            )
    outcome.lines.append(_summary(outcome, files_changed, write))
    return outcome


def _fix_caller(
    name: str,
    path: Path,
    texts: tuple[str, str],
    write: bool,
    style_diff: Callable[[str], str] | None,
    outcome: FixOutcome,
) -> int:
    """Another module the fix of `name` rewrites (a caller's loop gets the unfreezing). It is
    written after `name`: should this write fail, `name` still holds correct groups."""
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    try:
        raw = path.read_bytes()
        text = sources.decode(raw)
    except (OSError, sources.SourceError) as exc:
        outcome.errors.append(f"{shown}: cannot read the caller of {name}: {exc}")
        return 0
    read, fixed_text = texts
    if text.text != read:
        outcome.errors.append(
            f"{shown}: changed on disk while {name} was fixed; the unfreezing was not added "
            f"(the groups of {name} train without it)"
        )
        return 0
    if write:
        try:
            write_fixed(path, raw, text, fixed_text)
        except WriteError as exc:
            outcome.errors.append(
                f"{shown}: {exc} (the unfreezing for {name}; its groups train without it)"
            )
            return 0
    else:
        outcome.lines.append(_styled(_diff(shown, text.text, fixed_text), style_diff))
    verb = "would add" if not write else "added"
    outcome.lines.append(f"{shown}: {verb} the gradual unfreezing for {name}")
    return 1


def _fix_notebook(
    name: str,
    options: FixOptions,
    write: bool,
    style_diff: Callable[[str], str] | None,
    outcome: FixOutcome,
) -> int:
    """Fix one notebook's code cells; 1 when it changed (or would), else 0."""
    path = Path(name)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        length = anymodel.line_length(Path(name))
        result = fix_text(text, dataclasses.replace(options, line_length=length, path=name))
    except OSError as exc:
        outcome.errors.append(f"{name}: cannot read: {exc.strerror or exc}")
        return 0
    except UnicodeDecodeError as exc:
        outcome.errors.append(f"{name}: cannot decode as utf-8 at byte {exc.start}: {exc.reason}")
        return 0
    except notebook.NotebookError as exc:
        outcome.errors.append(f"{name}: {exc}")
        return 0
    except Exception as exc:  # a bug must not cost the user a file: nothing is written
        outcome.errors.append(f"{name}: internal error: {type(exc).__name__}: {exc}")
        return 0
    for cell, line, reason in result.refused:
        where = f"cell {cell}:{line}" if cell is not None else str(line)
        outcome.lines.append(f"{name}:{where}: LR001 not fixed: {reason}")
        outcome.refused += 1
    if not result.changed:
        return 0
    if write:
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
        decoded = sources.SourceText(text, encoding, "\n")
        try:
            write_fixed(path, raw, decoded, result.text)
        except WriteError as exc:
            outcome.errors.append(f"{name}: {exc}")
            return 0
    else:
        for change in result.changes:
            where = f"{name}:cell {change.number}"
            outcome.lines.append(_styled(_diff(where, change.before, change.after), style_diff))
    verb = "would fix" if not write else "fixed"
    for cell, line in result.fixed:
        outcome.lines.append(f"{name}:cell {cell}:{line}: {verb} LR001 ({result.strategy})")
    outcome.fixed += len(result.fixed)
    return 1


def _styled(diff: str, style_diff: Callable[[str], str] | None) -> str:
    return style_diff(diff) if style_diff is not None else diff


def _diff(name: str, before: str, after: str) -> str:
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    # a last line without a newline (a notebook cell's, often) must not run into the next
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff).rstrip("\n")


def _summary(outcome: FixOutcome, files: int, write: bool) -> str:
    if not outcome.fixed and not outcome.refused:
        return "Nothing to fix."
    done = "Fixed" if write else "Would fix"
    sites = "site" if outcome.fixed == 1 else "sites"
    in_files = "file" if files == 1 else "files"
    text = f"{done} {outcome.fixed} {sites} in {files} {in_files}."
    if outcome.refused:
        text += f" {outcome.refused} could not be fixed (see above)."
    return text
