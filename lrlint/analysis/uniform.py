"""Where a pretrained model is trained at one learning rate for every layer (LR001's question,
and what `lrlint fix` rewrites)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lrlint.analysis.names import keyword_arg, positional_arg
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


def uniform_sites(setup: TrainingSetup) -> list[UniformSite]:
    found = [_optimizer(setup, site) for site in setup.optimizer_calls]
    found += [_trainer(setup, site) for site in setup.hf_trainer_calls]
    # frozen lower layers (or PEFT) mean the rates are not uniform over the model
    return [u for u in found if u is not None and not setup.freezes_model(u.site.node)]


def _optimizer(setup: TrainingSetup, site: CallSite) -> UniformSite | None:
    call, script = site.node, setup.script
    params = keyword_arg(call, "params") or positional_arg(call, 0)
    if params is None:
        return None
    lr = keyword_arg(call, "lr") or positional_arg(call, 1)
    lr_code = script.code(lr).strip() if lr is not None else None
    uniform = uniform_params(script, params, site.scope, site.seq, lr_code)
    if uniform is None or not setup.is_pretrained(uniform.model, uniform.scope, uniform.seq):
        return None
    return UniformSite(site, "optimizer", uniform.model, lr)


def _trainer(setup: TrainingSetup, site: CallSite) -> UniformSite | None:
    call = site.node
    optimizers = keyword_arg(call, "optimizers")
    if optimizers is not None and not _is_none_pair(optimizers):
        return None
    if keyword_arg(call, "peft_config") is not None:  # TRL applies PEFT: the base is frozen
        return None
    if setup.overrides_optimizer(setup.hf_trainer_class(site)):
        return None
    model = keyword_arg(call, "model") or positional_arg(call, 0)
    if model is None:
        init = keyword_arg(call, "model_init")
        if init is not None and not setup.is_pretrained(cst.Call(func=init), site.scope, site.seq):
            return None
        if init is None and not setup.resolver.loads_pretrained:
            return None
    elif not setup.is_pretrained(model, site.scope, site.seq):
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


def _is_none_pair(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Tuple) and all(
        isinstance(element.value, cst.Name) and element.value.value == "None"
        for element in node.elements
    )
