"""The training setup of a script: its optimizers, its trainers, where it trains and whether it
freezes anything. Shared by the rules so that each question is answered once per file."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from lrlint.analysis import catalog, quick
from lrlint.analysis.interpreter import interpret
from lrlint.analysis.names import dotted, last_name
from lrlint.analysis.origins import Origin, Resolver
from lrlint.analysis.params import is_body
from lrlint.analysis.script import CallSite, ClassInfo, Scope, Script
from lrlint.analysis.setup_events import Events
from lrlint.depth import Tier


class TrainingSetup:
    def __init__(self, script: Script, assume_pretrained: bool = False) -> None:
        self.script = script
        # a helper module read for a script that hands it a pretrained model (analysis.handoff)
        self.assume_pretrained = assume_pretrained
        self.resolver = Resolver(script)
        self._wide = Resolver(script, reach=True)  # follows the project's other modules

    def is_pretrained(self, expr: cst.BaseExpression, scope: Scope, seq: float) -> bool:
        """Pretrained, or unknown in a file that loads pretrained weights (the model a helper
        receives is, in such a file, the one it loaded)."""
        origin = self.origin(expr, scope, seq)
        return origin == Origin.PRETRAINED or (
            origin == Origin.UNKNOWN and (self.assume_pretrained or self.resolver.loads_pretrained)
        )

    def origin(self, expr: cst.BaseExpression, scope: Scope, seq: float) -> Origin:
        """Where a model comes from, followed into the project's other modules."""
        return self._wide.origin(expr, scope, seq)

    @cached_property
    def events(self) -> Events:
        """The training setup run over model skeletons (see `interpreter`)."""
        return interpret(self.script, self.resolver)

    @cached_property
    def freezing_fully_seen(self) -> bool:
        """Whether every freeze in the file was run by the interpreter, so that what it thinks
        is frozen is what the script freezes."""
        events = self.events
        return not events.inconclusive and all(id(n) in events.seen for n in self.script.freezes)

    @cached_property
    def optimizer_calls(self) -> list[CallSite]:
        return [s for s in self.script.calls if self.script.is_optimizer_call(s.node, s.qualname)]

    @cached_property
    def hf_trainer_calls(self) -> list[CallSite]:
        return [site for site in self.script.calls if self._is_hf_trainer_class(site)]

    def freezes_model(
        self,
        site: cst.Call | None = None,
        model: cst.BaseExpression | None = None,
        parts: tuple[str, ...] = (),
    ) -> bool:
        """Whether lower layers of the model trained at `site` (an optimizer or Trainer call;
        None: any model of the file) are frozen, as far as the script shows. A freeze we
        cannot follow (PEFT, a helper from another module, a branch) counts as one: LR001 and
        LR002 stay quiet rather than guess. Freezing another model (a distillation teacher),
        only a new head, or (for an optimizer over only `parts` of the model) a part it leaves
        out, does not count."""
        elsewhere = self._freezes_elsewhere_before(site)
        if not self.script.freezes:
            return elsewhere
        script = self.script
        if parts and all(_freezes_other_part(script, f, parts) for f in script.freezes):
            return elsewhere  # `self.prompt_encoder`, beside an optimizer without it
        built = script.call_site(site) if site is not None else None
        where = built.scope if built is not None else None
        if model is not None and all(
            _freezes_another(script, f, model, where) for f in script.freezes
        ):
            return elsewhere  # `vae.requires_grad_(False)` beside `unet`'s optimizer
        events = self.events
        if not self.freezing_fully_seen or events.opaque_freeze:
            return True
        frozen = events.frozen_at_end
        for optimizer in events.optimizers:
            if site is not None and optimizer.node is site:
                params = [p for g in optimizer.groups for p in g.params]
                models = {id(p.skeleton) for p in params}
                # a backbone frozen before a wrapper took it (`Classifier(bert)`) is the same
                # weights under the wrapper's name for it: `encoder.x` is `bert.encoder.x`
                wrapped = {p.name.split(".", 1)[1] for p in params if "." in p.name}
                frozen = frozenset(
                    p
                    for p in optimizer.frozen
                    if id(p.skeleton) in models or (p.name in wrapped and p not in params)
                )
                break
        return any(p.skeleton.depth(p.name).tier != Tier.HEAD for p in frozen)

    @property
    def freezes_elsewhere(self) -> bool:
        return bool(self._freezing_calls)

    def _freezes_elsewhere_before(self, site: cst.Call | None) -> bool:
        """`freezes_elsewhere`, less the calls made after `site` in its own function (YOLO's
        `strip_optimizer(f)` once training is done): they cannot freeze what it trains."""
        built = self.script.call_site(site) if site is not None else None
        return any(
            built is None or call.scope is not built.scope or call.seq < built.seq
            for call in self._freezing_calls
        )

    @cached_property
    def _freezing_calls(self) -> list[CallSite]:
        """The script's calls of functions of other modules of its project that freeze
        (`create_and_prepare_model(...)` in `utils/peft_utils.py` wrapping `get_peft_model`):
        freezes we cannot follow, so each counts as one."""
        project = self.script.project
        if project is None:
            return []
        found = []
        for site in self.script.calls:
            if site.qualname is None or self.script.dead(site.node):
                continue
            text = project.definition_of(self.script, site.qualname)
            if text is not None and quick.definition_freezes(text, site.qualname.split(".")[-1]):
                found.append(site)
        return found

    @cached_property
    def trains(self) -> bool:
        return bool(self.optimizer_calls or self.hf_trainer_calls or self.train_calls)

    @cached_property
    def train_calls(self) -> list[CallSite]:
        """`trainer.train()` / `trainer.fit(...)` on an HF or Lightning trainer."""
        found = []
        for site in self.script.calls:
            func = site.node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in {"train", "fit"}
                and self._is_trainer(func.value, site.scope, site.seq, depth=0)
            ):
                found.append(site)
        return found

    def hf_trainer_class(self, site: CallSite) -> ClassInfo | None:
        """The subclass a Trainer call builds, when the project defines it: in this file, or in
        another module of the project."""
        func = site.node.func
        if isinstance(func, cst.Name) and func.value in self.script.classes:
            return self.script.classes[func.value]
        qualname, project = site.qualname, self.script.project
        if qualname is None or project is None:
            return None
        name = qualname.rsplit(".", 1)[-1]
        if "Trainer" not in name:
            return None  # only a class named for a trainer is looked for in other modules
        text = project.definition_of(self.script, qualname)
        if text is None or not quick.definition_builds(text, name):
            return None  # CPython's parser says it is no trainer: LibCST need not parse it
        found = self.script.symbol(qualname)
        return found.info if found is not None and found.kind == "class" else None

    def overrides_optimizer(self, info: ClassInfo | None) -> bool:
        return any(
            catalog.TRAINER_OPTIMIZER_OVERRIDES & ancestor.methods.keys()
            for ancestor in self._lineage(info)
        )

    def _lineage(self, info: ClassInfo | None) -> list[ClassInfo]:
        """`info` and the project's classes it derives from, nearest first."""
        found: list[ClassInfo] = []
        todo = [info] if info is not None else []
        while todo and len(found) < 16:
            current = todo.pop(0)
            if any(current is seen for seen in found):
                continue
            found.append(current)
            todo.extend((current.scope.script or self.script).bases_of(current))
        return found

    def _is_hf_trainer_class(self, site: CallSite) -> bool:
        if catalog.is_hf_trainer(site.qualname):
            return True
        return any(
            any(catalog.is_hf_trainer(base) for base in ancestor.bases)
            for ancestor in self._lineage(self.hf_trainer_class(site))
        )

    def _is_trainer(self, expr: cst.BaseExpression, scope: Scope, seq: float, depth: int) -> bool:
        if depth > 4:
            return False
        if isinstance(expr, cst.Call):
            qualname = self.script.imports.qualify(expr.func)
            if qualname in catalog.LIGHTNING_TRAINERS:
                return True
            site = CallSite(expr, scope, seq, qualname)
            return self._is_hf_trainer_class(site)
        if isinstance(expr, cst.Name):
            current: Scope | None = scope
            while current is not None:
                binding = current.reaching(expr.value, seq)
                if binding is not None:
                    return binding.value is not None and self._is_trainer(
                        binding.value, current, binding.seq, depth + 1
                    )
                current = current.parent
                seq = float("inf")
        return False


def _freezes_other_part(script: Script, freeze: cst.CSTNode, parts: tuple[str, ...]) -> bool:
    """Whether a freeze is in a loop over the parameters of a part the optimizer does not take
    and that is no body of the model (a prompt encoder, a head):
    `for p in self.prompt_encoder.parameters(): p.requires_grad = False`. Freezing the image
    encoder beside an optimizer over the decoder is freezing the lower layers."""
    for loop in script.freeze_loops.get(id(freeze), ()):
        source = loop.iter if isinstance(loop, cst.For) else None
        if (
            isinstance(source, cst.Call)
            and isinstance(source.func, cst.Attribute)
            and source.func.attr.value in {"parameters", "named_parameters"}
            and isinstance(source.func.value, cst.Attribute)
            and source.func.value.attr.value not in parts
            and not is_body(source.func.value.attr.value)
        ):
            return True
    return False


def _freezes_another(
    script: Script, freeze: cst.CSTNode, model: cst.BaseExpression, where: Scope | None = None
) -> bool:
    """Whether a freeze plainly names another model than `model`: `vae.requires_grad_(False)`
    or `text_encoder.eval().requires_grad_(False)` beside an optimizer over `unet`, where the
    frozen name is only ever assigned a call (a model built or loaded), never a loop's item
    (`for module in [model.wte, *model.h[:8]]: module.requires_grad_(False)`); or a helper
    freezes the model it builds and returns, kept under another name than `model`."""
    if _freezes_what_a_helper_returns(script, freeze, model) or _freezes_a_copy(
        script, freeze, model, where
    ):
        return True
    if not (
        isinstance(freeze, cst.Call)
        and isinstance(freeze.func, cst.Attribute)
        and freeze.func.attr.value == "requires_grad_"
    ):
        return False
    receiver = freeze.func.value
    while (
        isinstance(receiver, cst.Call)
        and isinstance(receiver.func, cst.Attribute)
        and receiver.func.attr.value in catalog.MODEL_PASSTHROUGH_METHODS
    ):
        receiver = receiver.func.value
    frozen, trained = dotted(receiver), dotted(model)
    if frozen is None or trained is None or frozen == "self" or trained == "self":
        return False
    head = frozen.split(".")[0]
    bindings = [b for scope in script.function_scopes for b in scope.bindings.get(head, [])]
    # a model built or loaded, or None where the script goes without it (`vae = None`)
    if not bindings or not all(
        isinstance(b.value, cst.Call) or (isinstance(b.value, cst.Name) and b.value.value == "None")
        for b in bindings
    ):
        return False
    return not _related(frozen, trained)


def _freezes_a_copy(
    script: Script, freeze: cst.CSTNode, model: cst.BaseExpression, where: Scope | None
) -> bool:
    """A freeze of a layer built on the spot (`nn.Conv2d(...).requires_grad_(False)`, a fused
    layer) or of a copy of a model (`self.ema = deepcopy(model)`, then `for p in
    self.ema.parameters(): p.requires_grad_(False)`): never the trained model's lower layers."""
    receivers = []
    if isinstance(freeze, cst.Call) and isinstance(freeze.func, cst.Attribute):
        receivers.append(freeze.func.value)
    for loop in script.freeze_loops.get(id(freeze), ()):
        source = loop.iter if isinstance(loop, cst.For) else None
        if isinstance(source, cst.Call) and isinstance(source.func, cst.Attribute):
            receivers.append(source.func.value)  # `self.ema` of `self.ema.parameters()`
    scope = script.freeze_scopes.get(id(freeze))
    trained = dotted(model) or ""
    return any(
        _new_or_copied(script, r, scope)
        and not (
            _related(dotted(r) or "", trained)
            # a local of another function (`net = deepcopy(net)` in an export helper) is its own
            and not (isinstance(r, cst.Name) and where is not None and where is not scope)
        )
        for r in receivers
    )


_CONTAINERS = frozenset(
    {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
)


def _related(a: str, b: str) -> bool:
    """One dotted name is the other or a part of it (`self` and `self.ema`)."""
    return bool(a and b) and (a == b or a.startswith(b + ".") or b.startswith(a + "."))


def _new_or_copied(script: Script, receiver: cst.BaseExpression, scope: Scope | None) -> bool:
    while (
        isinstance(receiver, cst.Call)
        and isinstance(receiver.func, cst.Attribute)
        and receiver.func.attr.value in catalog.MODEL_PASSTHROUGH_METHODS
    ):
        receiver = receiver.func.value
    if isinstance(receiver, cst.Call):
        qualname = script.imports.qualify(receiver.func) or ""
        if last_name(receiver.func) in _CONTAINERS:
            return False  # `nn.Sequential(model.conv1, model.layer1)`: the model's own modules
        return qualname.startswith("torch.nn.") or last_name(receiver.func) == "deepcopy"
    owner = scope.owner if scope is not None else None
    if isinstance(receiver, cst.Attribute) and dotted(receiver.value) == "self" and owner:
        values = [v for v, _, _ in owner.self_attrs.get(receiver.attr.value, [])]
    elif isinstance(receiver, cst.Name) and scope is not None:  # `ema = deepcopy(model)`
        values = [b.value for b in scope.bindings.get(receiver.value, [])]
    else:
        return False
    return bool(values) and all(
        v is not None
        and not isinstance(v, cst.Name | cst.Attribute)
        and _new_or_copied(script, v, None)
        for v in values
    )


def _freezes_what_a_helper_returns(
    script: Script, freeze: cst.CSTNode, model: cst.BaseExpression
) -> bool:
    """torchtune's `_setup_reference_model` builds a model, freezes it and returns it, and
    its caller keeps it as `self._ref_model`: beside an optimizer over `self._model`, that
    freezes another model. Every call of the helper must be kept under another name."""
    scope = script.freeze_scopes.get(id(freeze))
    frozen, trained = frozen_expression(script, freeze), dotted(model)
    if scope is None or scope.kind != "function" or frozen is None or trained is None:
        return False
    root = frozen.split(".")[0]
    if root not in scope.bindings or root in scope.params:
        return False
    # where the results hold it: the return value, or an item of a returned tuple
    indexes = set()
    for value in scope.returns:
        if isinstance(value, cst.Name) and value.value == root:
            indexes.add(None)
        elif isinstance(value, cst.Tuple):
            items = [e.value for e in value.elements]
            indexes.update(
                i for i, v in enumerate(items) if isinstance(v, cst.Name) and v.value == root
            )
    if len(indexes) != 1:
        return False
    kept = _kept_as(script, scope.name, indexes.pop())
    return bool(kept) and all(
        name != trained and not trained.startswith(name + ".") for name in kept
    )


def frozen_expression(script: Script, freeze: cst.CSTNode) -> str | None:
    """What a freeze freezes: the receiver of `x.requires_grad_(False)`, or `x` of the loop
    `for p in x.parameters(): p.requires_grad = False`."""
    if isinstance(freeze, cst.Call) and isinstance(freeze.func, cst.Attribute):
        receiver = freeze.func.value
        while isinstance(receiver, cst.Subscript):  # `model.encoder.layer[:6]`: of the list
            receiver = receiver.value
        return dotted(receiver)
    if isinstance(freeze, cst.Attribute) and isinstance(freeze.value, cst.Name):
        item = freeze.value.value
        for loop in script.freeze_loops.get(id(freeze), ()):
            if not isinstance(loop, cst.For) or not _binds(loop.target, item):
                continue
            source = loop.iter
            if (
                isinstance(source, cst.Call)
                and isinstance(source.func, cst.Attribute)
                and source.func.attr.value in {"parameters", "named_parameters"}
            ):
                receiver = source.func.value
                while isinstance(receiver, cst.Subscript):
                    receiver = receiver.value
                return dotted(receiver)
    return None


def _binds(target: cst.BaseExpression, item: str) -> bool:
    """`for p in ...` or `for n, p in ...` binds `p`."""
    if isinstance(target, cst.Name):
        return target.value == item
    if isinstance(target, cst.Tuple) and len(target.elements) == 2:
        last = target.elements[1].value
        return isinstance(last, cst.Name) and last.value == item
    return False


def _kept_as(script: Script, function: str, index: int | None) -> list[str]:
    """The names the results of `function(...)` / `self.function(...)` (their item `index`
    when they are tuples) are assigned to; an empty list unless every call is assigned."""

    def calls_it(value: cst.BaseExpression | None) -> bool:
        func = value.func if isinstance(value, cst.Call) else None
        if isinstance(func, cst.Attribute):
            return func.attr.value == function and dotted(func.value) == "self"
        return isinstance(func, cst.Name) and func.value == function

    def item_of_it(value: cst.BaseExpression) -> bool:  # `self.x, self.y = f()`: `f()[1]`
        if index is None:
            return calls_it(value)
        if not (isinstance(value, cst.Subscript) and len(value.slice) == 1):
            return False
        key = value.slice[0].slice
        return (
            calls_it(value.value)
            and isinstance(key, cst.Index)
            and isinstance(key.value, cst.Integer)
            and key.value.evaluated_value == index
        )

    kept = [
        name
        for scope in script.function_scopes
        for name, bindings in scope.bindings.items()
        for b in bindings
        if calls_it(b.value) and b.unpack == index
    ]
    for info in script.classes.values():
        for attr, values in info.self_attrs.items():
            kept += [f"self.{attr}" for value, _, _ in values if item_of_it(value)]
    calls = sum(1 for site in script.calls if calls_it(site.node))
    return kept if len(kept) == calls else []
