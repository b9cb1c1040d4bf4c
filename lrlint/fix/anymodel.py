"""Fixes for models the file does not fix: the checkpoint comes from a flag, a config, the
environment, or the script's own module wraps an `AutoModel` backbone.

No static layout is right for every model such a script can be given, so the fix writes
`lrlint.depth.layerwise`'s plain-torch function into the file (once, after the imports) and
lets it find depth at run time; the optimizer call, the Trainer's `optimizers=` or the
LightningModule's `configure_optimizers` then use its groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from lrlint.analysis.names import checkpoint_arg, last_name
from lrlint.analysis.script import ClassInfo, Script
from lrlint.analysis.training import TrainingSetup
from lrlint.analysis.uniform import UniformSite
from lrlint.depth import family_from_name
from lrlint.depth.layerwise import FUNCTION_NAME, source
from lrlint.fix.rewrite import Edits

_LOADERS = frozenset({"from_pretrained", "from_config", "create_model", "load"})
# torch.optim's default rates, for optimizers called without lr=
DEFAULT_LR = {
    "AdamW": 1e-3,
    "Adam": 1e-3,
    "SGD": 1e-3,
    "RAdam": 1e-3,
    "NAdam": 2e-3,
    "Adamax": 2e-3,
    "Adagrad": 1e-2,
    "RMSprop": 1e-2,
    "Adadelta": 1.0,
}
LINE_LENGTH = 88  # Black's and ruff's default: written lines stay within it
FREEZE_SHARE = 0.75  # the seed's table: the bottom 9 of 12 blocks for under 100 examples


class RuntimeRefusal(Exception):
    """No correct code exists for this site, even one that finds depth at run time."""


def fixed_by_file(script: Script, setup: TrainingSetup, uniform: UniformSite) -> bool:
    """The file fixes the architecture: a family class (`BertForSequenceClassification`), a
    literal hub id, or a module of the script whose backbones are fixed so. A checkpoint from a
    flag, a config object, a file or the environment is not: another model can come in."""
    assert uniform.model is not None
    if uniform.parts:
        return False  # a static layout would put the parts the optimizer leaves out in it
    site = uniform.site
    source_node = setup.resolver.resolve(uniform.model, site.scope, site.seq).source
    if isinstance(source_node, cst.Call):
        return _call_fixed(script, source_node)
    if isinstance(source_node, ClassInfo):
        calls = _loader_calls(source_node.scope.node)
        return bool(calls) and all(_call_fixed(script, call) for call in calls)
    return False


# Calls whose first argument (a literal hub id) fixes the architecture they load.
_LOADERS = frozenset({"from_pretrained", "from_config", "create_model", "SentenceTransformer"})


def _call_fixed(script: Script, call: cst.Call) -> bool:
    func = call.func
    name = last_name(func) or ""
    if isinstance(func, cst.Attribute) and name in {"from_pretrained", "from_config"}:
        owner = last_name(func.value) or ""
        if owner and not owner.startswith("Auto") and family_from_name(owner):
            return True
    elif name[:1].isupper() and not name.startswith("Auto") and family_from_name(name):
        return True  # BertForSequenceClassification(config)
    if name not in _LOADERS:
        # a class of another module called with a hub id (`Classifier("bert-base-uncased")`):
        # the id says nothing of where the class keeps the backbone
        return False
    first = checkpoint_arg(call)
    return _literal(script, call, first)


def _literal(script: Script, call: cst.Call, value: cst.BaseExpression | None) -> bool:
    if isinstance(value, cst.SimpleString):
        return True
    if isinstance(value, cst.Name):
        bindings = [
            b for scope in script.function_scopes for b in scope.bindings.get(value.value, [])
        ]
        return len(bindings) == 1 and isinstance(bindings[0].value, cst.SimpleString)
    return False


def _loader_calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if last_name(call.func) in _LOADERS:
                found.append(call)

    node.visit(Finder())
    return found


@dataclass
class RuntimeFix:
    """What to write: the function's name in this file, and how the call sites use it."""

    function: str
    model: str
    rate: str
    strategy: str
    decay: float | None
    layers: int | None
    # gradual under DDP: freeze nothing, the unfreezing holds the optimizer's lower groups
    hold: bool = False

    def call(self, params: str | None = None, weight_decay: str | None = None) -> str:
        args = [self.model, self.rate]
        if params is not None:
            args.append(f"params={params}")
        if weight_decay is not None:
            args.append(f"weight_decay={weight_decay}")
        if self.decay is not None:
            args.append(f"decay={self.decay!r}")
        if self.strategy == "freeze":
            args.append(f"freeze={self.layers if self.layers is not None else FREEZE_SHARE}")
        if self.strategy == "gradual" and not self.hold:
            args.append("epoch=0")
        return f"{self.function}({', '.join(args)})"

    def unfreeze(self, model: str, epoch: str, optimizer: str | None = None) -> str:
        held = f", optimizer={optimizer}" if self.hold and optimizer is not None else ""
        return f"{self.function}({model}, epoch={epoch}{held})"


def function_name(script: Script, taken: set[str]) -> tuple[str, bool]:
    """The name of the written function in this file, and whether it must still be written."""
    if re.search(rf"^def {FUNCTION_NAME}\(", script.text, re.M):
        return FUNCTION_NAME, False
    name, counter = FUNCTION_NAME, 2
    while name in taken:
        name, counter = f"{FUNCTION_NAME}_{counter}", counter + 1
    return name, True


def add_function(edits: Edits, script: Script, name: str) -> None:
    """The function goes once into the file, after its imports, indented as the file is."""
    text = source(name, indent_unit(script.text))
    edits.imports.append("\n\n" + text.rstrip("\n") + "\n\n")


def indent_unit(text: str) -> str:
    for line in text.splitlines():
        stripped = line.lstrip(" \t")
        if stripped and line != stripped and not stripped.startswith("#"):
            unit = line[: len(line) - len(stripped)]
            if unit.startswith("\t"):
                return "\t"
            if len(unit) in (2, 4, 8):
                return unit if len(unit) <= 4 else "    "
    return "    "


def optimizer_params(
    script: Script, call: cst.Call, qualname: str | None, model: str
) -> str | None:
    """The optimizer's own params argument to pass through (its groups, a filter, a helper's
    result), or None when it is just `model.parameters()`."""
    params = script.optimizer_params(call, qualname)
    assert params is not None
    return pass_through(script, params, model)


def pass_through(script: Script, params: cst.BaseExpression, model: str) -> str | None:
    """`params` as the written function's `params=`, or None for `model.parameters()`."""
    code = script.code(params).strip()
    if re.fullmatch(rf"{re.escape(model)}\.parameters\(\)", code):
        return None
    return code


def default_rate(call: cst.Call) -> float | None:
    return DEFAULT_LR.get(last_name(call.func) or "")


def fit(head: str, call: str, tail: str, indent: str, unit: str, limit: int = LINE_LENGTH) -> str:
    """`head + call + tail` as one statement within `limit` columns, wrapped as Black would:
    the call's arguments on one continuation line, else one per line. Continuation lines are
    written relative to the statement: LibCST indents them with the block they go into."""
    text = f"{head}{call}{tail}"
    if len(indent) + len(text) <= limit:
        return text
    function, _, inner = call.partition("(")
    inner = inner[:-1]
    close = ")" + tail
    if len(indent) + len(unit) + len(inner) <= limit:
        return f"{head}{function}(\n{unit}{inner}\n{close}"
    args = [a.strip() for a in _split_arguments(inner)]
    lines = "".join(f"{unit}{a},\n" for a in args)
    return f"{head}{function}(\n{lines}{close}"


def _split_arguments(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    quote = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def line_length(path: Path) -> int:
    """The file's line length: `[tool.ruff]` or `[tool.black]` `line-length` in the nearest
    pyproject.toml, else 88."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    for directory in [path.resolve().parent, *path.resolve().parents]:
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            tool = tomllib.loads(candidate.read_text(encoding="utf-8")).get("tool", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return LINE_LENGTH
        for name in ("ruff", "black"):
            value = tool.get(name, {}).get("line-length")
            if isinstance(value, int) and value > 0:
                return value
        return LINE_LENGTH
    return LINE_LENGTH
