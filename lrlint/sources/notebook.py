"""Reading Jupyter notebooks: the code cells become one script, so that a model loaded in cell 2
is the model the optimizer in cell 5 trains; lines of that script map back to their cells, and a
rewritten script maps back into the notebook's JSON.

IPython syntax does not parse as Python, so before parsing each line magic (`%pip install`),
shell line (`!nvidia-smi`, `files = !ls`) and help line (`model?`) becomes a `pass` placeholder
with the same indentation, and the first line of a cell magic whose body is Python (`%%time`,
`%%capture`) does too; a cell under any other cell magic (`%%bash`, `%%writefile`) is not Python
and is left out. Line numbers inside a cell do not move. A cell that still does not parse is
reported (LR900) and left out, and the rest of the notebook is checked without it.

Cells are numbered from 1 over all cells, markdown included, as ruff numbers them: cell N is the
Nth box from the top of the notebook and `cells[N - 1]` in its JSON.
"""

from __future__ import annotations

import bisect
import io
import json
import re
import tokenize
import uuid
from dataclasses import dataclass, field
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from lrlint.sources.text import SourceError

SUFFIX = ".ipynb"
# Cell magics whose body is Python: the `%%` line is masked and the body checked.
PYTHON_CELL_MAGICS = frozenset(
    {"time", "timeit", "capture", "prun", "debug", "memit", "lprun", "mprun", "snakeviz"}
)
_ONLY_AST = 0x400  # ast.PyCF_ONLY_AST, without importing ast
_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT: IPython runs `await` in cells
_ASSIGNED_MAGIC = re.compile(r"^[\w.\[\], ]+=\s*[!%]")
# IPython's automagic: a line magic called without its `%` (`pip install peft`, `cd data`)
_AUTOMAGIC = re.compile(
    r"^(?:pip|conda|mamba|cd|ls|ll|pwd|mkdir|rmdir|cat|cp|mv|rm|env|set_env|load_ext|reload_ext"
    r"|matplotlib|time|timeit|run|autoreload|config|who|whos|sx|system|pip3)(?:\s+[^\s=(\[.,:]|$)"
)


class NotebookError(SourceError):
    """The file is not a notebook lrlint can read; the message is one line for the user."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(message, line=line, col=col)


def is_notebook(path: str | Path) -> bool:
    return str(path).endswith(SUFFIX)


# ---- reading -------------------------------------------------------------------------------
@dataclass
class Cell:
    number: int  # 1-based over all cells
    kind: str  # "code", "markdown", "raw"
    source: str  # the cell's text as the user wrote it


@dataclass
class Notebook:
    text: str  # the .ipynb file's JSON text
    data: dict[str, Any]
    cells: list[Cell]

    @property
    def is_python(self) -> bool:
        """False for an R, Julia or other kernel's notebook: nothing in it is checked."""
        metadata = self.data.get("metadata") or {}
        language = (metadata.get("language_info") or {}).get("name") or (
            metadata.get("kernelspec") or {}
        ).get("language")
        return language is None or str(language).lower() in {"python", "python3", "ipython"}

    @property
    def code_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == "code"]

    def cell(self, number: int) -> Cell | None:
        return self.cells[number - 1] if 0 < number <= len(self.cells) else None


def parse(text: str) -> Notebook:
    """Raises NotebookError for text that is not an nbformat 4 notebook."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"not a notebook: invalid JSON: {exc.msg}"
        raise NotebookError(message, exc.lineno, exc.colno) from None
    if not isinstance(data, dict):
        raise NotebookError("not a notebook: the JSON is not an object")
    if not isinstance(data.get("cells"), list):
        hint = " (nbformat 3: convert it with `jupyter nbconvert --to notebook`)"
        old = "worksheets" in data
        raise NotebookError("not an nbformat 4 notebook: no list of cells" + (hint if old else ""))
    cells = []
    for number, raw in enumerate(data["cells"], start=1):
        if not isinstance(raw, dict):
            raise NotebookError(f"not a notebook: cell {number} is not an object")
        cells.append(Cell(number, str(raw.get("cell_type", "")), _joined(raw.get("source", ""))))
    return Notebook(text, data, cells)


def read(path: Path) -> Notebook:
    """Raises OSError when the file cannot be read and NotebookError when it is not a notebook."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"cannot decode as utf-8 at byte {exc.start}: {exc.reason}") from None
    return parse(text)


def _joined(source: object) -> str:
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return str(source)


# ---- masking IPython syntax ---------------------------------------------------------------
@dataclass
class MaskedCell:
    number: int
    source: str  # as written
    text: str  # what the parser sees: same lines, IPython syntax replaced by placeholders
    masked: dict[int, str] = field(default_factory=dict)  # 1-based line -> its original text


def mask(cell: Cell, tag: str) -> MaskedCell | None:
    """The cell with IPython-only lines replaced by `pass  # <tag>-N`; None when a cell magic
    says the cell is not Python."""
    lines = cell.source.splitlines(keepends=True)
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)[0] if len(first) > 2 else ""
        if name not in PYTHON_CELL_MAGICS:
            return None
    elif _parses(cell.source):
        return MaskedCell(cell.number, cell.source, cell.source)  # plain Python: the usual case
    candidates = {n for n, line in enumerate(lines, start=1) if _is_ipython(line.strip(), n)}
    if candidates:
        # `% x` that continues an expression, or `!` inside a triple-quoted string, is Python
        continuing = _continuation_lines(cell.source)
        if continuing is None:
            continuing = _continuation_lines(_replaced(lines, candidates, tag)) or set()
        candidates -= continuing
    for number in sorted(candidates):  # `%pip install a \` goes on over the next line
        while number <= len(lines) and lines[number - 1].rstrip("\r\n").endswith("\\"):
            number += 1
            candidates.add(number)
    candidates &= set(range(1, len(lines) + 1))
    text = _replaced(lines, candidates, tag)
    masked = {number: lines[number - 1] for number in sorted(candidates)}
    return MaskedCell(cell.number, cell.source, text, masked)


def _parses(text: str) -> bool:
    try:
        compile(text, "<cell>", "exec", dont_inherit=True, flags=_ONLY_AST | _TOP_LEVEL_AWAIT)
    except (SyntaxError, ValueError):
        return False
    return True


def _is_ipython(stripped: str, number: int) -> bool:
    if not stripped or stripped.startswith("#"):
        return False
    if stripped.startswith("%%"):
        return number == 1
    if stripped.startswith(("%", "!", "?")):
        return True
    if stripped.endswith("?") and "#" not in stripped:  # `model?`, `AdamW??`
        return True
    if _AUTOMAGIC.match(stripped):
        return True  # `pip install -q peft`, `cd /content`; `time = 5` or `cd(x)` stays Python
    return _ASSIGNED_MAGIC.match(stripped) is not None  # `files = !ls`, `t = %timeit -o f()`


def _continuation_lines(text: str) -> set[int] | None:
    """Lines that do not start a statement: inside brackets, after a backslash, or inside a
    multi-line string. None when the tokenizer gives up on the IPython syntax."""
    inside: set[int] = set()
    depth = 0
    at_start = True
    seen_row = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            (row, _), (end_row, _) = token.start, token.end
            if row > seen_row:
                if depth > 0 or not at_start:
                    inside.add(row)
                seen_row = row
            if end_row > row:  # a multi-line string: its later lines are text
                inside.update(range(row + 1, end_row + 1))
                seen_row = max(seen_row, end_row)
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth = max(depth - 1, 0)
            at_start = token.type in (
                tokenize.NEWLINE,
                tokenize.NL,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.COMMENT,
            )
    except (tokenize.TokenError, SyntaxError):
        return None
    return inside


def _replaced(lines: list[str], numbers: set[int], tag: str) -> str:
    out = []
    indent = ""
    for number, line in enumerate(lines, start=1):
        if number in numbers:
            continued = number - 1 in numbers and lines[number - 2].rstrip("\r\n").endswith("\\")
            if not continued:  # the lines a `\` continues keep the indentation of the first
                indent = line[: len(line) - len(line.lstrip())]
            ending = line[len(line.rstrip("\r\n")) :]
            out.append(f"{indent}pass  # {tag}-{number}{ending}")
        else:
            out.append(line)
    return "".join(out)


# ---- the cells as one script --------------------------------------------------------------
@dataclass
class Joined:
    """The parsable code cells, one after the other, each after a marker comment line."""

    text: str
    cells: list[MaskedCell]
    starts: list[int]  # the script line of each cell's first line
    tag: str
    broken: list[tuple[MaskedCell, SyntaxError]]  # cells left out: they do not parse
    added_newline: set[int]  # cells whose source does not end in a newline

    def locate(self, line: int) -> tuple[MaskedCell, int] | None:
        """The cell and the line in it of a script line (None for a marker line)."""
        index = bisect.bisect_right(self.starts, line) - 1
        if index < 0:
            return None
        cell = self.cells[index]
        within = line - self.starts[index] + 1
        count = len(cell.text.splitlines())
        return (cell, within) if within <= max(count, 1) else None

    def place(self, line: int) -> tuple[int | None, int]:
        """(cell number, line in the cell) of a script line; (None, line) for a marker."""
        found = self.locate(line)
        return (found[0].number, found[1]) if found else (None, line)

    def marker(self, number: int) -> str:
        return f"# {self.tag}-cell-{number}"


def join(notebook: Notebook) -> Joined:
    tag = f"lrlint-{uuid.uuid4().hex[:12]}"
    parts: list[str] = []
    cells: list[MaskedCell] = []
    starts: list[int] = []
    broken: list[tuple[MaskedCell, SyntaxError]] = []
    added: set[int] = set()
    line = 1
    for cell in notebook.code_cells:
        masked = mask(cell, f"{tag}-magic")
        if masked is None:
            continue
        try:
            compile(
                masked.text, "<cell>", "exec", dont_inherit=True, flags=_ONLY_AST | _TOP_LEVEL_AWAIT
            )
        except SyntaxError as exc:
            broken.append((masked, exc))
            continue
        except ValueError:  # a NUL byte
            continue
        text = masked.text
        if text and not text.endswith(("\n", "\r")):
            text += "\n"
            added.add(cell.number)
        parts.append(f"# {tag}-cell-{cell.number}\n")
        parts.append(text)
        cells.append(masked)
        starts.append(line + 1)
        line += 1 + len(text.splitlines())
    return Joined("".join(parts), cells, starts, tag, broken, added)


# ---- the fixed script back into cells --------------------------------------------------
@dataclass
class CellChange:
    number: int
    before: str
    after: str


class Unmappable(Exception):
    """A rewrite of the joined script that cannot be put back into the cells."""


def split(joined: Joined, fixed: str) -> list[CellChange]:
    """The fixed script back into cells, IPython lines restored; raises Unmappable when the
    rewrite moved code across a cell boundary or lost a masked line."""
    marker = re.compile(rf"^# {re.escape(joined.tag)}-cell-(\d+)\r?\n", re.MULTILINE)
    found = list(marker.finditer(fixed))
    if [int(m.group(1)) for m in found] != [cell.number for cell in joined.cells] or (
        found and found[0].start() != 0
    ):
        raise Unmappable("the fix would move code between cells")
    changes = []
    for index, (cell, match) in enumerate(zip(joined.cells, found, strict=True)):
        end = found[index + 1].start() if index + 1 < len(found) else len(fixed)
        body = fixed[match.end() : end]
        if body == cell.text + ("\n" if cell.number in joined.added_newline else ""):
            continue
        try:
            compile(body, "<cell>", "exec", dont_inherit=True, flags=_ONLY_AST | _TOP_LEVEL_AWAIT)
        except SyntaxError:
            raise Unmappable(f"the fix would leave cell {cell.number} unparsable") from None
        restored = _unmasked(body, cell, joined.tag)
        if cell.number in joined.added_newline and restored.endswith("\n"):
            restored = restored[:-1]
        if restored != cell.source:
            changes.append(CellChange(cell.number, cell.source, restored))
    return changes


def _unmasked(body: str, cell: MaskedCell, tag: str) -> str:
    placeholder = re.compile(rf"^[ \t]*pass  # {re.escape(tag)}-magic-(\d+)(\r?\n)?$")
    seen: list[int] = []
    out = []
    for line in body.splitlines(keepends=True):
        match = placeholder.match(line)
        if match is None:
            out.append(line)
            continue
        number = int(match.group(1))
        seen.append(number)
        original = cell.masked.get(number)
        if original is None:
            raise Unmappable(f"the fix would move IPython lines of cell {cell.number}")
        out.append(original.rstrip("\r\n") + (match.group(2) or ""))
    if sorted(seen) != sorted(cell.masked):
        raise Unmappable(f"the fix would drop IPython lines of cell {cell.number}")
    return "".join(out)


# ---- where things are in the JSON text ----------------------------------------------------
class _Located(str):
    """A JSON string value that remembers where it stands in the text."""

    start: int
    end: int


def _located_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()
    plain = decoder.parse_string

    def parse_string(text: str, end: int, strict: bool = True) -> tuple[str, int]:
        value, after = plain(text, end, strict)
        located = _Located(value)
        located.start, located.end = end - 1, after
        return located, after

    decoder.parse_string = parse_string  # type: ignore[assignment]
    decoder.scan_once = py_make_scanner(decoder)
    return decoder


def _source_values(text: str) -> list[object]:
    """Each cell's `source` value, with positions (a list of _Located, or one _Located)."""
    data = _located_decoder().decode(text)
    return [cell.get("source", "") for cell in data["cells"]]


def json_lines(text: str) -> dict[int, list[int]]:
    """For each cell number, the line of the .ipynb file that holds each of its source lines
    (so a CI annotation lands on the JSON line that shows the code)."""
    try:
        values = _source_values(text)
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    newlines = [index for index, char in enumerate(text) if char == "\n"]
    mapping: dict[int, list[int]] = {}
    for number, value in enumerate(values, start=1):
        pieces = value if isinstance(value, list) else [value]
        lines: list[int] = []
        for piece in pieces:
            if not isinstance(piece, _Located):
                continue
            at = bisect.bisect_left(newlines, piece.start) + 1
            lines.extend([at] * max(1, piece.count("\n") + (0 if piece.endswith("\n") else 1)))
        mapping[number] = lines
    return mapping


def splice(text: str, sources: dict[int, str]) -> str:
    """The notebook text with these cells' sources replaced, the rest untouched."""
    values = _source_values(text)
    ensure_ascii = text.isascii() and re.search(r"\\u[0-9a-fA-F]{4}", text) is not None
    edits: list[tuple[int, int, str]] = []
    for number, new in sorted(sources.items()):
        value = values[number - 1]
        if isinstance(value, _Located):
            edits.append((value.start, value.end, json.dumps(new, ensure_ascii=ensure_ascii)))
            continue
        items = [item for item in value if isinstance(item, _Located)]
        if not items or len(items) != len(value):
            raise NotebookError(f"cell {number}: cannot rewrite its source list")
        separator = _separator(text, items)
        lines = new.splitlines(keepends=True)
        rendered = separator.join(json.dumps(line, ensure_ascii=ensure_ascii) for line in lines)
        edits.append((items[0].start, items[-1].end, rendered))
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    return out


def _separator(text: str, items: list[_Located]) -> str:
    """What stands between two items of a source list in this file (nbformat: `,\\n   `)."""
    if len(items) > 1:
        return text[items[0].end : items[1].start]
    line_start = text.rfind("\n", 0, items[0].start) + 1
    indent = text[line_start : items[0].start]
    newline = "\r\n" if text[max(line_start - 2, 0) : line_start] == "\r\n" else "\n"
    return f",{newline}{indent}" if not indent.strip() and line_start > 0 else ", "
