"""Where gradual unfreezing is called: the training loop that runs after the optimizer.

An epoch loop (`for epoch in ...`, or a loop over something that names the epochs) calls the
unfreezing with its epoch. A script that counts steps instead (`for iter_num, batch in
enumerate(loader): if iter_num >= max_iters: break`, `while step < max_steps`, `for step in
range(max_steps)`) calls it with the share of the run done, as a pseudo-epoch: `6 * step //
max_steps` runs 0..5, so with two "epochs" a stage the upper blocks thaw after a third of the
steps and the rest after two thirds. The loop is looked for in the function that builds the
optimizer, then in the function of this file that the optimizer is passed to (`train(model,
optimizer)`, lit-llama's layout), then where a helper that builds it is called.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import libcst as cst

from lrlint.analysis.names import keyword_arg, last_name, positional_arg
from lrlint.analysis.script import Scope, Script
from lrlint.fix.rewrite import leaves_loop

# the share of the steps as a pseudo-epoch: 0..5, two of them a stage of three
STEP_STAGES = 6

Loop = cst.For | cst.While


@dataclass(frozen=True)
class TrainingLoop:
    loop: Loop
    scope: Scope  # the function the loop is in
    model: str  # the model's expression where the loop runs
    # what to pass as the epoch; None: the loop counts no epochs, enumerate() must count them
    epoch: str | None
    steps: bool = False  # a step loop: `epoch` is the pseudo-epoch of the steps done
    optimizer: str | None = None  # the optimizer's name where the loop runs, when known


# where to look: a scope, the line after which its loop runs, the model's and the optimizer's
# expressions there
Place = tuple[Scope, int, str, "str | None"]


def training_loop(script: Script, scope: Scope, call: cst.Call, model: str) -> TrainingLoop | None:
    """The loop that trains the optimizer that `call` (in `scope`) builds on `model`."""
    optimizer = optimizer_name(script, scope, call)
    line = script.position(call)[0]
    places: list[Place] = [(scope, line, model, optimizer)]
    owner = scope.owner
    if owner is not None and model.split(".")[0] == "self":
        # built in one method (`configure_optimizer`), trained in another
        places += [(s, 0, model, None) for s in owner.methods.values() if s is not scope]
    if owner is None and isinstance(scope.node, cst.FunctionDef):
        places += _callers(script, scope.node, model)
    if optimizer is not None:
        places += _callees(script, scope, line, model, optimizer)
    return _first_loop(script, places)


def loop_after(
    script: Script, scope: Scope, line: int, model: str, optimizer: str
) -> TrainingLoop | None:
    """The loop that trains `model` with `optimizer` after `line` of `scope` (a caller of the
    helper that built them), or in a function of the file they are passed to."""
    places: list[Place] = [(scope, line, model, optimizer)]
    return _first_loop(script, places + _callees(script, scope, line, model, optimizer))


def _first_loop(script: Script, places: list[Place]) -> TrainingLoop | None:
    for finder in (_epoch_loop, _step_loop):
        for where, after, expression, name in places:
            found = finder(script, where, after, expression, name)
            if found is not None:
                return dataclasses.replace(found, optimizer=name)
    return None


# Wrappers that read which parameters train when they wrap the model: DDP's reducer syncs only
# those that required grad then (Lightning #20340: thawed layers drift apart on each process),
# DeepSpeed's and FSDP's optimizers hold only those. A project's own `smart_DDP`,
# `distributed_opt` are matched by name.
_DISTRIBUTED = re.compile(r"DDP|DistributedDataParallel|FullyShardedDataParallel|distributed", re.I)
_DISTRIBUTING_METHODS = frozenset(
    {"prepare", "prepare_model", "initialize", "setup", "setup_module"}
)
# these hand the optimizer flat shards of the parameters: holding a group out of a step is not
# known to work there
# (Horovod's DistributedOptimizer also syncs every gradient in its step: a dropped one fails)
_SHARDING = frozenset(
    {"initialize", "FullyShardedDataParallel", "FSDP", "fully_shard", "DistributedOptimizer"}
)
# accelerate's plugins that make `prepare` shard (or hand to DeepSpeed / Megatron)
_SHARDING_PLUGINS = re.compile(
    r"\b(?:FullyShardedDataParallelPlugin|DeepSpeedPlugin|MegatronLMPlugin|ParallelismConfig)\b"
)


def shards(script: Script, wrapper: str) -> bool:
    """Whether `wrapper` (a callee's text) shards the parameters in this script."""
    return wrapper.rpartition(".")[2] in _SHARDING or bool(_SHARDING_PLUGINS.search(script.text))


def distributed_wrapper(
    script: Script, scope: Scope, call: cst.Call, found: TrainingLoop
) -> str | None:
    """The callee of a call that hands the model or the optimizer `call` builds to a
    distributed wrapper, in the optimizer's function or its training loop's."""
    root = found.model.split(".")[0]
    names = {found.model if root == "self" else root, script.code(call).strip()}
    optimizer = optimizer_name(script, scope, call)
    if optimizer is not None:
        names.add(optimizer)
    for site in script.calls:
        wrap = site.node
        if site.scope is not scope and site.scope is not found.scope:
            continue
        func = wrap.func
        name = last_name(func) or ""
        method = isinstance(func, cst.Attribute) and name in _DISTRIBUTING_METHODS
        if method and script.code(func.value).strip().endswith("amp"):  # type: ignore[union-attr]
            continue  # apex's amp.initialize casts, it does not distribute
        if not (method or _DISTRIBUTED.search(name)):
            continue
        given = {script.code(arg.value).strip().split(".")[0] for arg in wrap.args}
        given |= {script.code(arg.value).strip() for arg in wrap.args}
        if given & names:
            return script.code(func).strip()
    return None


def optimizer_name(script: Script, scope: Scope, call: cst.Call) -> str | None:
    """The variable the optimizer is assigned to (`optimizer = AdamW(...)`, also through a
    wrapper: `optimizer = fabric.setup_optimizers(AdamW(...))`)."""
    text = script.code(call).strip()
    for name, bindings in scope.bindings.items():
        for binding in bindings:
            value = binding.value
            if value is call or (value is not None and text in script.code(value)):
                return name
    return None


def _callers(script: Script, function: cst.FunctionDef, model: str) -> list[Place]:
    """A helper that builds the optimizer (`get_optimizer(model)`) is trained where it is
    called: after that call, with the caller's expression for the model."""
    root, _, rest = model.partition(".")
    names = [p.name.value for p in function.params.params]
    if root not in names:
        return []
    index = names.index(root)
    found = []
    for site in script.calls:
        call = site.node
        if not (isinstance(call.func, cst.Name) and call.func.value == function.name.value):
            continue
        given = keyword_arg(call, root) or positional_arg(call, index)
        if given is not None:
            expression = script.code(given).strip()
            model_there = f"{expression}.{rest}" if rest else expression
            found.append((site.scope, script.position(call)[0], model_there, None))
    return found


def _callees(script: Script, scope: Scope, line: int, model: str, optimizer: str) -> list[Place]:
    """A function of this file called after `line` with the optimizer and the model
    (`train(fabric, model, optimizer, ...)`): its loop trains them, under its names."""
    found: list[Place] = []
    for site in script.calls:
        call = site.node
        if site.scope is not scope or not isinstance(call.func, cst.Name):
            continue
        callees = script.functions.get(call.func.value, [])
        top = [f for f in callees if f.parent is script.module_scope]
        if len(top) != 1 or not isinstance(top[0].node, cst.FunctionDef):
            continue
        if script.position(call)[0] <= line:
            continue
        given = _parameters_given(script, call, top[0].node)
        if given.get(optimizer) is not None and given.get(model) is not None:
            found.append((top[0], 0, given[model], given[optimizer]))
    return found


def _parameters_given(script: Script, call: cst.Call, function: cst.FunctionDef) -> dict[str, str]:
    """Caller's expression -> the callee's parameter it is passed as (plain names only)."""
    params = [p.name.value for p in function.params.params]
    given = {}
    for index, name in enumerate(params):
        value = keyword_arg(call, name) or positional_arg(call, index)
        if value is not None:
            given[script.code(value).strip()] = name
    return given


def _loops(script: Script, scope: Scope, line: int) -> list[Loop]:
    """The loops of `scope` (not of functions inside it) that run after `line` (an optimizer
    built inside the loop is trained by it too), outermost first."""
    body = scope.node.body.body if isinstance(scope.node, cst.FunctionDef) else script.module.body
    collector = _LoopCollector()
    for statement in body:
        statement.visit(collector)
    return [loop for loop in collector.loops if script.lines(loop)[1] > line]


class _LoopCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.loops: list[Loop] = []

    def visit_For(self, node: cst.For) -> bool:
        self.loops.append(node)
        return True

    def visit_While(self, node: cst.While) -> bool:
        self.loops.append(node)
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a loop in another function is not this scope's

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _epoch_loop(
    script: Script, scope: Scope, line: int, model: str, optimizer: str | None
) -> TrainingLoop | None:
    for loop in _loops(script, scope, line):
        if not isinstance(loop, cst.For):
            continue
        if isinstance(loop.target, cst.Name) and "epoch" in loop.target.value:
            return TrainingLoop(loop, scope, model, loop.target.value)
        if not isinstance(loop.target, (cst.Name, cst.Tuple)):
            continue
        source = script.code(loop.iter)
        if isinstance(loop.iter, cst.Name):
            binding = scope.reaching(loop.iter.value, float("inf"))
            if binding is not None and binding.value is not None:
                source = script.code(binding.value)
        if "epoch" in source.lower():
            return TrainingLoop(loop, scope, model, None)
    # `for i in range(40): logs = train_epoch.run(loader)`: each turn of the innermost loop
    # that runs an epoch is one (not a loop over folds around it)
    running = [
        loop
        for loop in _loops(script, scope, line)
        if isinstance(loop, cst.For) and _RUNS_AN_EPOCH.search(script.code(loop.body))
    ]
    spans = {loop: script.lines(loop) for loop in running}
    for loop in running:
        (first, last), inner = spans[loop], running[running.index(loop) + 1 :]
        if any(first <= spans[o][0] and spans[o][1] <= last for o in inner):
            continue
        assert isinstance(loop, cst.For)
        counts = isinstance(loop.target, cst.Name) and _callee_of(loop.iter) == "range"
        epoch = loop.target.value if counts else None  # type: ignore[union-attr]
        return TrainingLoop(loop, scope, model, epoch)
    return None


# a call that runs one epoch: `train_one_epoch(...)`, `train_epoch.run(loader)`
_RUNS_AN_EPOCH = re.compile(r"\b(?:\w+_)?epoch(?:_\w+)?(?:\.\w+)?\(", re.I)


def _callee_of(node: cst.BaseExpression) -> str | None:
    return _callee(node) if isinstance(node, cst.Call) else None


def _step_loop(
    script: Script, scope: Scope, line: int, model: str, optimizer: str | None
) -> TrainingLoop | None:
    """A loop that steps the optimizer and counts its steps up to a bound it names."""
    # `optimizer.step()`, `amp.step(model, optimizer)`, `forward(model, batch, optimizer)`
    # (a function that steps it), or a DeepSpeed engine's `model.step()`
    name = re.escape(optimizer) if optimizer is not None else r"optim\w*"
    engine = re.escape(model.split(".")[0])
    stepping = re.compile(rf"\b{name}\.step\(|\b\w+\([^()]*\b{name}\b|\b{engine}\.step\(\)")
    for loop in _loops(script, scope, line):
        if not stepping.search(script.code(loop.body)):
            continue
        counted = _counter_and_bound(loop, script)
        if counted is None:
            return None  # the outermost stepping loop counts nothing we can read
        counter, bound = counted
        if not _finite(script, scope, bound):
            return None
        return TrainingLoop(loop, scope, model, f"{STEP_STAGES} * {counter} // {bound}", steps=True)
    return None


def _counter_and_bound(loop: Loop, script: Script) -> tuple[str, str] | None:
    code = script.code
    if isinstance(loop, cst.While):
        test = loop.test
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            test = test.left
        if (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, (cst.LessThan, cst.LessThanEqual))
        ):
            return code(test.left).strip(), code(test.comparisons[0].comparator).strip()
        return None
    iterable, target = loop.iter, loop.target
    if isinstance(iterable, cst.Call) and _callee(iterable) in {"tqdm", "trange", "range"}:
        bound = _range_bound(iterable)
        if bound is not None and isinstance(target, cst.Name):
            return target.value, code(bound).strip()
    if isinstance(iterable, cst.Call) and _callee(iterable) in {"zip", "enumerate"}:
        elements = target.elements if isinstance(target, cst.Tuple) else []
        if _callee(iterable) == "zip":
            for element, arg in zip(elements, iterable.args, strict=False):
                bound = _range_bound(arg.value) if isinstance(arg.value, cst.Call) else None
                if bound is not None and isinstance(element.value, cst.Name):
                    return element.value.value, code(bound).strip()
        elif elements and isinstance(elements[0].value, cst.Name):
            counter = elements[0].value.value
            bound = _guard_bound(loop, counter)
            if bound is not None:
                return counter, code(bound).strip()
    return None


def _callee(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def _range_bound(call: cst.Call) -> cst.BaseExpression | None:
    """N of `range(N)`, `range(a, N)`, `trange(N)`, `tqdm(range(N))`."""
    name = _callee(call)
    if name == "tqdm" and call.args and isinstance(call.args[0].value, cst.Call):
        return _range_bound(call.args[0].value)
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    if name in {"range", "trange"} and 1 <= len(positional) <= 2:
        return positional[-1]
    return None


def _guard_bound(loop: cst.For, counter: str) -> cst.BaseExpression | None:
    """N of a leading `if counter >= N: break` (the loop stops itself after N steps)."""
    body = loop.body.body if isinstance(loop.body, cst.IndentedBlock) else []
    for statement in body[:2]:
        if not (isinstance(statement, cst.If) and leaves_loop(statement)):
            continue
        test = statement.test
        if (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.left, cst.Name)
            and test.left.value == counter
            and isinstance(test.comparisons[0].operator, (cst.GreaterThanEqual, cst.GreaterThan))
        ):
            return test.comparisons[0].comparator
    return None


def _finite(script: Script, scope: Scope, bound: str) -> bool:
    """A bound that may be infinite (`max_steps = args.max_steps or float("inf")`) would keep
    the lower layers frozen for the whole run."""
    if "inf" in bound.lower():
        return False
    if re.fullmatch(r"\w+", bound):
        binding = scope.reaching(bound, float("inf"))
        binding = binding or script.module_scope.reaching(bound, float("inf"))
        if binding is not None and binding.value is not None:
            return "inf" not in script.code(binding.value).lower()
    return True
