"""Where a pretrained model is trained at one learning rate for every layer (LR001's question,
and what `lrlint fix` rewrites)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lrlint.analysis import catalog
from lrlint.analysis.names import dotted, keyword_arg, last_name, positional_arg
from lrlint.analysis.params import uniform_params
from lrlint.analysis.script import CallSite
from lrlint.analysis.training import TrainingSetup

TRAINING_ARGUMENTS_DEFAULT_LR = 5e-05


@dataclass(frozen=True)
class UniformSite:
    site: CallSite  # the optimizer call, or the Trainer call
    kind: str  # "optimizer" or "trainer"
    model: cst.BaseExpression | None  # the whole model (`model`, `self`); None: not written
    lr: cst.BaseExpression | None  # `lr=` of the optimizer / `learning_rate=` of the arguments
    lr_scope_known: bool = True  # False for a Trainer whose arguments we could not read
    parts: tuple[str, ...] = ()  # the optimizer takes only these parts of `model`, at one rate


def uniform_sites(setup: TrainingSetup) -> list[UniformSite]:
    # an optimizer built only behind a flag that is off by default belongs to a run we do not
    # see (`if args.use_qlora:` also freezes the base the way that run sets it up)
    live = [site for site in setup.optimizer_calls if not setup.script.dead(site.node)]
    found = [_optimizer(setup, site) for site in live]
    found += [_trainer(setup, site) for site in setup.hf_trainer_calls]
    # frozen lower layers (or PEFT) mean the rates are not uniform over the model
    return [
        u for u in found if u is not None and not setup.freezes_model(u.site.node, u.model, u.parts)
    ]


def _optimizer(setup: TrainingSetup, site: CallSite) -> UniformSite | None:
    call, script = site.node, setup.script
    params = script.optimizer_params(call, site.qualname)
    if params is None:
        return None
    params = per_parameter_source(site, params) or params
    lr = script.optimizer_lr(call, site.qualname)
    lr_code = script.code(lr).strip() if lr is not None else None
    uniform = uniform_params(script, params, site.scope, site.seq, lr_code)
    if uniform is None:
        return None
    owner = uniform.scope.owner
    if dotted(uniform.model) == "self" and owner is not None and uniform.alternatives:
        # the models of an object that is no model itself (a recipe's `self._policy_model`)
        plain_object = not setup.resolver.is_module_class(owner)
    else:
        plain_object = False
    if not plain_object and setup.is_pretrained(uniform.model, uniform.scope, uniform.seq):
        return UniformSite(site, "optimizer", uniform.model, lr, parts=uniform.parts)
    for model in uniform.alternatives:  # the pretrained one of several models trained whole
        if setup.is_pretrained(model, uniform.scope, uniform.seq):
            return UniformSite(site, "optimizer", model, lr, parts=("*",))
    return None


def per_parameter_source(site: CallSite, params: cst.BaseExpression) -> cst.BaseExpression | None:
    """One optimizer per parameter, all at one rate (torchtune's optimizer in backward):
    `{p: AdamW([p], lr=lr) for p in model.parameters()}` trains what `model.parameters()`
    yields."""
    element = params.elements[0].value if isinstance(params, cst.List) and params.elements else None
    if not (isinstance(element, cst.Name) and len(params.elements) == 1):  # type: ignore[union-attr]
        return None
    if site.scope.node is None:
        return None
    finder = _ComprehensionOver(element.value, site.node)
    site.scope.node.visit(finder)
    return finder.source


class _ComprehensionOver(cst.CSTVisitor):
    """The iterable of the comprehension whose item is `name` and that builds `call`."""

    def __init__(self, name: str, call: cst.Call) -> None:
        self.name, self.call = name, call
        self.source: cst.BaseExpression | None = None

    def _visit(self, node: cst.BaseComp | cst.DictComp, built: list[cst.CSTNode]) -> None:
        target = node.for_in.target
        if (
            self.source is None
            and isinstance(target, cst.Name)
            and target.value == self.name
            and any(_contains(part, self.call) for part in built)
        ):
            self.source = node.for_in.iter

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._visit(node, [node.key, node.value])

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._visit(node, [node.elt])

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._visit(node, [node.elt])


def _contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    if tree is node:
        return True
    return any(_contains(child, node) for child in tree.children)


def _trainer(setup: TrainingSetup, site: CallSite) -> UniformSite | None:
    call = site.node
    optimizers = keyword_arg(call, "optimizers")
    if optimizers is not None and not _is_none_pair(optimizers):
        return None
    if _applies_peft(setup, site, keyword_arg(call, "peft_config")):
        return None  # TRL applies PEFT: the base is frozen
    if setup.overrides_optimizer(setup.hf_trainer_class(site)):
        return None
    model = keyword_arg(call, "model") or positional_arg(call, 0)
    if model is None:
        init = keyword_arg(call, "model_init")
        if init is not None and not setup.is_pretrained(cst.Call(func=init), site.scope, site.seq):
            return None
        if init is None and not setup.resolver.loads_pretrained:
            return None
    elif not (
        setup.is_pretrained(model, site.scope, site.seq) or _names_checkpoint(setup, site, model)
    ):
        return None
    lr, known = _training_arguments_lr(setup, site)
    return UniformSite(site, "trainer", model, lr, known)


def _training_arguments_lr(
    setup: TrainingSetup, site: CallSite
) -> tuple[cst.BaseExpression | None, bool]:
    """The `learning_rate=` given to TrainingArguments (None: its default), and whether the
    arguments could be read at all."""
    script = setup.script
    args = keyword_arg(site.node, "args") or positional_arg(site.node, 1)
    if isinstance(args, cst.Name):
        binding = site.scope.reaching(args.value, site.seq) or script.module_scope.reaching(
            args.value, float("inf")
        )
        args = binding.value if binding else None
    if isinstance(args, cst.Call):
        return keyword_arg(args, "learning_rate"), True
    return None, False


def _applies_peft(setup: TrainingSetup, site: CallSite, config: cst.BaseExpression | None) -> bool:
    """Whether TRL's `peft_config=` is a config: not None, not trl's `get_peft_config(args)`
    (None unless `--use_peft`, which is off by default), directly or through a name."""
    for _ in range(3):
        if config is None or (isinstance(config, cst.Name) and config.value == "None"):
            return False
        if isinstance(config, cst.Call):
            qualname = setup.script.imports.qualify(config.func) or ""
            # trl's, or a project's copy of it (alignment-handbook's `get_peft_config`)
            return qualname.rsplit(".", 1)[-1] not in catalog.PEFT_CONFIG_FROM_FLAGS
        if not isinstance(config, cst.Name):
            return True
        binding = site.scope.reaching(config.value, site.seq) or (
            setup.script.module_scope.reaching(config.value, float("inf"))
        )
        config = binding.value if binding is not None else None
        if binding is None:
            return True  # a parameter or a global we cannot see: assume a config
    return True


def _names_checkpoint(setup: TrainingSetup, site: CallSite, model: cst.BaseExpression) -> bool:
    """TRL's and sentence-transformers' trainers load the model themselves from a checkpoint
    name: `SFTTrainer(model="Qwen/Qwen2-0.5B")`, `model=model_args.model_name_or_path`."""
    if not (site.qualname or "").startswith(("trl.", "sentence_transformers.")):
        return False
    if isinstance(model, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
        return True
    name = last_name(model) if isinstance(model, cst.Name | cst.Attribute) else None
    return name is not None and any(
        word in name.lower() for word in ("name_or_path", "model_name", "model_id", "checkpoint")
    )


def _is_none_pair(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Tuple) and all(
        isinstance(element.value, cst.Name) and element.value.value == "None"
        for element in node.elements
    )
