"""`lrlint fix`: rewrite every construction LR001 reports into discriminative, freezing or
gradually unfreezing code, one site at a time, verifying each result before keeping it.

A fix is kept only when the new text parses, LR001 no longer fires there, and no other rule
(LR002-LR005, LR007, LR008) finds more than before; otherwise the site is left as it was and
reported with the reason. Nothing is guessed: an unknown model structure, an unknown rate or a
module whose parameters cannot be seen is a refusal.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path

import libcst as cst

from lrlint.analysis import buckets, catalog
from lrlint.analysis.names import keyword_arg, last_name, positional_arg
from lrlint.analysis.script import Scope, Script
from lrlint.analysis.skeleton import Skeleton, skeleton_for
from lrlint.analysis.training import TrainingSetup
from lrlint.analysis.uniform import (
    TRAINING_ARGUMENTS_DEFAULT_LR,
    UniformSite,
    per_parameter_source,
    uniform_sites,
)
from lrlint.fix import anymodel, callers, codegen, loops
from lrlint.fix.parts import ModelParts, PartsError, model_parts
from lrlint.fix.rewrite import Edits, apply

STRATEGIES = ("discriminative", "freeze", "gradual", "auto")
# What a fix must leave no worse (../shared/RULES.md; LR006 and LR009 are opinions, not breaks).
VERIFIED = frozenset({"LR001", "LR002", "LR003", "LR004", "LR005", "LR007", "LR008"})
_SMALL, _LARGE = 100, 1000  # the seed's data-size table


@dataclass(frozen=True)
class FixOptions:
    strategy: str = "discriminative"
    decay: float | None = None  # per-layer geometric decay instead of the four tiers
    layers: int | None = None  # blocks to freeze (freeze strategy)
    num_examples: int | None = None  # for `auto`
    line_length: int = 88  # what the written statements fit (the file's ruff/black setting)
    # the file's path: its project's other modules are read, as `lrlint check` reads them
    path: str | None = None


@dataclass(frozen=True)
class Refusal:
    line: int
    reason: str


@dataclass
class FixResult:
    text: str
    fixed: list[int] = field(default_factory=list)  # lines (in the original) that were fixed
    refused: list[Refusal] = field(default_factory=list)
    strategy: str = "discriminative"
    unparsable: str | None = None  # why the file could not be read as Python
    # other modules of the project the fix also rewrites (real path -> the text it read, the
    # new text): the callers of a helper, whose loops get its gradual unfreezing
    others: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


class _Refuse(Exception):
    pass


def fix_source(text: str, options: FixOptions) -> FixResult:
    """Fix every LR001 site of a file's text; the text is returned unchanged when nothing can be
    fixed safely."""
    from lrlint.prefilter import worth_parsing

    module_text = None
    if options.path is not None:
        from lrlint.project.modules import Project

        module_text = partial(Project().module_text, Path(os.path.realpath(options.path)))
    if not worth_parsing(text, module_text):
        return FixResult(text)
    try:
        script = _parse(text, options)
    except cst.ParserSyntaxError as exc:
        return FixResult(text, unparsable=str(exc).splitlines()[0])
    strategy = _choose(options, script)
    label = f"{strategy}, decay {options.decay}" if options.decay is not None else strategy
    result = FixResult(text, strategy=label)
    refused_keys: set[tuple[str, int]] = set()
    while True:
        script = _parse(result.text, options)
        setup = TrainingSetup(script)
        pending = [
            (key, uniform)
            for key, uniform in _keyed(script, uniform_sites(setup))
            if key not in refused_keys
        ]
        if not pending:
            return result
        key, uniform = pending[0]
        original_line = _original_line(text, script, uniform)
        others = dict(result.others)  # kept only if the site is fixed
        try:
            fixed_text = _fix_any(
                result.text, script, setup, uniform, options, strategy, key, others
            )
        except _Refuse as refusal:
            refused_keys.add(key)
            result.refused.append(Refusal(original_line, str(refusal)))
            continue
        result.text, result.others = fixed_text, others
        result.fixed.append(original_line)


def _parse(text: str, options: FixOptions) -> Script:
    """The text parsed as `lrlint check` reads it: with its project when the path is known (a
    fresh read each time: the text changes between fixes)."""
    if options.path is None:
        return Script.parse(text)
    from lrlint.project.modules import Project

    return Script.parse(text, path=Path(os.path.realpath(options.path)), project=Project())


def _choose(options: FixOptions, script: Script) -> str:
    if options.strategy != "auto":
        return options.strategy
    size = options.num_examples
    if size is None and script.data_sizes:
        size = max(data.count for data in script.data_sizes)
    if size is None:
        return "discriminative"  # the seed's recommendation when the size is not known
    if size < _SMALL:
        return "freeze"
    return "discriminative" if size <= _LARGE else "gradual"


def _keyed(script: Script, sites: list[UniformSite]) -> list[tuple[tuple[str, int], UniformSite]]:
    """A key per site that survives other sites being rewritten: its code and occurrence."""
    seen: Counter[str] = Counter()
    keyed = []
    for uniform in sites:
        code = script.code(uniform.site.node)
        keyed.append(((code, seen[code]), uniform))
        seen[code] += 1
    return keyed


def _original_line(original: str, script: Script, uniform: UniformSite) -> int:
    """The site's line in the text the user gave (earlier fixes may have shifted it)."""
    line = script.position(uniform.site.node)[0]
    code_line = script.text.splitlines()[line - 1].strip()
    for number, candidate in enumerate(original.splitlines(), start=1):
        if candidate.strip() == code_line:
            return number
    return line


def _fix_any(
    text: str,
    script: Script,
    setup: TrainingSetup,
    uniform: UniformSite,
    options: FixOptions,
    strategy: str,
    key: tuple[str, int],
    others: dict[str, tuple[str, str]],
) -> str:
    """Today's groups where the file fixes the architecture; elsewhere (or where those cannot be
    written) the function that finds depth at run time."""
    if uniform.model is None:
        raise _Refuse("cannot see which model the Trainer trains (model_init?): fix it by hand")
    # one optimizer per parameter takes the run-time table, whatever fixes the architecture
    static = _per_parameter(script, uniform) is None and not _adds_groups(script, uniform)
    if static and anymodel.fixed_by_file(script, setup, uniform):
        try:
            fixed_text = _fix_site(text, script, setup, uniform, options, strategy)
            _verify(text, fixed_text, key, options)
            return fixed_text
        except _Refuse:
            pass  # the written function serves this model too
    fixed_text = _runtime_site(script, uniform, options, strategy, others)
    _verify(text, fixed_text, key, options)
    return fixed_text


def _adds_groups(script: Script, uniform: UniformSite) -> bool:
    """The optimizer takes one of several lists and the others are added to it later: only the
    run-time function cuts each of them."""
    if uniform.kind != "optimizer":
        return False
    params = script.optimizer_params(uniform.site.node, uniform.site.qualname)
    scope = uniform.site.scope
    return params is not None and bool(buckets.added_groups(script, params, scope, cut=True))


def _blank_lines_after_function(text: str, name: str) -> str:
    """Two blank lines after the written function, as PEP 8 and the formatters want."""
    last = anymodel.source(name).rstrip("\n").rsplit("\n", 1)[-1].strip()
    newline = "\r\n" if "\r\n" in text else "\n"
    return re.sub(
        rf"(\n[ \t]*{re.escape(last)}\r?\n)(?:\r?\n)*(?=[^\r\n])",
        lambda m: m.group(1) + 2 * newline,
        text,
        count=1,
    )


def _runtime_site(
    script: Script,
    uniform: UniformSite,
    options: FixOptions,
    strategy: str,
    others: dict[str, tuple[str, str]] | None = None,
) -> str:
    model_text = _unwrapped(script, uniform, script.code(uniform.model).strip())
    call = uniform.site.node
    try:
        rate = _rate(script, uniform)
    except _Refuse:
        default = anymodel.default_rate(call) if uniform.kind == "optimizer" else None
        if default is None:
            raise
        rate = _rate_in_keywords(script, call, default)
    edits = Edits()
    name, missing = anymodel.function_name(script, _bound_names(script))
    fix = anymodel.RuntimeFix(
        name, model_text, rate.expression, strategy, options.decay, options.layers
    )
    if strategy == "gradual":
        fix = _held_if_distributed(script, uniform, fix)
    if uniform.kind == "trainer":
        _runtime_trainer(edits, script, uniform, fix, options.line_length)
    elif _per_parameter(script, uniform) is not None:
        _runtime_per_parameter(edits, script, uniform, fix, options.line_length)
    else:
        params = anymodel.optimizer_params(script, call, uniform.site.qualname, model_text)
        groups = fix.call(params)
        line = script.text.splitlines()[script.position(call)[0] - 1]
        argument = _params_argument(edits, script, uniform)
        # too long in the call: build the groups first
        if _width_with(script, argument, groups) > options.line_length:
            variable = codegen.Names(_bound_names(script)).fresh("param_groups")
            indent = line[: len(line) - len(line.lstrip())]
            unit = anymodel.indent_unit(script.text)
            edits.before[call] = [
                anymodel.fit(f"{variable} = ", groups, "", indent, unit, options.line_length)
            ]
            groups = variable
        edits.params[call] = (groups, False)
        _cut_added_groups(edits, script, uniform, fix, options.line_length)
        if strategy == "gradual":
            _runtime_gradual(edits, script, uniform, fix, others)
    if missing:
        anymodel.add_function(edits, script, name)
        return _blank_lines_after_function(apply(script.module, edits).code, name)
    return apply(script.module, edits).code


def _rate_in_keywords(script: Script, call: cst.Call, default: float) -> codegen.Rate:
    """The rate of an optimizer called without `lr=`: its default, or the `lr` of the mapping
    its keywords come from (`Adam(params, **config["optimizer"]["args"])`), which may hold
    none. A group's own lr overrides the keywords', so the optimizer can keep them all."""
    stars = [arg.value for arg in call.args if arg.star == "**"]
    if not stars:
        return codegen.Rate(codegen.number(default), default)
    # read twice (here and by the optimizer): only a plain name, attribute or subscript
    if len(stars) > 1 or not _plain_reference(stars[0]):
        raise _Refuse("the lr is passed through **keyword arguments: write lr=... first")
    quote = _quote_style(script.text)
    mapping = script.code(stars[0]).strip()
    return codegen.Rate(f"{mapping}.get({quote}lr{quote}, {codegen.number(default)})")


def _plain_reference(node: cst.BaseExpression) -> bool:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return isinstance(node, cst.Name)


def _cut_added_groups(
    edits: Edits, script: Script, uniform: UniformSite, fix: anymodel.RuntimeFix, width: int
) -> None:
    """The lists added later to the optimizer (`opt.add_param_group({"params": g[0], ...})`,
    see `analysis.buckets`) are cut by depth as the first one is:
    `for group in param_groups_by_depth(model, lr, params=[{...}]): opt.add_param_group(group)`.
    """
    params = script.optimizer_params(uniform.site.node, uniform.site.qualname)
    if params is None:
        return
    unit = anymodel.indent_unit(script.text)
    added_calls = buckets.added_groups(script, params, uniform.site.scope)
    alone = _alone_on_their_lines(script, added_calls)
    for added in added_calls:
        assert isinstance(added.func, cst.Attribute)
        if added not in alone:  # `if decay: opt.add_param_group(...)`, `...; print(...)`
            raise _Refuse(
                "an add_param_group call shares its line with other code: put it on a line "
                "of its own, then run lrlint fix again"
            )
        name = codegen.Names(_bound_names(script)).fresh("group")
        cut = fix.call(f"[{script.code(added.args[0].value).strip()}]")
        indent = _statement_indent(script, added)
        head = anymodel.fit(f"for {name} in ", cut, ":", indent, unit, width)
        receiver = script.code(added.func.value).strip()
        edits.replace[added] = [f"{head}\n{unit}{receiver}.add_param_group({name})"]


def _alone_on_their_lines(script: Script, calls: list[cst.Call]) -> set[cst.Call]:
    """The calls that are a whole statement line by themselves (a line the fix can replace
    with a loop without dropping anything)."""
    wanted = {id(call): call for call in calls}
    found: set[cst.Call] = set()

    class Lines(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            body = node.body
            if len(body) == 1 and isinstance(body[0], cst.Expr):
                call = wanted.get(id(body[0].value))
                if call is not None:
                    found.add(call)

    if calls:
        script.module.visit(Lines())
    return found


def _statement_indent(script: Script, node: cst.CSTNode) -> str:
    line = script.text.splitlines()[script.position(node)[0] - 1]
    return line[: len(line) - len(line.lstrip())]


def _runtime_trainer(
    edits: Edits, script: Script, uniform: UniformSite, fix: anymodel.RuntimeFix, limit: int
) -> None:
    call = uniform.site.node
    optimizer_class = _adamw(script, edits)
    optimizer = codegen.Names(_bound_names(script)).fresh("optimizer")
    args = keyword_arg(call, "args") or positional_arg(call, 1)
    if isinstance(args, cst.Name):
        weight_decay = f"{args.value}.weight_decay"
    else:
        given = keyword_arg(args, "weight_decay") if isinstance(args, cst.Call) else None
        weight_decay = script.code(given).strip() if given is not None else "0.0"
    lines = [
        "# The Trainer's default optimizer gives every layer one rate: build one whose rate",
        "# rises with depth (biases and norms undecayed, as the Trainer does).",
    ]
    groups = fix.call(weight_decay=weight_decay)
    indent = _statement_indent(script, call)
    built = f"{optimizer} = {optimizer_class}({groups})"
    if len(indent) + len(built) > limit:  # build the groups first
        variable = codegen.Names(_bound_names(script)).fresh("param_groups")
        unit = anymodel.indent_unit(script.text)
        lines.append(anymodel.fit(f"{variable} = ", groups, "", indent, unit, limit))
        built = f"{optimizer} = {optimizer_class}({variable})"
    lines.append(built)
    keywords = {"optimizers": f"({optimizer}, None)"}
    if fix.strategy == "gradual":
        if keyword_arg(call, "callbacks") is not None:
            raise _Refuse(
                "gradual unfreezing adds a TrainerCallback, and this Trainer already has "
                "callbacks=: add it there by hand, or use --strategy discriminative"
            )
        base = _trainer_callback(script, edits)
        quote = _quote_style(script.text)
        held = f"kwargs[{quote}optimizer{quote}]"
        callback = codegen.Names(_bound_names(script)).fresh("UnfreezeByEpoch")
        lines = [
            f"class {callback}({base}):",
            '    """Gradual unfreezing: heads first, two epochs a stage (by lrlint fix)."""',
            "",
            "    def on_epoch_begin(self, args, state, control, model=None, **kwargs):",
            f"        {fix.unfreeze('model', 'int(state.epoch or 0)', held)}",
            "",
            *lines,
        ]
        keywords["callbacks"] = f"[{callback}()]"
    edits.before[call] = lines
    edits.keywords[call] = keywords


def _trainer_callback(script: Script, edits: Edits) -> str:
    return _imported_as(
        script,
        edits,
        "transformers.TrainerCallback",
        [("transformers", "TrainerCallback")],
        "from transformers import TrainerCallback",
        "TrainerCallback",
    )


def _imported_as(
    script: Script,
    edits: Edits,
    qualname: str,
    through: list[tuple[str, str]],
    statement: str,
    added: str,
) -> str:
    """How this file can name `qualname`: its own import of it, else an imported module
    (`through`: module, the rest of the name after it), else `added` once `statement` is
    added to the imports."""
    for local, imported in script.imports.items():
        if imported == qualname:
            return local
    for local, imported in script.imports.items():
        for module, rest in through:
            if imported == module:
                return f"{local}.{rest}"
    edits.imports.append(statement)
    return added


def _runtime_gradual(
    edits: Edits,
    script: Script,
    uniform: UniformSite,
    fix: anymodel.RuntimeFix,
    others: dict[str, tuple[str, str]] | None = None,
) -> None:
    site = uniform.site
    owner = site.scope.owner
    method = site.scope.node
    if (
        owner is not None
        and isinstance(method, cst.FunctionDef)
        and method.name.value == "configure_optimizers"
    ):
        # before the epoch's first step, under any strategy (DDP included): the held stages
        # step at lr 0 from there on
        hook = owner.methods.get("on_train_epoch_start")
        call = fix.unfreeze(fix.model, "self.current_epoch", "self.optimizers()")
        if hook is not None and call in script.code(hook.node):
            return  # another optimizer of this module already thaws it
        if hook is not None and isinstance(hook.node, cst.FunctionDef):
            edits.body_top[hook.node] = f"{call}  # gradual unfreezing (by lrlint fix)"
            return
        edits.before[method] = [
            "def on_train_epoch_start(self):",
            "    # gradual unfreezing: heads first, two epochs a stage (by lrlint fix)",
            f"    {call}",
        ]
        return
    found = loops.training_loop(script, site.scope, site.node, fix.model)
    if found is None and others is not None:  # refused with the reason unless it has callers
        _unfreeze_in_callers(script, uniform, fix, others)
        return
    if found is None:
        raise _Refuse(_NO_LOOP)
    _thaw_in_loop(edits, script, fix, found)


def _thaw_in_loop(
    edits: Edits, script: Script, fix: anymodel.RuntimeFix, found: loops.TrainingLoop
) -> bool:
    """The unfreezing first in the loop that trains the optimizer, once per loop; False when
    another optimizer already thaws the model there."""
    if fix.unfreeze(found.model, "")[:-2] in script.code(found.loop.body):
        return False
    call = fix.unfreeze(found.model, _epoch(edits, script, found), found.optimizer)
    edits.loop_top[found.loop] = _STEP_COMMENT + call if found.steps else call
    return True


def _unfreeze_in_callers(
    script: Script,
    uniform: UniformSite,
    fix: anymodel.RuntimeFix,
    others: dict[str, tuple[str, str]],
) -> None:
    """The helper's callers in other modules get the unfreezing in their loops."""
    site = uniform.site
    try:
        found = callers.caller_loops(script, site.scope, site.node, fix.model, fix.function)
    except callers.NoCallerLoop as exc:
        raise _Refuse(f"{_NO_LOOP} ({exc})" if str(exc) else _NO_LOOP) from None
    assert fix.hold  # chosen by _held_if_distributed for the same callers
    by_file: dict[str, list[callers.CallerLoop]] = {}
    for caller in found:
        by_file.setdefault(str(caller.script.path), []).append(caller)
    for path, here in by_file.items():
        if path in others:
            continue  # another optimizer of the helper already put it there
        edits, script_there = Edits(), here[0].script
        for caller in here:  # every loop of the file that trains what the helper returns
            at_caller = replace(fix, function=caller.function)
            if _thaw_in_loop(edits, script_there, at_caller, caller.found):
                edits.imports.extend(caller.imports)  # written once by apply
        others[path] = (script_there.text, apply(script_there.module, edits).code)


_NO_LOOP = (
    "no training loop after the optimizer that counts epochs (`for epoch in ...`) or steps "
    "up to a finite bound (`for step in range(max_steps)`, `while step < max_steps`): "
    "nothing would call the unfreezing, and the lower layers would stay frozen; use "
    "--strategy discriminative or freeze"
)


def _refuse_distributed(script: Script, uniform: UniformSite, found: loops.TrainingLoop) -> None:
    """The written stages freeze with requires_grad: not under a distributed wrapper (the
    run-time function then holds the stages in the optimizer instead)."""
    site = uniform.site
    wrapper = loops.distributed_wrapper(script, site.scope, site.node, found)
    if wrapper is not None:
        raise _Refuse(_distributed_reason(wrapper))


def _distributed_reason(wrapper: str) -> str:
    return (
        f"the model goes through {wrapper}(...), which reads which parameters train when it "
        "wraps them: layers thawed later would not be synchronised (or not updated); use "
        "--strategy discriminative or freeze"
    )


def _held_if_distributed(
    script: Script, uniform: UniformSite, fix: anymodel.RuntimeFix
) -> anymodel.RuntimeFix:
    """Gradual unfreezing that freezes nothing where a distributed wrapper reads which
    parameters train when it wraps them: DDP syncs only those (Lightning #20340). The
    unfreezing then holds the optimizer's lower groups out of each step instead. A Trainer
    wraps its model so under torchrun, a LightningModule under a DDP strategy."""
    if uniform.kind == "trainer":
        return replace(fix, hold=True)
    site = uniform.site
    method = site.scope.node
    if isinstance(method, cst.FunctionDef) and method.name.value == "configure_optimizers":
        return replace(fix, hold=True)  # a Lightning strategy may wrap it in DDP
    found = loops.training_loop(script, site.scope, site.node, fix.model)
    if found is not None and found.scope is not site.scope:
        _refuse_other_callers(script, site.scope)
    if found is None:
        try:  # a helper trained in other modules: held there, see _unfreeze_in_callers
            callers.caller_loops(script, site.scope, site.node, fix.model, fix.function)
        except callers.NoCallerLoop:
            return fix  # refused with the reason where the loop is looked for
        return replace(fix, hold=True)
    wrapper = loops.distributed_wrapper(script, site.scope, site.node, found)
    if wrapper is None:
        return fix
    per_parameter = _per_parameter(script, uniform) is not None  # many optimizers
    if loops.shards(script, wrapper) or found.optimizer is None or per_parameter:
        raise _Refuse(_distributed_reason(wrapper))
    return replace(fix, hold=True)


def _refuse_other_callers(script: Script, scope: Scope) -> None:
    """A helper trained by a loop of its own file (`demo()`) and called from other modules:
    those callers would train it with the lower layers frozen for good."""
    project = script.project
    if project is None or scope.parent is not script.module_scope or scope.owner is not None:
        return
    elsewhere = project.callers(scope)
    if elsewhere:
        other, call = elsewhere[0]
        name = other.path.name if other.path is not None else "another module"
        raise _Refuse(
            f"{scope.name} is also called from {name}:{other.position(call.node)[0]}, whose "
            "loop would keep the lower layers frozen: use --strategy discriminative or freeze"
        )


# the pseudo-epoch of a step loop needs saying: two of its six sixths a stage
_STEP_COMMENT = "# gradual unfreezing: a stage thaws every third of the steps (by lrlint fix)\n"


def _epoch(edits: Edits, script: Script, found: loops.TrainingLoop) -> str:
    """What the unfreezing is called with: the loop's epoch, else an epoch counted by
    `enumerate` around the loop's iterable."""
    if found.epoch is not None:
        return found.epoch
    loop = found.loop
    assert isinstance(loop, cst.For)  # `for _ in range(args.num_train_epochs)`
    epoch = codegen.Names(_bound_names(script)).fresh("epoch")
    edits.expressions[loop.target] = f"{epoch}, {script.code(loop.target).strip()}"
    edits.expressions[loop.iter] = f"enumerate({script.code(loop.iter).strip()})"
    return epoch


def _fix_site(
    text: str,
    script: Script,
    setup: TrainingSetup,
    uniform: UniformSite,
    options: FixOptions,
    strategy: str,
) -> str:
    if uniform.model is None:
        raise _Refuse("cannot see which model the Trainer trains (model_init?): fix it by hand")
    model_text = _unwrapped(script, uniform, script.code(uniform.model).strip())
    skeleton = _skeleton(script, setup, uniform)
    try:
        parts = model_parts(skeleton)
    except PartsError as exc:
        raise _Refuse(f"cannot cut {model_text} into modules: {exc}") from None
    if not parts.has_blocks:
        raise _Refuse(f"no block list found in {model_text}: nothing to order by depth")
    names = codegen.Names(_bound_names(script))
    style = codegen.Style(quote=_quote_style(text))
    rate = _rate(script, uniform)
    edits = Edits()
    call = uniform.site.node
    if options.decay is not None and parts.shared_blocks:
        raise _Refuse(f"{model_text} shares one layer across all depths: no per-layer rate")
    plan = _Plan(parts, model_text, rate, style, names, options.decay)
    if strategy == "freeze":
        edits.before[call] = codegen.freeze_statements(parts, model_text, options.layers, names)
    elif uniform.kind == "trainer":
        _trainer_edits(edits, script, uniform, plan, strategy)
    else:
        _optimizer_edits(edits, script, uniform, plan)
        if strategy == "gradual":
            _gradual_edits(edits, script, uniform, plan)
    new_module = apply(script.module, edits)
    return new_module.code


_UNWRAP_WITH_MODULE = frozenset({"DataParallel", "DistributedDataParallel", "DDP"})
_WRAPPERS = frozenset(
    {"FullyShardedDataParallel", "FSDP", "prepare", "initialize", "setup", "wrap"}
)


def _unwrapped(script: Script, uniform: UniformSite, model: str) -> str:
    """The expression of the plain model: `model.module` when `model` is a DataParallel or
    DDP wrapper; a refusal for wrappers whose inside we cannot name."""
    if not isinstance(uniform.model, cst.Name):
        return model
    scope, seq = uniform.site.scope, uniform.site.seq
    binding = scope.reaching(uniform.model.value, seq)
    value = binding.value if binding else None
    name = last_name(value.func) if isinstance(value, cst.Call) else None
    if name in _UNWRAP_WITH_MODULE:
        return f"{model}.module"
    if name in _WRAPPERS:
        raise _Refuse(
            f"{model} is wrapped by {name}(...) here: build the optimizer on the plain model, "
            "before wrapping it"
        )
    return model


def _skeleton(script: Script, setup: TrainingSetup, uniform: UniformSite) -> Skeleton:
    assert uniform.model is not None
    site = uniform.site
    resolution = setup.resolver.resolve(uniform.model, site.scope, site.seq)
    skeleton = skeleton_for(script, setup.resolver, resolution.source)
    model = script.code(uniform.model).strip()
    if skeleton is None:
        raise _Refuse(
            f"cannot tell the structure of {model}: lrlint knows the common Hugging Face "
            "families, timm/torchvision backbones and modules defined in the script"
        )
    if skeleton.opaque:
        hidden = ", ".join(f"{model}.{path}" for path in skeleton.opaque)
        raise _Refuse(f"cannot see the parameters of {hidden}: groups could leave them out")
    return skeleton


def _rate(script: Script, uniform: UniformSite) -> codegen.Rate:
    lr = uniform.lr
    if uniform.kind == "trainer":
        args = keyword_arg(uniform.site.node, "args") or positional_arg(uniform.site.node, 1)
        if isinstance(args, cst.Name):  # read the rate off the arguments the Trainer gets
            return codegen.Rate(f"{args.value}.learning_rate")
        if lr is None:
            if not uniform.lr_scope_known:
                raise _Refuse("cannot read the Trainer's learning rate")
            return codegen.Rate(codegen.number(TRAINING_ARGUMENTS_DEFAULT_LR), 5e-05)
    if lr is None:
        if any(arg.star == "**" for arg in uniform.site.node.args):
            raise _Refuse("the lr is passed through **keyword arguments: write lr=... first")
        config = positional_arg(uniform.site.node, 0)
        if uniform.site.qualname in catalog.CONFIG_OPTIMIZER_FACTORIES and config is not None:
            # `config.instantiate(cfg.optimizer, params)`: the rate is the config's; a group's
            # own lr overrides it. `.get`: a config without one leaves the default, and runs
            quote = _quote_style(script.text)
            return codegen.Rate(f"{script.code(config).strip()}.get({quote}lr{quote})")
        raise _Refuse("the optimizer runs on its default lr: give it lr=... first")
    if isinstance(lr, (cst.Float, cst.Integer)):
        return codegen.Rate(script.code(lr).strip(), float(lr.evaluated_value))
    return codegen.Rate(script.code(lr).strip())


@dataclass
class _Plan:
    """What the groups are made of: the model's parts, how to name it, the base rate."""

    parts: ModelParts
    model: str
    rate: codegen.Rate
    style: codegen.Style
    names: codegen.Names
    decay: float | None

    @cached_property
    def tiered(self) -> codegen.Tiered:
        return codegen.tiers(self.parts, self.model, self.rate, self.names)

    def groups(self, indent: str) -> tuple[list[str], str]:
        """Statements to run first, and the expression of the group list."""
        if self.decay is not None:
            lines, name = codegen.decay_groups(
                self.parts, self.model, self.rate, self.decay, self.style, self.names
            )
            return lines, name
        return self.tiered.prelude, codegen.group_list(self.tiered, self.style, indent)


def _width_with(script: Script, argument: cst.BaseExpression, text: str) -> int:
    """How wide the line gets with `text` in place of `argument` (which may span lines)."""
    lines = script.text.splitlines()
    column, (last, end) = script.position(argument)[1], script.end(argument)
    return column - 1 + len(text) + len(lines[last - 1]) - (end - 1)


def _per_parameter(script: Script, uniform: UniformSite) -> tuple[str, cst.BaseExpression] | None:
    """`{p: AdamW([p], lr=lr) for p in model.parameters()}`: the item's name and what the
    comprehension iterates."""
    site = uniform.site
    if uniform.kind != "optimizer":
        return None
    params = script.optimizer_params(site.node, site.qualname)
    source = per_parameter_source(site, params) if params is not None else None
    if source is None or not isinstance(params, cst.List):
        return None
    item = params.elements[0].value
    assert isinstance(item, cst.Name)
    return item.value, source


def _runtime_per_parameter(
    edits: Edits, script: Script, uniform: UniformSite, fix: anymodel.RuntimeFix, width: int
) -> None:
    """One optimizer per parameter: each gets its parameter's group (rate, decay) by depth,
    from a table built before the comprehension. A parameter in no group (frozen by `freeze`)
    keeps the optimizer's defaults; it has no gradient to step."""
    per_parameter = _per_parameter(script, uniform)
    assert per_parameter is not None
    item, source = per_parameter
    call = uniform.site.node
    passed = anymodel.pass_through(script, source, fix.model)
    names = codegen.Names(_bound_names(script))
    groups, table = names.fresh("param_groups"), names.fresh("group_of")
    q = _quote_style(script.text)
    line = script.text.splitlines()[script.position(call)[0] - 1]
    indent = line[: len(line) - len(line.lstrip())]
    unit = anymodel.indent_unit(script.text)
    edits.before[call] = [
        anymodel.fit(f"{groups} = ", fix.call(passed), "", indent, unit, width),
        f"{table} = {{p: [{{**g, {q}params{q}: [p]}}] for g in {groups} for p in g[{q}params{q}]}}",
    ]
    edits.params_position[call] = 1 if catalog.is_optimizer_factory(uniform.site.qualname) else 0
    edits.params[call] = (f"{table}.get({item}, [{item}])", False)
    if fix.strategy == "gradual":
        _runtime_gradual(edits, script, uniform, fix)


def _params_argument(edits: Edits, script: Script, uniform: UniformSite) -> cst.BaseExpression:
    """The optimizer call's params argument (a factory's second positional one), noted for
    the rewrite."""
    call, qualname = uniform.site.node, uniform.site.qualname
    if catalog.is_optimizer_factory(qualname) and keyword_arg(call, "params") is None:
        edits.params_position[call] = 1
    params = script.optimizer_params(call, qualname)
    assert params is not None
    return params


def _optimizer_edits(edits: Edits, script: Script, uniform: UniformSite, plan: _Plan) -> None:
    call = uniform.site.node
    params = _params_argument(edits, script, uniform)
    indent = _argument_indent(script, call, params)
    split = _split(script, uniform, params)
    if split is None:
        prelude, groups = plan.groups(indent)
        edits.before[call] = prelude
        edits.params[call] = (groups, True)
        return
    if plan.decay is not None:
        raise _Refuse("--decay cannot keep this weight-decay split: use the default tiers")
    tiered = plan.tiered
    binding_value, templates = split
    if binding_value is None:  # the groups are written in the call
        edits.before[call] = tiered.prelude
        edits.params[call] = (
            codegen.group_list(tiered, plan.style, indent, templates),
            True,
        )
        return
    # the groups are a variable: rewrite them where they are built
    edits.before[binding_value] = tiered.prelude
    edits.expressions[binding_value] = codegen.group_list(tiered, plan.style, indent, templates)
    edits.params[call] = (script.code(params).strip(), True)


def _gradual_edits(edits: Edits, script: Script, uniform: UniformSite, plan: _Plan) -> None:
    site = uniform.site
    if site.scope.owner is not None:
        raise _Refuse(
            "gradual unfreezing inside a class needs its epoch hook (Lightning: the "
            "BackboneFinetuning callback); use --strategy discriminative or freeze"
        )
    found = loops.training_loop(script, site.scope, site.node, plan.model)
    if found is None:
        raise _Refuse(_NO_LOOP)
    _refuse_distributed(script, uniform, found)
    if found.scope is not site.scope:
        # the stages are written beside the optimizer, in its function
        raise _Refuse(
            "the training loop is in another function than the optimizer: use --strategy "
            "discriminative or freeze"
        )
    # the stages name the same modules as the groups; decay groups did not define the halves
    prelude = plan.tiered.prelude if plan.decay is not None else []
    statements, function = codegen.gradual_statements(plan.tiered, plan.names)
    edits.before[site.node] = [*edits.before.get(site.node, []), *prelude, *statements]
    call = f"{function}({_epoch(edits, script, found)})"
    edits.loop_top[found.loop] = _STEP_COMMENT + call if found.steps else call


def _trainer_edits(
    edits: Edits, script: Script, uniform: UniformSite, plan: _Plan, strategy: str
) -> None:
    call = uniform.site.node
    if strategy == "gradual":
        raise _Refuse(
            "gradual unfreezing with Trainer needs a TrainerCallback; use --strategy "
            "discriminative or freeze"
        )
    if plan.decay is not None:
        raise _Refuse(
            "--decay cannot keep the Trainer's no-decay split for biases and norms: use the "
            "default tiers"
        )
    optimizer_class = _adamw(script, edits)
    optimizer = plan.names.fresh("optimizer")
    args = keyword_arg(call, "args") or positional_arg(call, 1)
    if isinstance(args, cst.Name):
        weight_decay = f"{args.value}.weight_decay"
    else:
        given = keyword_arg(args, "weight_decay") if isinstance(args, cst.Call) else None
        weight_decay = script.code(given).strip() if given is not None else "0.0"
    # Trainer decays only the weights with two or more dimensions (not biases and norms):
    # keep that split inside every tier
    key = plan.style.key
    module = codegen.MODULE_PLACEHOLDER
    split = [
        (
            f"[p for p in {module}.parameters() if p.ndim >= 2]",
            f"{key('weight_decay')}: {weight_decay}, ",
        ),
        (f"[p for p in {module}.parameters() if p.ndim < 2]", f"{key('weight_decay')}: 0.0, "),
    ]
    groups = codegen.group_list(plan.tiered, plan.style, "", split)
    edits.before[call] = [
        "# The Trainer's default optimizer gives every layer one rate: build one whose rate",
        "# rises with depth, and let the Trainer still make its scheduler.",
        *plan.tiered.prelude,
        f"{optimizer} = {optimizer_class}({groups})",
    ]
    edits.keywords[call] = {"optimizers": f"({optimizer}, None)"}


def _adamw(script: Script, edits: Edits) -> str:
    """How this file can name torch's AdamW, adding `import torch` when it cannot."""
    return _imported_as(
        script,
        edits,
        "torch.optim.AdamW",
        [("torch.optim", "AdamW"), ("torch", "optim.AdamW")],
        "import torch",
        "torch.optim.AdamW",
    )


def _split(
    script: Script, uniform: UniformSite, params: cst.BaseExpression
) -> tuple[cst.BaseExpression | None, list[tuple[str, str]]] | None:
    """The user's weight-decay split (groups at one rate over `model.named_parameters()`), as
    comprehension templates to repeat inside every tier; None when params is not such a split."""
    value: cst.BaseExpression | None = params
    binding_value = None
    if isinstance(params, cst.Name):
        binding = uniform.site.scope.reaching(params.value, uniform.site.seq)
        value = binding.value if binding else None
        binding_value = value
    if not isinstance(value, (cst.List, cst.Tuple)):
        return None
    templates = []
    for element in value.elements:
        group = element.value
        if not isinstance(group, cst.Dict):
            raise _Refuse("cannot read the parameter groups as written")
        params_value = None
        others = []
        for item in group.elements:
            if not isinstance(item, cst.DictElement) or not isinstance(item.key, cst.SimpleString):
                raise _Refuse("cannot read the parameter groups as written")
            key = item.key.evaluated_value
            if key == "params":
                params_value = item.value
            elif key != "lr":
                others.append(
                    f"{script.code(item.key).strip()}: {script.code(item.value).strip()}, "
                )
        if not isinstance(params_value, (cst.ListComp, cst.GeneratorExp)):
            raise _Refuse("cannot repeat this group's parameter filter inside each tier")
        template = params_value.with_changes(
            for_in=params_value.for_in.with_changes(
                iter=cst.parse_expression(f"{codegen.MODULE_PLACEHOLDER}.named_parameters()")
            )
        )
        if not _iterates_named_parameters(params_value):
            raise _Refuse("the groups filter something other than named_parameters()")
        templates.append((script.code(template).strip(), "".join(others)))
    return binding_value, templates


def _argument_indent(script: Script, call: cst.Call, argument: cst.BaseExpression) -> str:
    """Written one argument per line (Black's style), the group list is indented like the
    argument it replaces; on the line of the call (the seed's style), not at all."""
    call_line = script.position(call)[0]
    line, column = script.position(argument)
    if line == call_line:
        return ""
    text = script.text.splitlines()[call_line - 1]
    statement_indent = len(text) - len(text.lstrip())
    return " " * max(0, column - 1 - statement_indent)


def _iterates_named_parameters(comprehension: cst.ListComp | cst.GeneratorExp) -> bool:
    source = comprehension.for_in.iter
    return (
        isinstance(source, cst.Call)
        and isinstance(source.func, cst.Attribute)
        and source.func.attr.value == "named_parameters"
    )


def _bound_names(script: Script) -> set[str]:
    names: set[str] = set(script.imports.names())
    for scope in script.function_scopes:
        names.update(scope.bindings)
        names.update(scope.params)
    return names


def _quote_style(text: str) -> str:
    single = len(re.findall(r"'[^'\n]*'", text))
    double = len(re.findall(r'"[^"\n]*"', text))
    return '"' if double > single else "'"


def _verify(before: str, after: str, key: tuple[str, int], fix: FixOptions) -> None:
    """Keep a fix only if it parses and makes nothing worse (checked as `lrlint check` would,
    with the file's project)."""
    from lrlint.engine import CheckOptions, check_source
    from lrlint.project.modules import Project

    try:
        compile(after, "<fixed>", "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
        cst.parse_module(after)
    except (SyntaxError, cst.ParserSyntaxError) as exc:
        raise _Refuse(f"the rewritten code would not parse ({exc}); nothing written") from None
    options = CheckOptions(VERIFIED)
    path = fix.path or "<fixed>"

    def found(text: str) -> Counter[str]:
        project = Project() if fix.path is not None else None
        return Counter(d.code for d in check_source(text, path, options, project))

    old, new = found(before), found(after)
    if new["LR001"] >= old["LR001"]:
        raise _Refuse("the rewritten code would still train every layer at one rate")
    worse = sorted(code for code in VERIFIED - {"LR001"} if new[code] > old[code])
    if worse:
        raise _Refuse(
            f"the rewritten code would add {', '.join(worse)} findings (check the groups by hand)"
        )
