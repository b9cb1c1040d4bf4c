"""LR001: a pretrained model trained at one learning rate for every layer."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from lrlint.analysis import values
from lrlint.analysis.names import keyword_arg, last_name, positional_arg
from lrlint.analysis.params import uniform_params
from lrlint.analysis.script import CallSite
from lrlint.rules.base import Finding, Rule, RuleContext

_ADVICE = (
    "lower layers should move less: use discriminative learning rates "
    "(parameter groups whose lr rises with depth) or freeze the lower layers"
)
_TRAINING_ARGUMENTS_DEFAULT_LR = "5e-05"


class UniformLR(Rule):
    code = "LR001"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        setup = context.setup
        if setup.frozen:  # any freeze (or PEFT) means the rates are not uniform over the model
            return
        for site in setup.optimizer_calls:
            finding = self._optimizer(context, site)
            if finding is not None:
                yield finding
        for site in setup.hf_trainer_calls:
            finding = self._trainer(context, site)
            if finding is not None:
                yield finding

    def _optimizer(self, context: RuleContext, site: CallSite) -> Finding | None:
        setup, call = context.setup, site.node
        params = keyword_arg(call, "params") or positional_arg(call, 0)
        if params is None:
            return None
        lr = keyword_arg(call, "lr") or positional_arg(call, 1)
        script = setup.script
        lr_code = script.code(lr).strip() if lr is not None else None
        uniform = uniform_params(script, params, site.scope, site.seq, lr_code)
        if uniform is None or not setup.is_pretrained(uniform.model, uniform.scope, uniform.seq):
            return None
        if lr is None:
            rate = f"{last_name(call.func)}'s default lr"
        else:
            rate = f"lr={values.describe(script, lr, site.scope, site.seq)}"
        return Finding(call, f"every layer of the pretrained model trains at {rate}; {_ADVICE}")

    def _trainer(self, context: RuleContext, site: CallSite) -> Finding | None:
        setup, call = context.setup, site.node
        optimizers = keyword_arg(call, "optimizers")
        if optimizers is not None and not _is_none_pair(optimizers):
            return None
        if (
            keyword_arg(call, "peft_config") is not None
        ):  # TRL wraps the model with PEFT: frozen base
            return None
        if setup.overrides_optimizer(setup.hf_trainer_class(site)):
            return None
        model = keyword_arg(call, "model") or positional_arg(call, 0)
        if model is None:
            model = keyword_arg(call, "model_init")
            if model is not None:
                model = cst.Call(func=model)  # what model_init returns
        if model is not None:
            if not setup.is_pretrained(model, site.scope, site.seq):
                return None
        elif not setup.resolver.loads_pretrained:
            return None
        rate = self._training_arguments_lr(context, site)
        return Finding(
            call,
            f"Trainer builds its default optimizer: every layer of the pretrained model trains "
            f"at learning_rate={rate}; {_ADVICE}, and pass the optimizer as "
            "optimizers=(optimizer, None)",
        )

    @staticmethod
    def _training_arguments_lr(context: RuleContext, site: CallSite) -> str:
        script = context.setup.script
        args = keyword_arg(site.node, "args") or positional_arg(site.node, 1)
        scope, seq = site.scope, site.seq
        if isinstance(args, cst.Name):
            bindings = [b for b in scope.bindings.get(args.value, ()) if b.seq < seq]
            if not bindings:
                bindings = list(script.module_scope.bindings.get(args.value, ()))
            args = bindings[-1].value if bindings else None
        if isinstance(args, cst.Call):
            lr = keyword_arg(args, "learning_rate")
            if lr is not None:
                return values.describe(script, lr, scope, seq)
            return _TRAINING_ARGUMENTS_DEFAULT_LR
        return "args.learning_rate"


def _is_none_pair(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Tuple) and all(
        isinstance(element.value, cst.Name) and element.value.value == "None"
        for element in node.elements
    )
