"""The modules of a project, parsed on demand and once per run, and what their names refer to.

A checked file's setup often lives elsewhere: a `Trainer` subclass in `trainer.py`, the model
class in `models.py`, the optimizer built by a helper in `utils.py`. The static pass asks a
`Project` what a qualified name is (`symbol`: a class, a function, a value), which module
defines it (`defining_module`, read from the file system only), and which scripts beside a
helper call it (`callers`). Every file a question reads is recorded (`touched`), so that a
cached result can be keyed on all of them. Nothing is parsed that no question needs.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lrlint import sources
from lrlint.project import layout

if TYPE_CHECKING:
    import libcst as cst

    from lrlint.analysis.script import CallSite, ClassInfo, Scope, Script

# A module file larger than this is not read for another file's sake (generated code, vendored
# libraries): the question stays unanswered rather than slow.
MAX_MODULE_BYTES = 1_500_000
# Modules one checked file's questions may parse (or take parsed from earlier files: the count
# is the same either way, so that a file's findings never depend on what was checked before
# it). A training script reads a handful; a library's example reaching into the library itself
# would read hundreds, and the questions past this stay unanswered.
MAX_MODULES_PER_FILE = 6
# Scripts read for the callers of a helper function, at most (its folder and the root's).
MAX_CALLER_FILES = 64

# `from .trainers import X` in a package's __init__: what it re-exports
_RELATIVE_FROM = re.compile(r"^from\s+\.(\w+)\s+import", re.MULTILINE)


@dataclass(frozen=True)
class Symbol:
    """What a name of another module is: a class, a function, or a value bound at module level
    (`expr` in `scope` at `seq`); `script` is where it is defined."""

    script: Script
    kind: str  # "class", "function", "value" or "module"
    info: ClassInfo | None = None
    function: Scope | None = None
    expr: cst.BaseExpression | None = None
    scope: Scope | None = None
    seq: float = float("inf")


class Project:
    def __init__(self, overlays: Mapping[str, str] | None = None) -> None:
        # unsaved editor buffers, by real path: read instead of the disk
        self.overlays = {os.path.realpath(p): text for p, text in (overlays or {}).items()}
        self._scripts: dict[Path, Script | None] = {}
        self._texts: dict[Path, str | None] = {}
        self._names: dict[Path, frozenset[str] | None] = {}
        self._callers: dict[
            tuple[Path | None, str, str], tuple[list[tuple[Script, CallSite]], set[Path]]
        ] = {}
        self._calls: dict[Path, frozenset[str]] = {}
        self.touched: set[Path] = set()  # every file a question read, since `begin`
        self._modules: set[Path] = set()  # the modules those questions parsed, since `begin`
        self.through: set[str] = set()  # modules reported through the checked file's calls

    def begin(self) -> None:
        """Start recording the files one checked file's questions read (its dependencies)."""
        self.touched = set()
        self._modules = set()
        self.through = set()

    # ---- files ----------------------------------------------------------------------------
    def text(self, path: Path) -> str | None:
        self.touched.add(path)
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def _read(self, path: Path) -> str | None:
        overlay = self.overlays.get(str(path))
        if overlay is not None:
            return overlay
        try:
            if path.stat().st_size > MAX_MODULE_BYTES:
                return None
            return sources.read(str(path)).text
        except (OSError, sources.SourceError):
            return None

    def script_at(self, path: Path) -> Script | None:
        """The parsed module at `path` (a real path), or None when it cannot be read or parsed,
        or the checked file has read its share of modules."""
        if path not in self._modules:
            if len(self._modules) >= MAX_MODULES_PER_FILE:
                return None
            self._modules.add(path)
        text = self.text(path)  # recorded as read even when parsed for an earlier file
        if path not in self._scripts:
            self._scripts[path] = None  # a module importing itself sees nothing, not a loop
            if text is not None:
                from lrlint.analysis.script import Script  # the static pass sits above this

                try:
                    self._scripts[path] = Script.parse(text, path=path, project=self)
                except Exception:  # a module that does not parse answers nothing
                    self._scripts[path] = None
        return self._scripts[path]

    def adopt(self, script: Script) -> None:
        """Register the checked file itself, so that other modules importing it see this parse."""
        if script.path is not None:
            self._scripts.setdefault(script.path, script)

    # ---- names ----------------------------------------------------------------------------
    def module_text(self, importer: Path, module: str, level: int) -> str | None:
        """The text of a module as `importer` (a real path) imports it, for the prefilter (see
        `definition_text`), or None when it is not the project's. Only inside a project (a
        root marker above the file): an installed library's tree is not followed file to file
        for the text test."""
        if layout.project_root(importer.parent) is None:
            return None
        found = layout.module_file(importer, module, level)
        if found is None or found.is_dir():
            return None
        return self.definition_text(found)

    def definition_text(self, path: Path) -> str | None:
        """A module's text; a package's `__init__` comes with the modules it imports from
        relatively (what it re-exports)."""
        text = self.text(path)
        if text is None or path.name != "__init__.py":
            return text
        parts = [text]
        for submodule in _RELATIVE_FROM.findall(text)[:8]:
            inner = layout.module_file(path, submodule, 1)
            if inner is not None and not inner.is_dir():
                parts.append(self.text(inner) or "")
        return "\n".join(parts)

    def defining_module(self, importer: Script, qualname: str) -> Path | None:
        """The file of the longest prefix of `qualname` that is a module of the project, short
        of the whole name (read from the file system only: nothing is parsed)."""
        found = self._split(importer, qualname, whole=False)
        return found[0] if found is not None else None

    def definition_of(self, importer: Script, qualname: str) -> str | None:
        """The text of the module that defines `qualname`, for CPython's parser to read (see
        `definition_text`), or None when it is not the project's."""
        module = self.defining_module(importer, qualname)
        return self.definition_text(module) if module is not None else None

    def _split(self, importer: Script, qualname: str, whole: bool) -> tuple[Path, list[str]] | None:
        """The longest prefix of `qualname` that names a module (or namespace folder) of the
        project, as `importer` imports it, and the names after it; `whole=False` leaves at
        least one name after it. None when no prefix does, or when it is a namespace folder."""
        if importer.path is None:
            return None
        level, name = layout.split_relative(qualname)
        parts = name.split(".") if name else []
        for cut in range(len(parts) if whole else len(parts) - 1, -1, -1):
            module = ".".join(parts[:cut])
            if not module and not level:
                break
            found = layout.module_file(importer.path, module, level)
            if found is not None:
                # a namespace package: only its submodules are names
                return None if found.is_dir() else (found, parts[cut:])
        return None

    def symbol(self, importer: Script, qualname: str, depth: int = 0) -> Symbol | None:
        """What `qualname` (as the importer's import table qualifies a name) is in the project:
        the longest prefix that is a module of the project, then a name in it."""
        if depth > 6:
            return None
        found = self._split(importer, qualname, whole=True)
        if found is None:
            return None
        path, rest = found
        if not rest and path.name != "__init__.py":
            # `from pkg import Name` where pkg/__init__.py does `from .Name import Name`: the
            # package's attribute is the class, not its submodule of the same name
            init = path.parent / "__init__.py"
            names = self._top_level(init) if init.is_file() else None
            init_script = self.script_at(init) if names and path.stem in names else None
            if init_script is not None:
                member = self._member(init_script, [path.stem], depth)
                if member is not None and member.kind != "module":
                    return member
        if rest and not self._may_define(path, rest[0]):
            return None  # told by CPython's parser, several times faster than LibCST's
        script = self.script_at(path)
        if script is None:
            return None
        if not rest:
            return Symbol(script, "module")
        return self._member(script, rest, depth)

    def _may_define(self, path: Path, name: str) -> bool:
        """Whether the module at `path` can bind `name` at its top level: it defines, assigns or
        imports it (in any branch), star-imports, or is a package's `__init__`."""
        if path.name == "__init__.py":
            return True
        names = self._top_level(path)
        return names is None or name in names or "*" in names

    def _top_level(self, path: Path) -> frozenset[str] | None:
        """The names a module binds at its top level, by CPython's parser, once per run."""
        if path not in self._names:
            self._names[path] = _top_level_names(self.text(path))
        return self._names[path]

    def _member(self, script: Script, rest: list[str], depth: int) -> Symbol | None:
        head = rest[0]
        if len(rest) == 1:
            info = script.classes.get(head)
            if info is not None and info.scope.parent is script.module_scope:
                return Symbol(script, "class", info=info)
            for function in script.functions.get(head, ()):
                if function.parent is script.module_scope:
                    return Symbol(script, "function", function=function)
            binding = script.module_scope.reaching(head, float("inf"))
            if binding is not None and binding.value is not None and binding.unpack is None:
                return Symbol(
                    script, "value", expr=binding.value, scope=script.module_scope, seq=binding.seq
                )
        # a name the module imports (a package's __init__ re-exporting, `from x import *`)
        qualified = script.imports.qualify_name(head)
        if qualified is not None:
            return self.symbol(script, ".".join([qualified, *rest[1:]]), depth + 1)
        for module in script.imports.star_modules:  # `from .ast_models import *`
            found = self.symbol(script, ".".join([module, *rest]), depth + 1)
            if found is not None:
                return found
        if script.path is not None and script.path.name == "__init__.py":
            # `from pkg import submodule`
            return self.symbol(script, "." + ".".join(rest), depth + 1)
        return None

    # ---- callers --------------------------------------------------------------------------
    def callers(self, function: Scope) -> list[tuple[Script, CallSite]]:
        """Calls of a module-level function (or of a class, by its name) made by the scripts
        beside its module (its folder and the project root, where the entry scripts are), for
        what a helper's parameter is. Found once per run, with a budget of its own so that the
        answer is the same whichever checked file asks."""
        # by definition, not by parse: the checked file's own parse of a module and the one made
        # for an earlier file's question are the same function
        key = (function.script.path if function.script else None, function.kind, function.name)
        if key not in self._callers:
            before = self.touched, self._modules
            self.touched, self._modules = set(), set()
            found = list(self._find_callers(function))
            self._callers[key] = (found, self.touched)
            self.touched, self._modules = before
        found, read = self._callers[key]
        self.touched |= read  # a later file that asks has read the same files
        return found

    def _find_callers(self, function: Scope) -> Iterator[tuple[Script, CallSite]]:
        script = function.script
        if script is None or script.path is None:
            return
        name = function.name
        stem = script.path.parent.name if script.path.name == "__init__.py" else script.path.stem
        package = script.path.parent.name  # `from recformer import LitWrapper`, re-exported
        folders = [script.path.parent]
        root = layout.project_root(script.path.parent)
        if root is not None and root not in folders:
            folders.append(root)
        paths = [p for folder in folders for p in sorted(folder.glob("*.py"))][:MAX_CALLER_FILES]
        for path in paths:
            path = Path(os.path.realpath(path))
            if path == script.path:
                continue
            text = self.text(path)
            if text is None or name not in text or (stem not in text and package not in text):
                continue  # a caller imports the function's module (or package) and names it
            if path not in self._calls:
                self._calls[path] = _called_names(text)
            if name not in self._calls[path]:
                continue
            other = self.script_at(path)
            if other is None:
                continue
            for site in other.calls:
                if site.qualname is None or not site.qualname.endswith(name):
                    continue
                found = self.symbol(other, site.qualname)
                if found is None:
                    continue
                # the same definition, even from another parse of its module (the checked
                # file's own parse and the one made for an earlier file's question)
                scope = found.function or (found.info.scope if found.info else None)
                if (
                    scope is not None
                    and scope.name == function.name
                    and scope.kind == function.kind
                    and found.script.path == script.path
                ):
                    yield other, site


def _top_level_names(text: str | None) -> frozenset[str] | None:
    """The names a module binds at its top level ("*" for a star import); None when CPython
    cannot parse it (LibCST is then asked, and decides)."""
    if text is None:
        return frozenset()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    names: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop()
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                body.extend(getattr(node, field, ()))
        elif isinstance(node, ast.ExceptHandler):
            body.extend(node.body)
        else:
            names.update(
                target.id
                for target in ast.walk(node)
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store)
            )
    return frozenset(names)


def _called_names(text: str) -> frozenset[str]:
    """The names a module calls (`f(...)`, `x.f(...)`), read with CPython's parser, several
    times faster than LibCST's: a file that names a function without calling it is not parsed
    for its sake."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return frozenset()
    return frozenset(
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
    )
