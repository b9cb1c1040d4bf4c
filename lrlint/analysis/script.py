"""One LibCST walk over a script, keeping what the rules ask about.

The walk records scopes and their assignments (in document order, so a use can find the binding
that reaches it), classes and what their methods assign to `self`, every call, and the file-wide
facts the rules share: freezing, evaluation, training loops, data sizes, argparse defaults.
Nothing here decides a finding; `origins`, `params` and the rules do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from lrlint.analysis import catalog, defaults
from lrlint.analysis.names import ImportTable, dotted, keyword_arg, last_name, positional_arg
from lrlint.analysis.walk import walk

if TYPE_CHECKING:
    from lrlint.project.modules import Project, Symbol


@dataclass
class Binding:
    value: cst.BaseExpression | None  # None: bound by something we do not evaluate
    seq: int
    unpack: int | None = None  # position in a tuple target: `a, b = f()`
    # the `if` statements around it, innermost last, each with whether it is in their `else`
    branches: tuple[tuple[int, bool], ...] = ()


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "class" or "function"
    name: str
    parent: Scope | None
    node: cst.CSTNode | None = None
    params: list[str] = field(default_factory=list)
    owner: ClassInfo | None = None  # the class a method belongs to
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    returns: list[cst.BaseExpression] = field(default_factory=list)
    script: Script | None = field(default=None, repr=False)  # the module it is in

    def bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def reaching(self, name: str, seq: float) -> Binding | None:
        """The last binding of `name` in this scope before `seq`, in document order (control
        flow is not followed: the latest assignment written above is taken to reach)."""
        bindings = [b for b in self.bindings.get(name, ()) if b.seq < seq]
        return bindings[-1] if bindings else None

    def alternatives(self, name: str, binding: Binding, seq: float) -> list[Binding]:
        """The bindings of `name` in the other branches of the `if` statements that `binding`
        is in (`if args.model_name_or_path: m = load(...)` beside `else: m = build(...)`): the
        ones that reach `seq` when the script takes another branch."""
        found = []
        for depth, (statement, in_else) in enumerate(binding.branches):
            prefix = binding.branches[:depth]
            other = [
                b
                for b in self.bindings.get(name, ())
                if b.seq < seq
                and b.branches[:depth] == prefix
                and len(b.branches) > depth
                and b.branches[depth] == (statement, not in_else)
            ]
            if other:
                found.append(other[-1])
        return found


@dataclass(eq=False)
class ClassInfo:
    name: str
    bases: list[str]  # qualified names, or the local name of a class in this file
    scope: Scope
    methods: dict[str, Scope] = field(default_factory=dict)
    # attribute -> (value, method scope, seq) for every `self.attr = value`
    self_attrs: dict[str, list[tuple[cst.BaseExpression, Scope, int]]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class CallSite:
    node: cst.Call
    scope: Scope
    seq: int
    qualname: str | None  # the callee's qualified name when it is imported


@dataclass(frozen=True)
class DataSize:
    count: int
    node: cst.CSTNode
    literal: bool = False  # a list written out in the code (often a demo, not the data)


# The names of helpers that load weights into a model passed to them.
_LOADER_NAME = re.compile(
    r"^(?:load_(?:checkpoint|weights|pretrained|state_dict|ckpt)\w*|\w*init_model|"
    r"\w*load_\w*(?:checkpoint|weights|pretrained|ckpt|model_state_dict)|load_model_weights)$"
)

# Calls that read a dataset from outside the code: beside them, a literal list of a few
# sentences is a demo of inference, not the training data.
_EXTERNAL_DATA_CALLS = frozenset(
    {"load_dataset", "load_from_disk", "read_csv", "read_json", "read_parquet", "read_table",
     "read_excel", "open", "glob", "listdir", "walk", "ImageFolder", "load_files", "urlretrieve",
     "extractall", "from_csv", "from_json", "loadtxt", "load"}
)  # fmt: skip


# Names that say "this holds training examples" (for literal lists and slices).
_DATA_NAME = re.compile(
    r"train|example|sample|text|sentence|data|corpus|review|doc|pair|rows|subset|few|shot|^ds$|^df$",
    re.IGNORECASE,
)
_SPLIT_SLICE = re.compile(r"^train\w*\[\s*:?\s*(\d+)\s*\]$")  # only the training split
# A call is an evaluation when a word of its name says so (`evaluate`, `model.eval`,
# `run_validation`, `compute_val_loss`), unless another word says it checks something else
# (`ast.literal_eval`, `validate_config`).
_EVAL_WORDS = frozenset(
    {"eval", "evaluate", "evaluation", "evaluator", "valid", "validate", "validation", "val"}
)
_NOT_EVAL_WORDS = frozenset(
    {"literal", "config", "args", "arguments", "input", "inputs", "schema", "json", "yaml",
     "path", "params", "email", "url", "file", "type", "types"}
)  # fmt: skip


def _is_evaluation_call(name: str) -> bool:
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)}
    return bool(words & _EVAL_WORDS) and not words & _NOT_EVAL_WORDS


_EVAL_KWARGS = frozenset(
    {
        "eval_dataset",
        "eval_dataloader",
        "val_dataloaders",
        "valid_dataloader",
        "validation_data",
        "eval_strategy",
        "evaluation_strategy",
    }
)
_EVAL_METHODS = frozenset({"validation_step", "val_dataloader", "on_validation_epoch_end"})
_LOOP_TYPES = (cst.For, cst.While)


class Script:
    """The facts of one parsed file."""

    def __init__(
        self,
        module: cst.Module,
        text: str,
        path: Path | None = None,
        project: Project | None = None,
    ) -> None:
        self.module = module
        self.text = text
        self.path = path  # the real path, when the text is a file's (project resolution)
        self.project = project
        self.imports = ImportTable()
        self.module_scope = Scope("module", "<module>", None, module, script=self)
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, list[Scope]] = {}  # by name; methods included
        self.calls: list[CallSite] = []
        # id(freeze or call) -> the ifs around it
        self.guards: dict[int, list[cst.If]] = {}
        self.freeze_scopes: dict[int, Scope] = {}  # id(freeze) -> the scope it is in
        self.freeze_loops: dict[int, list[cst.CSTNode]] = {}  # id(freeze) -> loops around it
        self.added_loops: dict[int, list[cst.CSTNode]] = {}  # id(add_param_group call) -> same
        self.freeze_seqs: dict[int, int] = {}  # id(freeze) -> its place in document order
        self.if_seqs: dict[int, int] = {}  # id(if statement) -> the place of its test
        self.augmented_names: set[tuple[int, str]] = set()  # (id(scope), name) of `name += ...`
        self.evaluating: set[tuple[int, str]] = set()  # names `defaults` is evaluating
        self.freezes: list[cst.CSTNode] = []
        self.has_evaluation = False
        self.training_loops: list[cst.CSTNode] = []  # outermost loops (per scope) that backprop
        # `for g in opt.param_groups:` loops, for LR007 (collected here: a second walk of the
        # tree would cost as much as this whole pass)
        self.param_group_loops: list[cst.For] = []
        self.data_sizes: list[DataSize] = []
        self.reads_external_data = False  # a call of _EXTERNAL_DATA_CALLS
        self.argparse_defaults: dict[str, cst.BaseExpression] = {}
        self.state_dict_loads: list[tuple[str, Scope, int]] = []  # (receiver, scope, seq)
        self.grown_names: set[tuple[int, str]] = set()  # (id(scope), name) appended to later
        # (line, kind) of the uniform sites in a function, by id(function): see analysis.handoff
        self.helper_sites: dict[int, list[tuple[int, str]]] = {}

    @classmethod
    def parse(cls, text: str, path: Path | None = None, project: Project | None = None) -> Script:
        """Raises libcst.ParserSyntaxError when the text is not valid Python. With a `project`,
        names imported from the project's own modules resolve into them."""
        module = cst.parse_module(text)
        script = cls(module, text, path, project)
        walk(module, _Collector(script))
        script.freezes = [f for f in script.freezes if not script.dead(f)]
        script._loads_through_helpers()
        if project is not None:
            project.adopt(script)
        return script

    def _loads_through_helpers(self) -> None:
        """A function of this module that loads weights into a parameter (the recursive
        `load(module)` calling `module._load_from_state_dict(...)` of pytorch-pretrained-bert's
        era) loads them into what each of its calls passes there."""
        for scope in self.function_scopes:
            loaded = {
                receiver
                for receiver, where, _ in self.state_dict_loads
                if where is scope and receiver in scope.params
            }
            for name in loaded:
                index = scope.params.index(name)
                for site in self.calls:
                    if last_name(site.node.func) != scope.name or site.scope is scope:
                        continue
                    arg = keyword_arg(site.node, name) or positional_arg(site.node, index)
                    if isinstance(arg, cst.Name):
                        self.state_dict_loads.append((arg.value, site.scope, site.seq))

    def passed_for(
        self, function: Scope, name: str, reach: bool = True
    ) -> list[tuple[cst.BaseExpression, CallSite]]:
        """What the calls of a function of this module pass for its parameter `name`, with the
        call: the calls in this module (an `__init__`'s by its class name) and, with `reach`,
        those of the scripts beside it (`Project.callers`)."""
        index = function.params.index(name)
        if function.owner is not None and function.params and function.params[0] in {"self", "cls"}:
            index -= 1
        owner = function.owner
        called = owner.name if function.name == "__init__" and owner else None
        sites = [s for s in self.calls if last_name(s.node.func) in {function.name, called}]
        if reach and self.project is not None:
            # the scripts beside a helper's module that call it (`__init__` by its class name)
            target = owner.scope if called and owner else function
            if target.parent is self.module_scope:
                sites += [site for _, site in self.project.callers(target)]
        found = []
        for site in sites:
            arg = keyword_arg(site.node, name)
            if arg is None and index >= 0:
                arg = positional_arg(site.node, index)
            if arg is not None:
                found.append((arg, site))
        return found

    def growth(self, name: str, scope: Scope) -> list[CallSite]:
        """The `name.append(...)`, `.extend(...)` and `.insert(...)` calls of a scope."""
        return self._growth.get((id(scope), name), [])

    @cached_property
    def _growth(self) -> dict[tuple[int, str], list[CallSite]]:
        # by (id(scope), name), found in one pass: asked for every guard `defaults` reads
        found: dict[tuple[int, str], list[CallSite]] = {}
        for site in self.calls:
            func = site.node.func
            if isinstance(func, cst.Attribute) and func.attr.value in {
                "append",
                "extend",
                "insert",
            }:
                name = dotted(func.value)
                if name is not None:
                    found.setdefault((id(site.scope), name), []).append(site)
        return found

    def off_by_default(self, test: cst.BaseExpression) -> bool:
        """Whether `test` is false as the script runs by default (see `_off_by_default`)."""
        return _off_by_default(self, test)

    def dead(self, node: cst.CSTNode) -> bool:
        """A freeze or a call in the body of an `if` that is false when the script runs as it
        comes (`freeze_encoder = False` at the top of the script, then `if freeze_encoder:
        model.freeze_encoder()`; `if args.use_lora:` with `--use_lora` off by default; `if any(x
        in k for x in freeze):` over a list empty by default), or a freeze in a function of
        this module that is only called so."""
        scope = self.freeze_scopes.get(id(node))
        site = self.call_site(node) if isinstance(node, cst.Call) else None
        where = site.scope if site is not None else scope or self.module_scope
        seq = site.seq if site is not None else self.freeze_seqs.get(id(node), float("inf"))
        for guard in self.guards.get(id(node), ()):
            # the test as it reads when it runs, not after its body rebinds a name
            at = min(seq, self.if_seqs.get(id(guard), seq) + 0.5)
            off = _off_by_default(self, guard.test) or defaults.never_true(
                self, guard.test, where, at
            )
            if off and _contains(guard.body, node):
                return True
        if scope is None or scope.kind != "function" or scope.parent is not self.module_scope:
            return False
        calls = [site for site in self.calls if last_name(site.node.func) == scope.name]
        return bool(calls) and all(self.dead(site.node) for site in calls)

    def flag_defaults(self, receiver: str, name: str) -> list[cst.BaseExpression]:
        """The defaults of the option or setting `receiver.name`: the class attribute of the
        class `receiver` is built from (`cfg = TrainConfig()`, here or in another module of
        the project), else its argparse default and its value in the class bodies of this
        module (argument dataclasses, config classes). Empty: nothing says."""
        built = [info for info in self._built_from(receiver) if _class_binds(info, name)]
        if built:
            return [value for info in built for value in _class_defaults(info, name)]
        found = [self.argparse_defaults[name]] if name in self.argparse_defaults else []
        for info in self.classes.values():
            found += _class_defaults(info, name)
        return found

    def _built_from(self, receiver: str) -> list[ClassInfo]:
        """The classes of the project that a name is bound to instances of, in any scope."""
        found = []
        for scope in self.function_scopes:
            function = scope.node
            if receiver in scope.params and isinstance(function, cst.FunctionDef):
                # `def main(args: DPOConfig)`: the annotation names the class
                for param in (*function.params.params, *function.params.kwonly_params):
                    annotation = param.annotation.annotation if param.annotation else None
                    name = dotted(annotation) if annotation is not None else None
                    info = self.class_named(name) if param.name.value == receiver and name else None
                    if info is not None:
                        found.append(info)
            for binding in scope.bindings.get(receiver, ()):
                value = binding.value
                if binding.unpack is not None:
                    elements = value.elements if isinstance(value, cst.Tuple) else ()
                    inside = binding.unpack < len(elements)
                    value = elements[binding.unpack].value if inside else None
                if isinstance(value, cst.Call) and not value.args:
                    name = dotted(value.func)
                    info = self.class_named(name) if name is not None else None
                    if info is not None:
                        found.append(info)
        return found

    @cached_property
    def optimizer_classes(self) -> frozenset[str]:
        """Classes of this file built (directly or through each other) on torch's `Optimizer`:
        a project's own `BERTAdam(Optimizer)` is an optimizer like `torch.optim.AdamW`."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, info in self.classes.items():
                if name not in found and any(
                    base in found or catalog.is_optimizer_base(base) for base in info.bases
                ):
                    found.add(name)
                    changed = True
        return frozenset(found)

    def is_optimizer_call(self, call: cst.Call, qualname: str | None) -> bool:
        func = call.func
        if isinstance(func, cst.Name) and (
            func.value in self.optimizer_classes or func.value in self.optimizer_aliases
        ):
            return True
        if catalog.is_optimizer_factory(qualname):
            # `instantiate` builds anything a config names: only an optimizer's config counts
            config = keyword_arg(call, "config") or positional_arg(call, 0)
            return (
                config is not None
                and "optim" in self.code(config).lower()
                and self.optimizer_params(call, qualname) is not None
            )
        if (  # `getattr(torch.optim, args.optimizer)(model.parameters(), lr=...)`
            isinstance(func, cst.Call)
            and last_name(func.func) == "getattr"
            and func.args
            and self.imports.qualify(func.args[0].value) in catalog.OPTIMIZER_MODULES
        ):
            return True
        return catalog.is_optimizer(qualname)

    def optimizer_params(self, call: cst.Call, qualname: str | None) -> cst.BaseExpression | None:
        """The parameters an optimizer call is given: its `params`, else its first positional
        argument (a factory's second: its first names the optimizer)."""
        index = 1 if catalog.is_optimizer_factory(qualname) else 0
        return keyword_arg(call, "params") or positional_arg(call, index)

    def optimizer_lr(self, call: cst.Call, qualname: str | None) -> cst.BaseExpression | None:
        """The `lr` an optimizer call is given (a factory's is in the config it names)."""
        if catalog.is_optimizer_factory(qualname):
            return keyword_arg(call, "lr")
        return keyword_arg(call, "lr") or positional_arg(call, 1)

    @property
    def function_scopes(self) -> list[Scope]:
        """The module's scope and every function's (methods included): where names are bound."""
        return [self.module_scope, *(f for fs in self.functions.values() for f in fs)]

    @cached_property
    def optimizer_aliases(self) -> frozenset[str]:
        """Names every assignment of which, in every scope, is an optimizer class:
        `optimizer_cls = torch.optim.AdamW`, `Adam = DeepSpeedCPUAdam if offload else FusedAdam`
        (the class is then called through the name)."""
        found: set[str] = set()
        for scope in self.function_scopes:
            for name, bindings in scope.bindings.items():
                if bindings and all(
                    b.value is not None and b.unpack is None and self._optimizer_class(b.value)
                    for b in bindings
                ):
                    found.add(name)
        return frozenset(found)

    def _optimizer_class(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.IfExp):
            return self._optimizer_class(expr.body) and self._optimizer_class(expr.orelse)
        if isinstance(expr, cst.Name) and expr.value in self.optimizer_classes:
            return True
        return isinstance(expr, (cst.Name, cst.Attribute)) and catalog.is_optimizer(
            self.imports.qualify(expr)
        )

    # ---- names of other modules ---------------------------------------------------------------
    def symbol(self, qualname: str | None) -> Symbol | None:
        """What a qualified name (`models.Net`, `.utils.build`) is in the project, if it is the
        project's."""
        if qualname is None or self.project is None:
            return None
        return self.project.symbol(self, qualname)

    def imported(self, name: str) -> Symbol | None:
        """What a name this module imports (or star-imports) is in the project."""
        if self.project is None:
            return None
        qualname = self.imports.qualify_name(name)
        if qualname is not None:
            return self.project.symbol(self, qualname)
        for module in self.imports.star_modules:
            found = self.project.symbol(
                self, f"{module}.{name}" if module.strip(".") else module + name
            )
            if found is not None:
                return found
        return None

    def class_named(self, name: str) -> ClassInfo | None:
        """A class by its local or qualified name: defined here, or in a module of the project."""
        info = self.classes.get(name)
        if info is not None:
            return info
        found = self.symbol(name) if "." in name else self.imported(name)
        return found.info if found is not None and found.kind == "class" else None

    def bases_of(self, info: ClassInfo) -> list[ClassInfo]:
        """The classes of the project that `info` derives from directly."""
        script = info.scope.script or self
        found = []
        for base in info.bases:
            base_info = script.class_named(base)
            if base_info is not None and base_info is not info:
                found.append(base_info)
        return found

    @cached_property
    def _positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        # Computed only when a rule reports: most files have no findings and never pay for it.
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return wrapper.resolve(PositionProvider)

    def position(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based line and column of a node's start."""
        start = self._positions[node].start
        return start.line, start.column + 1

    def end(self, node: cst.CSTNode) -> tuple[int, int]:
        """1-based line and column just after a node's end."""
        end = self._positions[node].end
        return end.line, end.column + 1

    def lines(self, node: cst.CSTNode) -> tuple[int, int]:
        """The first and last line of a node."""
        where = self._positions[node]
        return where.start.line, where.end.line

    @cached_property
    def _call_sites(self) -> dict[cst.Call, CallSite]:
        return {site.node: site for site in self.calls}

    def call_site(self, node: cst.Call) -> CallSite | None:
        """Where a call of this file stands (its scope and order)."""
        return self._call_sites.get(node)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


def _is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _name_test(node: cst.BaseExpression) -> bool:
    """A truth value read off a parameter's name, false for some of them:
    `"lora_" in name`, `n.startswith("head")`, `not any(k in n for k in keep)`."""
    if isinstance(node, cst.Comparison):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        return True
    if isinstance(node, cst.BooleanOperation):
        return _name_test(node.left) or _name_test(node.right)
    return isinstance(node, cst.Call) and last_name(node.func) in ("startswith", "endswith", "any")


def _int_literal(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    return None


def _literal(node: cst.BaseExpression) -> bool:
    """A constant example: a string, a number, or a tuple/list/dict of those."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _literal(node.expression)
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(_literal(element.value) for element in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(element, cst.DictElement) and _literal(element.value)
            for element in node.elements
        )
    return False


def _slice_size(node: cst.BaseExpression, constant: Any = None) -> int | None:
    """`rows[:80]` -> 80, `rows[10:90]` -> 80; anything else None."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if not isinstance(index, cst.Slice) or index.step is not None:
        return None
    value = constant or _int_literal
    upper = value(index.upper)
    lower = 0 if index.lower is None else value(index.lower)
    if upper is None or lower is None or upper <= lower:
        return None
    return upper - lower


_HELD_OUT = re.compile(
    r"(^|_)(test|tests|eval|evaluation|val|valid|validation|dev|holdout|print|show|debug|"
    r"preview|demo|example_?batch)(_|$)",
    re.IGNORECASE,
)


def _held_out(name: str) -> bool:
    return "train" not in name.lower() and _HELD_OUT.search(name) is not None


def _selected(value: cst.BaseExpression) -> int | None:
    """`ds.shuffle(seed=0).select(range(64))` -> 64 (Hugging Face datasets)."""
    node = value
    while isinstance(node, cst.Call):
        if last_name(node.func) == "select" and len(node.args) == 1:
            inner = node.args[0].value
            if (
                isinstance(inner, cst.Call)
                and last_name(inner.func) == "range"
                and len(inner.args) == 1
            ):
                return _int_literal(inner.args[0].value)
        node = node.func.value if isinstance(node.func, cst.Attribute) else None  # type: ignore[assignment]
    return None


def _off_by_default(script: Script, test: cst.BaseExpression, depth: int = 0) -> bool:
    """A test that is false as the script runs by default: `False`; a module constant bound
    once to False; a flag (`args.use_lora`, `training_args.use_lora`) whose every default the
    project shows (argparse, the class attributes of argument dataclasses and config
    classes) is False, None, 0 or empty; `a or b` of two such, `a and b` with one."""
    if depth > 8:
        return False
    if isinstance(test, cst.BooleanOperation):
        left = _off_by_default(script, test.left, depth + 1)
        right = _off_by_default(script, test.right, depth + 1)
        return left and right if isinstance(test.operator, cst.Or) else left or right
    if isinstance(test, cst.Name):
        if test.value == "False":
            return True
        bindings = script.module_scope.bindings.get(test.value, [])
        return (
            len(bindings) == 1
            and isinstance(bindings[0].value, cst.Name)
            and bindings[0].value.value == "False"
        )
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        # `args.lora_dim > 0` with `--lora_dim` 0 by default
        compare = _COMPARE.get(type(test.comparisons[0].operator))
        bound = _constant(test.comparisons[0].comparator)
        defaults = _flag_defaults(script, test.left)
        return (
            compare is not None
            and bound is not _UNKNOWN
            and bool(defaults)
            and all(_holds(compare, _constant(d), bound) is False for d in defaults)
        )
    defaults = _flag_defaults(script, test)
    return bool(defaults) and all(_falsy(default) for default in defaults)


def _flag_defaults(script: Script, flag: cst.BaseExpression) -> list[cst.BaseExpression]:
    receiver = dotted(flag.value) if isinstance(flag, cst.Attribute) else None
    if not isinstance(flag, cst.Attribute) or receiver in (None, "self"):
        return []
    return script.flag_defaults(receiver or "", flag.attr.value)


_UNKNOWN = object()
_COMPARE = {
    **defaults.COMPARE,
    cst.Is: lambda a, b: a is b,
    cst.IsNot: lambda a, b: a is not b,
}


def _constant(node: cst.BaseExpression) -> object:
    """A number, None or a boolean written as a literal; `_UNKNOWN` otherwise."""
    if isinstance(node, cst.Call) and last_name(node.func) == "field":
        node = keyword_arg(node, "default") or cst.Name("Unknown")
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.evaluated_value
    if isinstance(node, cst.Name) and node.value in {"None", "True", "False"}:
        return {"None": None, "True": True, "False": False}[node.value]
    return _UNKNOWN


def _holds(compare: Callable[[Any, Any], bool], value: object, bound: object) -> bool | None:
    if value is _UNKNOWN:
        return None
    try:
        return bool(compare(value, bound))
    except TypeError:  # `None > 0`
        return None


def _class_binds(info: ClassInfo, name: str, depth: int = 0) -> bool:
    if name in info.scope.bindings:
        return True
    script = info.scope.script
    return (
        depth < 8
        and script is not None
        and any(_class_binds(base, name, depth + 1) for base in script.bases_of(info))
    )


def _class_defaults(info: ClassInfo, name: str, depth: int = 0) -> list[cst.BaseExpression]:
    """A class's value for an attribute in its body (or its bases')."""
    bindings = info.scope.bindings.get(name)
    if bindings:
        return [b.value if b.value is not None else cst.Name("Unknown") for b in bindings]
    script = info.scope.script
    if depth >= 8 or script is None:
        return []
    return [v for base in script.bases_of(info) for v in _class_defaults(base, name, depth + 1)]


def _falsy(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Call) and last_name(value.func) == "field":
        value = keyword_arg(value, "default") or cst.Name("Unknown")
    if isinstance(value, cst.Name):
        return value.value in {"False", "None"}
    if isinstance(value, cst.Integer):
        return value.evaluated_value == 0
    if isinstance(value, cst.SimpleString):
        return value.evaluated_value in ("", b"")
    return False


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    todo = [tree]
    while todo:
        current = todo.pop()
        if current is node:
            return True
        todo.extend(current.children)
    return False


class _Collector(cst.CSTVisitor):
    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script
        self.scope = script.module_scope
        self.class_stack: list[ClassInfo] = []
        self.loop_stack: list[list[cst.CSTNode]] = [[]]  # per scope, the loops we are inside
        self.ifs: list[cst.If] = []  # the `if` statements we are inside
        self.branches: list[tuple[int, bool]] = []  # and whether we are in their `else`
        self.seq = 0

    def visit_If(self, node: cst.If) -> bool:
        # walked here, to know which of its branches a binding is in
        self.script.if_seqs[id(node)] = self.seq
        self.ifs.append(node)
        self.branches.append((id(node), False))
        walk(node.test, self)
        walk(node.body, self)
        self.branches[-1] = (id(node), True)
        if node.orelse is not None:
            walk(node.orelse, self)
        self.ifs.pop()
        self.branches.pop()
        return False

    def _freeze(self, node: cst.CSTNode) -> None:
        if self.ifs:
            self.script.guards[id(node)] = list(self.ifs)
        self.script.freezes.append(node)
        self.script.freeze_scopes[id(node)] = self.scope
        self.script.freeze_seqs[id(node)] = self.seq
        self.script.freeze_loops[id(node)] = list(self.loop_stack[-1])

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # ---- imports -----------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        self.script.imports.add_import(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.script.imports.add_import_from(node)

    # ---- scopes ------------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = []
        for arg in node.bases:
            name = self.script.imports.qualify(arg.value) or dotted(arg.value)
            if name is not None:
                bases.append(name)
        scope = Scope("class", node.name.value, self.scope, node, script=self.script)
        info = ClassInfo(node.name.value, bases, scope)
        self.script.classes[node.name.value] = info
        self.scope.bind(node.name.value, Binding(None, self._next()))
        self.class_stack.append(info)
        self.scope = scope
        self.loop_stack.append([])

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()
        self._pop_scope()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        owner = self.class_stack[-1] if self.scope.kind == "class" else None
        params = [param.name.value for param in node.params.posonly_params]
        params += [param.name.value for param in node.params.params]
        params += [param.name.value for param in node.params.kwonly_params]
        scope = Scope(
            "function",
            node.name.value,
            self.scope,
            node,
            params=params,
            owner=owner,
            script=self.script,
        )
        if owner is not None:
            owner.methods[node.name.value] = scope
        self.script.functions.setdefault(node.name.value, []).append(scope)
        self.scope.bind(node.name.value, Binding(None, self._next()))
        if node.name.value in _EVAL_METHODS:
            self.script.has_evaluation = True
        self.scope = scope
        self.loop_stack.append([])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._pop_scope()

    def _pop_scope(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent
        self.loop_stack.pop()

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.scope.returns.append(node.value)

    # ---- loops -------------------------------------------------------------------------------
    def visit_For(self, node: cst.For) -> None:
        self.loop_stack[-1].append(node)
        if isinstance(node.iter, cst.Attribute) and node.iter.attr.value == "param_groups":
            self.script.param_group_loops.append(node)
        for name in _target_names(node.target):
            self.scope.bind(name, Binding(None, self._next()))

    def leave_For(self, original_node: cst.For) -> None:
        self.loop_stack[-1].pop()

    def visit_While(self, node: cst.While) -> None:
        self.loop_stack[-1].append(node)

    def leave_While(self, original_node: cst.While) -> None:
        self.loop_stack[-1].pop()

    # ---- assignments -------------------------------------------------------------------------
    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._assign(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._assign(original_node.target, original_node.value)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        if isinstance(original_node.target, cst.Name):
            self.script.grown_names.add((id(self.scope), original_node.target.value))
            self.script.augmented_names.add((id(self.scope), original_node.target.value))

    def _assign(self, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression) -> None:
        seq = self._next()
        if isinstance(target, cst.Name):
            self.scope.bind(target.value, Binding(value, seq, branches=tuple(self.branches)))
            self._note_data_size(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for index, element in enumerate(target.elements):
                if isinstance(element.value, cst.Name):
                    binding = Binding(value, seq, index, tuple(self.branches))
                    self.scope.bind(element.value.value, binding)
                elif isinstance(element.value, cst.Attribute) and not isinstance(
                    element, cst.StarredElement
                ):
                    # `self.model, self.tokenizer = load(...)`: the attribute is `load(...)[0]`
                    item = cst.Subscript(
                        value, [cst.SubscriptElement(cst.Index(cst.Integer(str(index))))]
                    )
                    self._assign(element.value, item)
        elif isinstance(target, cst.Attribute):
            if target.attr.value == "requires_grad" and (_is_false(value) or _name_test(value)):
                self._freeze(target)
            owner = self.scope.owner
            if owner is not None and dotted(target.value) == "self":
                owner.self_attrs.setdefault(target.attr.value, []).append((value, self.scope, seq))

    def _note_data_size(self, name: str, value: cst.BaseExpression) -> None:
        """A size the script makes plain for its training data: `train_rows = rows[:80]`,
        a literal list of examples, `df.head(40)`, `ds.select(range(64))`. Held-out, test
        and display subsets (`eval_ds`, `test_texts`, `print_samples`) say nothing about it."""
        if not _DATA_NAME.search(name) or _held_out(name):
            return
        size = _slice_size(value, self._constant)
        if (
            size is None
            and isinstance(value, cst.List)
            and len(value.elements) >= 2
            and all(_literal(element.value) for element in value.elements)
        ):
            self.script.data_sizes.append(DataSize(len(value.elements), value, literal=True))
            return
        if (
            size is None
            and isinstance(value, cst.Call)
            and last_name(value.func) == "head"
            and len(value.args) == 1
        ):
            size = _int_literal(value.args[0].value)
        if size is None:
            size = _selected(value)
        if size is not None:
            self.script.data_sizes.append(DataSize(size, value))

    def _constant(self, node: cst.BaseExpression | None) -> int | None:
        """An integer literal, or a module-level constant bound to one (`N_TRAIN = 50`)."""
        if isinstance(node, cst.Name):
            binding = self.script.module_scope.reaching(node.value, float("inf"))
            node = binding.value if binding else None
        return _int_literal(node)

    # ---- calls -------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        script = self.script
        qualname = script.imports.qualify(node.func)
        script.calls.append(CallSite(node, self.scope, self._next(), qualname))
        if self.ifs:
            script.guards[id(node)] = list(self.ifs)
        name = last_name(node.func)
        if name is None:
            return
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None

        if name == "backward" and self.loop_stack[-1]:
            outermost = self.loop_stack[-1][0]  # the epoch loop, not the batch loop inside it
            if outermost not in script.training_loops:
                script.training_loops.append(outermost)
        if self._freezes(name, node):
            self._freeze(node)
        if self._evaluates(name, node):
            script.has_evaluation = True
        if name in {"load_state_dict", "_load_from_state_dict"} and receiver is not None:
            receiver_name = dotted(receiver)
            if receiver_name is not None:
                script.state_dict_loads.append((receiver_name, self.scope, self.seq))
        elif name is not None and _LOADER_NAME.search(name):
            # a helper that loads a checkpoint into the model it is given:
            # `torch_init_model(model, args.init_checkpoint)`, `load_checkpoint(fabric, model, p)`
            for arg in node.args:
                if isinstance(arg.value, cst.Name) and arg.keyword is None:
                    script.state_dict_loads.append((arg.value.value, self.scope, self.seq))
        if name == "add_param_group":
            script.added_loops[id(node)] = list(self.loop_stack[-1])
        if name in {"append", "extend", "insert"} and isinstance(receiver, cst.Name):
            script.grown_names.add((id(self.scope), receiver.value))
        if name == "add_argument":
            self._note_argparse(node)
        self._note_call_data_size(name, node)
        if name in _EXTERNAL_DATA_CALLS:
            self.script.reads_external_data = True

    @staticmethod
    def _freezes(name: str, node: cst.Call) -> bool:
        if name == "requires_grad_":
            return any(
                _is_false(arg.value)
                for arg in node.args
                if arg.keyword is None or arg.keyword.value == "requires_grad"
            )
        return catalog.is_freezing_call(name)

    @staticmethod
    def _evaluates(name: str, node: cst.Call) -> bool:
        if name in {"no_grad", "inference_mode"} or _is_evaluation_call(name):
            return True
        if name == "set_grad_enabled" and node.args and _is_false(node.args[0].value):
            return True
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in _EVAL_KWARGS:
                value = arg.value
                if not (isinstance(value, cst.SimpleString) and value.evaluated_value == "no"):
                    return True
        return False

    def _note_argparse(self, node: cst.Call) -> None:
        # argparse's dest: the first long option, else the first short one (`-weight_decay`)
        options = [
            str(arg.value.evaluated_value)
            for arg in node.args
            if arg.keyword is None
            and isinstance(arg.value, cst.SimpleString)
            and str(arg.value.evaluated_value).startswith("-")
        ]
        option = next((o for o in options if o.startswith("--")), options[0] if options else None)
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        action = keywords.get("action")
        if (
            "default" not in keywords
            and isinstance(action, cst.SimpleString)
            and action.evaluated_value == "store_true"
        ):
            keywords["default"] = cst.Name("False")
        if "default" not in keywords:
            return
        dest_node = keywords.get("dest")
        if isinstance(dest_node, cst.SimpleString):
            dest = str(dest_node.evaluated_value)
        elif isinstance(option, str):
            dest = option.lstrip("-").replace("-", "_")
        else:
            return
        self.script.argparse_defaults[dest] = keywords["default"]

    def _note_call_data_size(self, name: str, node: cst.Call) -> None:
        for arg in node.args:
            if (
                arg.keyword is not None
                and arg.keyword.value == "split"
                and isinstance(arg.value, cst.SimpleString)
            ):
                match = _SPLIT_SLICE.match(str(arg.value.evaluated_value))
                if match:
                    self.script.data_sizes.append(DataSize(int(match.group(1)), arg.value))

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if last_name(node.decorator) in {"no_grad", "inference_mode"}:
            self.script.has_evaluation = True


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    return []
