"""A small abstract interpreter for the training setup of a script.

It runs the script's statements over a model *skeleton* (the parameter names the model of depth
gives for the model's architecture) instead of real tensors: `model.bert.encoder.layer[:6]` is a
set of module paths, `.parameters()` a list of named parameters, a comprehension over
`named_parameters()` with `"bias" in n` filters those names. Loops over layers are unrolled,
local helper functions are entered, and whatever it cannot follow becomes UNKNOWN, which the
rules treat as "say nothing".

What it records are events: optimizers built (with their groups and what was frozen then),
writes to `param_groups[...]["lr"]`, schedulers, unfreezing, `add_param_group`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from lrlint.analysis import catalog
from lrlint.analysis.abstract_ops import (
    BUILTINS,
    MAX_ITERATIONS,
    Generator,
    GiveUp,
    as_list,
    binary,
    consume,
    defaults_of,
    dict_method,
    flag,
    param_attribute,
    params_of,
    rates,
    relative,
    string_method,
)
from lrlint.analysis.names import last_name
from lrlint.analysis.origins import Resolver
from lrlint.analysis.script import ClassInfo, Scope, Script
from lrlint.analysis.setup_events import (
    UNKNOWN,
    Events,
    Group,
    LrWrite,
    ModelConfig,
    Module,
    OptimizerBuilt,
    Param,
    SchedulerBuilt,
    Unfreeze,
)
from lrlint.analysis.skeleton import Skeleton, skeleton_for
from lrlint.analysis.values import number
from lrlint.analysis.walk import walk


class _Inconclusive(Exception):
    """This expression cannot be followed; its value is UNKNOWN (the run goes on)."""


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


_MAX_STEPS = 200_000
_MAX_CALL_DEPTH = 6
_LR_SCHEDULERS_WITH_SCALAR_RATES = {"OneCycleLR": ("max_lr",), "CyclicLR": ("base_lr", "max_lr")}


# Optimizers whose default weight decay is not 0 (torch's others default to 0; transformers'
# legacy AdamW to 0.0). Anything else is unknown rather than guessed.
def interpret(script: Script, resolver: Resolver) -> Events:
    """Run the script's entry code, then every function that builds an optimizer and was not
    reached from it (library helpers, Lightning's configure_optimizers)."""
    events = Events()
    machine = _Machine(script, resolver, events)
    machine.run_scope(script.module_scope, script.module.body, {})
    for site in script.calls:
        built = site.node in machine.built_nodes
        if built or not script.is_optimizer_call(site.node, site.qualname):
            continue
        scope = site.scope
        if scope.kind == "function" and isinstance(scope.node, cst.FunctionDef):
            env: dict[str, Any] = {}
            if scope.owner is not None:
                machine.run_init(scope.owner, env)
            machine.run_scope(scope, scope.node.body.body, env)
    events.frozen_at_end = frozenset(machine.frozen)
    return events


class _Machine:
    def __init__(self, script: Script, resolver: Resolver, events: Events) -> None:
        self.script = script
        self.resolver = resolver
        self.events = events
        self.steps = 0
        self.call_depth = 0
        self.frozen: set[Param] = set()
        self.built_nodes: set[cst.Call] = set()
        self.optimizers_by_id: dict[int, OptimizerBuilt] = {}
        self.skeletons: dict[int, Skeleton | None] = {}
        self.inits_done: set[str] = set()
        # id(dict) -> (the dict, the `{...}` that made it): where a parameter group is written
        self.dict_nodes: dict[int, tuple[dict[Any, Any], cst.Dict]] = {}

    # ---- entry points -------------------------------------------------------------------------
    def run_scope(self, scope: Scope, body: Iterable[cst.CSTNode], env: dict[str, Any]) -> None:
        try:
            self._block(body, _Frame(scope, env))
        except _Return:
            pass
        except (GiveUp, RecursionError):
            self.events.inconclusive = True

    def run_init(self, info: ClassInfo, env: dict[str, Any]) -> None:
        """Run a class's `__init__` once, for the freezing it does before an optimizer exists."""
        init = info.methods.get("__init__")
        if (
            init is None
            or info.name in self.inits_done
            or not isinstance(init.node, cst.FunctionDef)
        ):
            return
        self.inits_done.add(info.name)
        self.run_scope(init, init.node.body.body, dict(env))

    # ---- statements ---------------------------------------------------------------------------
    def _tick(self) -> None:
        self.steps += 1
        if self.steps > _MAX_STEPS:
            raise GiveUp

    def _block(self, body: Iterable[cst.CSTNode], frame: _Frame) -> None:
        for statement in body:
            self._statement(statement, frame)

    def _statement(self, node: cst.CSTNode, frame: _Frame) -> None:
        self._tick()
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self._small(small, frame)
        elif isinstance(node, cst.For):
            self._for(node, frame)
        elif isinstance(node, cst.If):
            self._if(node, frame)
        elif isinstance(node, cst.With):
            self._block(node.body.body, frame)
        elif isinstance(node, cst.Try):
            self._block(node.body.body, frame)
            if node.finalbody is not None:
                self._block(node.finalbody.body.body, frame)
        elif isinstance(node, cst.While):
            self._forget_assigned(node, frame)
        # defs, classes, match: nothing runs at this point

    def _small(self, node: cst.BaseSmallStatement, frame: _Frame) -> None:
        if isinstance(node, cst.Assign):
            value = self.eval(node.value, frame)
            for target in node.targets:
                self._assign(target.target, value, frame, node)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self._assign(node.target, self.eval(node.value, frame), frame, node)
        elif isinstance(node, cst.AugAssign):
            self._augassign(node, frame)
        elif isinstance(node, cst.Expr):
            self.eval(node.value, frame)
        elif isinstance(node, cst.Return):
            raise _Return(self.eval(node.value, frame) if node.value is not None else None)

    def _assign(
        self, target: cst.BaseExpression, value: Any, frame: _Frame, statement: cst.CSTNode
    ) -> None:
        if isinstance(target, cst.Name):
            frame.env[target.value] = value
            if isinstance(value, Module) and value.paths == ("",):
                self.events.model_names.setdefault(id(value.skeleton), target.value)
            elif isinstance(value, OptimizerBuilt):
                self.events.optimizer_names.setdefault(target.value, []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = list(value) if isinstance(value, (list, tuple)) else None
            for index, element in enumerate(target.elements):
                item = items[index] if items is not None and index < len(items) else UNKNOWN
                self._assign(element.value, item, frame, statement)
        elif isinstance(target, cst.Attribute):
            base = self.eval(target.value, frame)
            if target.attr.value == "requires_grad":
                self.events.seen.add(id(target))
                self._set_requires_grad(base, value, statement)
        elif isinstance(target, cst.Subscript):
            self._subscript_assign(target, value, frame, statement)

    def _subscript_assign(
        self, target: cst.Subscript, value: Any, frame: _Frame, statement: cst.CSTNode
    ) -> None:
        container = self.eval(target.value, frame)
        if len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
            return
        key = self.eval(target.slice[0].slice.value, frame)
        if isinstance(container, dict) and isinstance(key, str):
            owner = self._optimizer_of_group(container)
            container[key] = value
            if owner is not None and key == "lr":
                self.events.lr_writes.append(LrWrite(statement, owner, rates(owner)))
        elif (
            isinstance(container, list)
            and isinstance(key, int)
            and -len(container) <= key < len(container)
        ):
            container[key] = value

    def _augassign(self, node: cst.AugAssign, frame: _Frame) -> None:
        if isinstance(node.target, cst.Subscript):  # g["lr"] *= 0.5
            current = self.eval(node.target, frame)
            value = binary(node.operator, current, self.eval(node.value, frame))
            self._subscript_assign(node.target, value, frame, node)
            return
        if not isinstance(node.target, cst.Name):
            return
        current = frame.env.get(node.target.value, UNKNOWN)
        value = self.eval(node.value, frame)
        if isinstance(node.operator, cst.AddAssign) and isinstance(current, list):
            if isinstance(value, (list, tuple)):
                current.extend(value)
            else:
                frame.env[node.target.value] = UNKNOWN
            return
        frame.env[node.target.value] = binary(node.operator, current, value)

    def _for(self, node: cst.For, frame: _Frame) -> None:
        iterable = self.eval(node.iter, frame)
        self._note_spent(iterable, node.iter)
        items = consume(iterable)
        if items is None or len(items) > MAX_ITERATIONS:
            self._forget_assigned(node, frame)
            return
        for item in items:
            self._tick()
            self._assign(node.target, item, frame, node)
            self._block(node.body.body, frame)
        # break/continue/else are rare in setup code; a loop with them is still unrolled fully

    def _note_spent(self, iterable: Any, node: cst.BaseExpression) -> None:
        if isinstance(iterable, Generator) and iterable.spent and iterable:
            self.events.spent.append(node)

    def _if(self, node: cst.If, frame: _Frame) -> None:
        test = self.eval(node.test, frame)
        if test is UNKNOWN or isinstance(test, (Module, ModelConfig)):
            # Either branch may run: anything they assign is no longer known.
            self._forget_assigned(node, frame)
            return
        if test:
            self._block(node.body.body, frame)
        elif isinstance(node.orelse, cst.If):
            self._if(node.orelse, frame)
        elif isinstance(node.orelse, cst.Else):
            self._block(node.orelse.body.body, frame)

    def _forget_assigned(self, node: cst.CSTNode, frame: _Frame) -> None:
        """After code we did not run, names it assigns and lists it may grow are unknown."""
        forgetter = _AssignedNames()
        walk(node, forgetter)
        for name in forgetter.names:
            frame.env[name] = UNKNOWN
        if forgetter.touches_freezing:
            self.events.inconclusive = True

    # ---- requires_grad ------------------------------------------------------------------------
    def _set_requires_grad(self, target: Any, value: Any, node: cst.CSTNode) -> None:
        params = params_of(target)
        if params is None or value is UNKNOWN:
            self.events.inconclusive = True
            return
        if value:
            self._unfreeze(params, node)
        else:
            self.frozen |= params

    def _unfreeze(self, params: frozenset[Param], node: cst.CSTNode) -> None:
        newly = frozenset(p for p in params if p in self.frozen)
        self.frozen -= params
        if newly and self.events.optimizers:
            self.events.unfreezes.append(Unfreeze(node, newly, tuple(self.events.optimizers)))

    # ---- expressions --------------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression | None, frame: _Frame) -> Any:
        if node is None:
            return None
        self._tick()
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            return UNKNOWN
        return handler(self, node, frame)

    def _name(self, node: cst.Name, frame: _Frame) -> Any:
        if node.value in frame.env:
            return frame.env[node.value]
        builtin = _BUILTIN_CONSTANTS.get(node.value, UNKNOWN)
        if builtin is not UNKNOWN:
            return builtin
        return self._outer(node, frame)

    def _outer(self, node: cst.BaseExpression, frame: _Frame) -> Any:
        """A name bound outside what we ran: a model, or a constant."""
        model = self._model_or_unknown(node, frame)
        if model is not UNKNOWN:
            if isinstance(node, cst.Name):
                self.events.model_names.setdefault(id(model.skeleton), node.value)
            return model
        value = number(self.script, node, frame.scope, float("inf"))
        return value if value is not None else UNKNOWN

    def _skeleton(self, source: Any) -> Skeleton | None:
        if source is None:
            return None
        key = id(source)
        if key not in self.skeletons:
            self.skeletons[key] = skeleton_for(self.script, self.resolver, source)
        return self.skeletons[key]

    def _attribute(self, node: cst.Attribute, frame: _Frame) -> Any:
        base = self.eval(node.value, frame)
        attr = node.attr.value
        if isinstance(base, Module):
            return self._module_attribute(base, attr, node, frame)
        if isinstance(base, ModelConfig):
            blocks = base.skeleton.num_blocks
            if attr in {"num_hidden_layers", "n_layer", "num_layers", "num_hidden_layer"}:
                return blocks if blocks is not None else UNKNOWN
            return UNKNOWN
        if isinstance(base, Param):
            return param_attribute(base, attr, self.frozen)
        if isinstance(base, OptimizerBuilt) and attr == "param_groups":
            return [group.options for group in [*base.groups, *base.added]]
        if base is UNKNOWN:
            value = number(self.script, node, frame.scope, float("inf"))
            return value if value is not None else UNKNOWN
        return UNKNOWN

    def _module_attribute(self, base: Module, attr: str, node: cst.Attribute, frame: _Frame) -> Any:
        if attr in {"module", "_orig_mod"}:
            return base
        if attr == "config" and base.paths == ("",):
            return ModelConfig(base.skeleton)
        if len(base.paths) == 1:
            path = f"{base.paths[0]}.{attr}" if base.paths[0] else attr
            if base.skeleton.is_module(path):
                return Module(base.skeleton, (path,))
        # `self.lr` and the like on a custom module: a constant of the class, if plain
        value = number(self.script, node, frame.scope, float("inf"))
        return value if value is not None else UNKNOWN

    def _subscript(self, node: cst.Subscript, frame: _Frame) -> Any:
        base = self.eval(node.value, frame)
        if len(node.slice) != 1:
            return UNKNOWN
        element = node.slice[0].slice
        if isinstance(element, cst.Slice):
            lower = self.eval(element.lower, frame)
            upper = self.eval(element.upper, frame)
            step = self.eval(element.step, frame)
            if UNKNOWN in (lower, upper, step):
                return UNKNOWN
            key: Any = slice(lower, upper, step)
        else:
            key = self.eval(element.value, frame)
            if key is UNKNOWN:
                return UNKNOWN
        if isinstance(base, Module):
            blocks = as_list(base)
            if blocks is None:
                return UNKNOWN
            try:
                picked = blocks[key]
            except (IndexError, TypeError):
                return UNKNOWN
            if isinstance(picked, list):
                paths = tuple(path for module in picked for path in module.paths)
                return Module(base.skeleton, paths)
            return picked
        try:
            return base[key] if isinstance(base, (list, tuple, dict, str)) else UNKNOWN
        except (IndexError, KeyError, TypeError):
            return UNKNOWN

    def _call(self, node: cst.Call, frame: _Frame) -> Any:
        self.events.seen.add(id(node))
        func = node.func
        qualname = self.script.imports.qualify(func)
        if self.script.is_optimizer_call(node, qualname):
            return self._build_optimizer(node, qualname or "", frame)
        name = last_name(func)
        if isinstance(func, cst.Attribute):
            receiver = self.eval(func.value, frame)
            handled = self._method(receiver, func.attr.value, node, frame)
            if handled is not _NOT_HANDLED:
                return handled
        if name in _LR_SCHEDULERS_WITH_SCALAR_RATES and qualname and "lr_scheduler" in qualname:
            return self._build_scheduler(node, name, frame)
        if isinstance(func, cst.Name) and qualname is None:
            if func.value in BUILTINS and func.value not in frame.env:
                args, kwargs = self._arguments(node, frame)
                try:
                    return BUILTINS[func.value](self, args, kwargs)
                except (TypeError, ValueError, KeyError, IndexError, AttributeError):
                    return UNKNOWN  # Python would raise here too: nothing we can follow
            if func.value in self.script.classes:
                self._arguments(node, frame)
                return self._model_or_unknown(node, frame)
            local = self._local_function(func.value)
            if local is not None:
                return self._enter(local, node, frame)
        if qualname in {"itertools.chain", "itertools.chain.from_iterable"}:
            args, _ = self._arguments(node, frame)
            lists = [as_list(a) for a in args]
            if qualname.endswith("from_iterable") and len(lists) == 1 and lists[0] is not None:
                lists = [as_list(a) for a in lists[0]]
            return None if any(x is None for x in lists) else [i for x in lists for i in x]
        if name in catalog.MODEL_WRAPPER_CALLS:
            args, _ = self._arguments(node, frame)  # prepare(model, opt, dl) -> the same objects
            if args:
                return tuple(args) if len(args) > 1 else args[0]
            return UNKNOWN
        if name is not None and catalog.is_freezing_call(name):
            self.events.opaque_freeze = True  # freezes something we cannot see (PEFT, a helper)
        # Unknown calls still run their arguments (a freeze helper's argument may be a call).
        self._arguments(node, frame)
        return self._model_or_unknown(node, frame)

    def _model_or_unknown(self, node: cst.BaseExpression, frame: _Frame) -> Any:
        """A call that loads or builds a model whose structure we know gives that model."""
        resolution = self.resolver.resolve(node, frame.scope, float("inf"))
        skeleton = self._skeleton(resolution.source)
        return Module(skeleton, ("",)) if skeleton is not None else UNKNOWN

    def _arguments(self, node: cst.Call, frame: _Frame) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for arg in node.args:
            value = self.eval(arg.value, frame)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif arg.star == "*":
                items = as_list(value)
                if items is None:
                    args.append(UNKNOWN)
                else:
                    args.extend(items)
            elif arg.star == "**":
                if isinstance(value, dict):
                    kwargs.update({str(k): v for k, v in value.items()})
            else:
                args.append(value)
        return args, kwargs

    def _method(self, receiver: Any, method: str, node: cst.Call, frame: _Frame) -> Any:
        if isinstance(receiver, Module):
            return self._module_method(receiver, method, node, frame)
        if isinstance(receiver, OptimizerBuilt) and method == "add_param_group":
            args, _ = self._arguments(node, frame)
            group = self._group(args[0] if args else UNKNOWN, {}, node)
            if group is None:
                self.events.inconclusive = True
            else:
                receiver.added.append(group)
            return None
        if isinstance(receiver, Param) and method == "requires_grad_":
            args, kwargs = self._arguments(node, frame)
            self._set_requires_grad(receiver, flag(args, kwargs), node)
            return receiver
        if isinstance(receiver, Param) and method == "dim":
            return param_attribute(receiver, "ndim", self.frozen)
        if isinstance(receiver, list) and method in {"append", "extend", "insert"}:
            args, _ = self._arguments(node, frame)
            if method == "append" and len(args) == 1:
                receiver.append(args[0])
            elif method == "extend" and len(args) == 1 and as_list(args[0]) is not None:
                receiver.extend(as_list(args[0]) or [])
            elif method == "insert" and len(args) == 2 and isinstance(args[0], int):
                receiver.insert(args[0], args[1])
            else:
                receiver.append(UNKNOWN)
            return None
        if isinstance(receiver, str):
            args, _ = self._arguments(node, frame)
            return string_method(receiver, method, args)
        if isinstance(receiver, dict):
            args, _ = self._arguments(node, frame)
            try:
                return dict_method(receiver, method, args)
            except TypeError:  # an unhashable key
                return UNKNOWN
        return _NOT_HANDLED

    def _module_method(self, module: Module, method: str, node: cst.Call, frame: _Frame) -> Any:
        skeleton = module.skeleton
        if method == "parameters":
            return Generator(Param(skeleton, name) for name in skeleton.params_under(module.paths))
        if method == "named_parameters":
            return Generator(
                (relative(name, module.paths), Param(skeleton, name))
                for name in skeleton.params_under(module.paths)
            )
        if method == "requires_grad_":
            args, kwargs = self._arguments(node, frame)
            self._set_requires_grad(module, flag(args, kwargs), node)
            return module
        if method in catalog.MODEL_PASSTHROUGH_METHODS:
            self._arguments(node, frame)
            return module
        if method in {"freeze", "unfreeze"}:  # Lightning's LightningModule.freeze()/unfreeze()
            self._set_requires_grad(module, method == "unfreeze", node)
            return None
        return _NOT_HANDLED

    def _local_function(self, name: str) -> Scope | None:
        functions = [f for f in self.script.functions.get(name, ()) if f.owner is None]
        return functions[-1] if functions else None

    def _enter(self, function: Scope, node: cst.Call, frame: _Frame) -> Any:
        args, kwargs = self._arguments(node, frame)
        if self.call_depth >= _MAX_CALL_DEPTH or not isinstance(function.node, cst.FunctionDef):
            return UNKNOWN
        env: dict[str, Any] = {}
        defaults = defaults_of(function.node)
        for index, param in enumerate(function.params):
            if index < len(args):
                env[param] = args[index]
            elif param in kwargs:
                env[param] = kwargs[param]
            elif param in defaults:
                env[param] = self.eval(defaults[param], _Frame(function.parent or frame.scope, {}))
            else:
                env[param] = UNKNOWN
        self.call_depth += 1
        try:
            self._block(function.node.body.body, _Frame(function, env))
        except _Return as returned:
            return returned.value
        finally:
            self.call_depth -= 1
        return None

    # ---- optimizers and schedulers ------------------------------------------------------------
    def _build_optimizer(self, node: cst.Call, qualname: str, frame: _Frame) -> Any:
        args, kwargs = self._arguments(node, frame)
        if catalog.is_optimizer_factory(qualname):
            args = args[1:]  # the first names the optimizer; its rate is in the config
        params = kwargs.pop("params", args[0] if args else UNKNOWN)
        defaults = dict(kwargs)
        if "lr" not in defaults and len(args) > 1:
            defaults["lr"] = args[1]
        decay = catalog.default_weight_decay(qualname)
        defaults.setdefault("weight_decay", UNKNOWN if decay is None else decay)
        items = as_list(params)
        explicit = items is not None and bool(items) and all(isinstance(i, dict) for i in items)
        groups: list[Group] | None
        if explicit:
            groups = []
            for item in items or []:
                group = self._group(item, defaults, node)
                if group is None:
                    groups = None
                    break
                groups.append(group)
        else:
            group = self._group({"params": params}, defaults, node)
            groups = [group] if group is not None else None
        if groups is None:
            self.events.inconclusive = True
            return UNKNOWN
        built = OptimizerBuilt(node, qualname, groups, frozenset(self.frozen), explicit)
        if node not in self.built_nodes:
            self.built_nodes.add(node)
            self.events.optimizers.append(built)
        return built

    def _group(self, value: Any, defaults: dict[str, Any], node: cst.CSTNode) -> Group | None:
        if not isinstance(value, dict) or "params" not in value:
            return None
        params = params_of(value["params"])
        if params is None:
            return None
        options = {**defaults, **{k: v for k, v in value.items() if k != "params"}}
        options["params"] = params
        value.clear()
        value.update(options)  # the optimizer's own dict: param_groups writes land here
        made = self.dict_nodes.get(id(value))
        return Group(params, value, made[1] if made is not None and made[0] is value else node)

    def _build_scheduler(self, node: cst.Call, name: str, frame: _Frame) -> Any:
        args, kwargs = self._arguments(node, frame)
        optimizer = kwargs.get("optimizer", args[0] if args else UNKNOWN)
        if isinstance(optimizer, OptimizerBuilt):
            positional = _LR_SCHEDULERS_WITH_SCALAR_RATES[name]
            arguments = dict(kwargs)
            for index, key in enumerate(positional, start=1):
                if key not in arguments and index < len(args):
                    arguments[key] = args[index]
            self.events.schedulers.append(SchedulerBuilt(node, name, optimizer, arguments))
        return UNKNOWN

    def _optimizer_of_group(self, group: dict[str, Any]) -> OptimizerBuilt | None:
        for optimizer in self.events.optimizers:
            if any(g.options is group for g in [*optimizer.groups, *optimizer.added]):
                return optimizer
        return None

    # ---- comprehensions -----------------------------------------------------------------------
    def _comprehension(self, node: Any, frame: _Frame) -> Any:
        results: list[Any] = []

        def run(clause: cst.CompFor | None, env: dict[str, Any]) -> None:
            if clause is None:
                inner = _Frame(frame.scope, env)
                if isinstance(node, cst.DictComp):
                    results.append((self.eval(node.key, inner), self.eval(node.value, inner)))
                else:
                    results.append(self.eval(node.elt, inner))
                return
            iterable = self.eval(clause.iter, _Frame(frame.scope, env))
            self._note_spent(iterable, clause.iter)
            items = consume(iterable)
            if items is None or len(items) > MAX_ITERATIONS:
                raise _Inconclusive
            for item in items:
                self._tick()
                local = dict(env)
                self._assign(clause.target, item, _Frame(frame.scope, local), clause)
                tests = [self.eval(c.test, _Frame(frame.scope, local)) for c in clause.ifs]
                if any(t is UNKNOWN for t in tests):
                    raise _Inconclusive
                if all(tests):
                    run(clause.inner_for_in, local)

        try:
            run(node.for_in, dict(frame.env))
        except _Inconclusive:
            return UNKNOWN
        if isinstance(node, cst.DictComp):
            return dict(results)
        if isinstance(node, cst.SetComp):
            try:
                return set(results)
            except TypeError:
                return UNKNOWN
        return results

    def _lambda(self, node: cst.Lambda, frame: _Frame) -> Any:
        names = [p.name.value for p in node.params.params]

        def call(*args: Any) -> Any:
            env = dict(frame.env)
            env.update(zip(names, args, strict=False))
            return self.eval(node.body, _Frame(frame.scope, env))

        return call


@dataclass
class _Frame:
    scope: Scope
    env: dict[str, Any]


_NOT_HANDLED = object()
_BUILTIN_CONSTANTS: dict[str, Any] = {
    "True": True,
    "False": False,
    "None": None,
    "__name__": "__main__",  # the script runs as a script
}


class _AssignedNames(cst.CSTVisitor):
    """Names that code may rebind or mutate: assignment and loop targets, receivers of
    `append`/`extend`/..., bases of subscript assignments."""

    _MUTATORS = frozenset({"append", "extend", "insert", "update", "pop", "clear", "add"})

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.touches_freezing = False

    def _targets(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._targets(element.value)
        elif isinstance(node, (cst.Subscript, cst.Attribute)):
            base = node.value
            while isinstance(base, (cst.Subscript, cst.Attribute)):
                base = base.value
            if isinstance(base, cst.Name):
                self.names.add(base.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._targets(target.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)  # type: ignore[arg-type]

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in self._MUTATORS:
            self._targets(func.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in {"requires_grad", "requires_grad_", "add_param_group"}:
            self.touches_freezing = True


# ---- expression handlers ------------------------------------------------------------------------
def _literal_number(machine: _Machine, node: Any, frame: _Frame) -> Any:
    return node.evaluated_value


def _string(machine: _Machine, node: Any, frame: _Frame) -> Any:
    value = node.evaluated_value
    return value if isinstance(value, str) else UNKNOWN


def _concatenated(machine: _Machine, node: cst.ConcatenatedString, frame: _Frame) -> Any:
    left = machine.eval(node.left, frame)
    right = machine.eval(node.right, frame)
    return left + right if isinstance(left, str) and isinstance(right, str) else UNKNOWN


def _fstring(machine: _Machine, node: cst.FormattedString, frame: _Frame) -> Any:
    parts = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            parts.append(part.value)
            continue
        if part.format_spec is not None or part.conversion is not None:
            return UNKNOWN
        value = machine.eval(part.expression, frame)
        if value is UNKNOWN or not isinstance(value, (str, int, float)):
            return UNKNOWN
        parts.append(str(value))
    return "".join(parts)


def _sequence(machine: _Machine, node: Any, frame: _Frame) -> Any:
    items: list[Any] = []
    for element in node.elements:
        value = machine.eval(element.value, frame)
        if isinstance(element, cst.StarredElement):
            expanded = as_list(value)
            if expanded is None:
                return UNKNOWN
            items.extend(expanded)
        else:
            items.append(value)
    if isinstance(node, cst.Tuple):
        return tuple(items)
    if isinstance(node, cst.Set):
        try:
            return set(items)
        except TypeError:
            return UNKNOWN
    return items


def _dict(machine: _Machine, node: cst.Dict, frame: _Frame) -> Any:
    result: dict[Any, Any] = {}
    for element in node.elements:
        if isinstance(element, cst.StarredDictElement):
            value = machine.eval(element.value, frame)
            if not isinstance(value, dict):
                return UNKNOWN
            result.update(value)
            continue
        key = machine.eval(element.key, frame)
        if key is UNKNOWN:
            return UNKNOWN
        result[key] = machine.eval(element.value, frame)
    machine.dict_nodes[id(result)] = (result, node)
    return result


def _unary(machine: _Machine, node: cst.UnaryOperation, frame: _Frame) -> Any:
    value = machine.eval(node.expression, frame)
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(node.operator, cst.Not):
        return not value
    if isinstance(node.operator, cst.Minus) and isinstance(value, (int, float)):
        return -value
    if isinstance(node.operator, cst.Plus) and isinstance(value, (int, float)):
        return value
    return UNKNOWN


def _binary_operation(machine: _Machine, node: cst.BinaryOperation, frame: _Frame) -> Any:
    return binary(node.operator, machine.eval(node.left, frame), machine.eval(node.right, frame))


def _boolean(machine: _Machine, node: cst.BooleanOperation, frame: _Frame) -> Any:
    left = machine.eval(node.left, frame)
    if left is UNKNOWN:
        return UNKNOWN
    if isinstance(node.operator, cst.And):
        return machine.eval(node.right, frame) if left else left
    return left if left else machine.eval(node.right, frame)


def _comparison(machine: _Machine, node: cst.Comparison, frame: _Frame) -> Any:
    left = machine.eval(node.left, frame)
    for target in node.comparisons:
        right = machine.eval(target.comparator, frame)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        outcome = _compare(target.operator, left, right)
        if outcome is UNKNOWN or not outcome:
            return outcome
        left = right
    return True


def _compare(operator: Any, left: Any, right: Any) -> Any:
    try:
        if isinstance(operator, cst.In):
            return left in right if isinstance(right, (str, list, tuple, set, dict)) else UNKNOWN
        if isinstance(operator, cst.NotIn):
            if isinstance(right, (str, list, tuple, set, dict)):
                return left not in right
            return UNKNOWN
        if isinstance(operator, cst.Equal):
            return left == right
        if isinstance(operator, cst.NotEqual):
            return left != right
        if isinstance(operator, cst.Is):
            return left is right
        if isinstance(operator, cst.IsNot):
            return left is not right
        if isinstance(operator, cst.LessThan):
            return left < right
        if isinstance(operator, cst.LessThanEqual):
            return left <= right
        if isinstance(operator, cst.GreaterThan):
            return left > right
        if isinstance(operator, cst.GreaterThanEqual):
            return left >= right
    except TypeError:
        return UNKNOWN
    return UNKNOWN


def _if_expression(machine: _Machine, node: cst.IfExp, frame: _Frame) -> Any:
    test = machine.eval(node.test, frame)
    if test is UNKNOWN:
        return UNKNOWN
    return machine.eval(node.body if test else node.orelse, frame)


_EXPRESSIONS: dict[type, Callable[[_Machine, Any, _Frame], Any]] = {
    cst.Integer: _literal_number,
    cst.Float: _literal_number,
    cst.SimpleString: _string,
    cst.ConcatenatedString: _concatenated,
    cst.FormattedString: _fstring,
    cst.Name: lambda m, n, f: m._name(n, f),
    cst.Attribute: lambda m, n, f: m._attribute(n, f),
    cst.Subscript: lambda m, n, f: m._subscript(n, f),
    cst.Call: lambda m, n, f: m._call(n, f),
    cst.List: _sequence,
    cst.Tuple: _sequence,
    cst.Set: _sequence,
    cst.Dict: _dict,
    cst.ListComp: lambda m, n, f: m._comprehension(n, f),
    cst.GeneratorExp: lambda m, n, f: m._comprehension(n, f),
    cst.SetComp: lambda m, n, f: m._comprehension(n, f),
    cst.DictComp: lambda m, n, f: m._comprehension(n, f),
    cst.Lambda: lambda m, n, f: m._lambda(n, f),
    cst.UnaryOperation: _unary,
    cst.BinaryOperation: _binary_operation,
    cst.BooleanOperation: _boolean,
    cst.Comparison: _comparison,
    cst.IfExp: _if_expression,
}

__all__ = ["interpret"]
