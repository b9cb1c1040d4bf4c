"""The training setup of a script: its optimizers, its trainers, where it trains and whether it
freezes anything. Shared by the rules so that each question is answered once per file."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from lrlint.analysis import catalog
from lrlint.analysis.interpreter import interpret
from lrlint.analysis.origins import Origin, Resolver
from lrlint.analysis.script import CallSite, ClassInfo, Scope, Script
from lrlint.analysis.setup_events import Events
from lrlint.depth import Tier


class TrainingSetup:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.resolver = Resolver(script)

    def is_pretrained(self, expr: cst.BaseExpression, scope: Scope, seq: float) -> bool:
        """Pretrained, or unknown in a file that loads pretrained weights (the model a helper
        receives is, in such a file, the one it loaded)."""
        origin = self.resolver.origin(expr, scope, seq)
        return origin == Origin.PRETRAINED or (
            origin == Origin.UNKNOWN and self.resolver.loads_pretrained
        )

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
        return [site for site in self.script.calls if catalog.is_optimizer(site.qualname)]

    @cached_property
    def hf_trainer_calls(self) -> list[CallSite]:
        return [site for site in self.script.calls if self._is_hf_trainer_class(site)]

    def freezes_model(self, site: cst.Call | None = None) -> bool:
        """Whether lower layers of the model trained at `site` (an optimizer or Trainer call;
        None: any model of the file) are frozen, as far as the script shows. A freeze we
        cannot follow (PEFT, a helper from another module, a branch) counts as one: LR001 and
        LR002 stay quiet rather than guess. Freezing another model (a distillation teacher),
        or only a new head, does not count."""
        if not self.script.freezes:
            return False
        events = self.events
        if not self.freezing_fully_seen or events.opaque_freeze:
            return True
        frozen = events.frozen_at_end
        for optimizer in events.optimizers:
            if site is not None and optimizer.node is site:
                models = {id(p.skeleton) for g in optimizer.groups for p in g.params}
                frozen = frozenset(p for p in optimizer.frozen if id(p.skeleton) in models)
                break
        return any(p.skeleton.depth(p.name).tier != Tier.HEAD for p in frozen)

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
        """The subclass defined in this file that a Trainer call builds, if any."""
        if isinstance(site.node.func, cst.Name):
            return self.script.classes.get(site.node.func.value)
        return None

    def overrides_optimizer(self, info: ClassInfo | None) -> bool:
        while info is not None:
            if catalog.TRAINER_OPTIMIZER_OVERRIDES & info.methods.keys():
                return True
            info = next(
                (self.script.classes[b] for b in info.bases if b in self.script.classes), None
            )
        return False

    def _is_hf_trainer_class(self, site: CallSite) -> bool:
        if site.qualname in catalog.HF_TRAINERS:
            return True
        info = self.hf_trainer_class(site)
        seen: set[str] = set()
        while info is not None and info.name not in seen:
            seen.add(info.name)
            if any(base in catalog.HF_TRAINERS for base in info.bases):
                return True
            info = next(
                (self.script.classes[b] for b in info.bases if b in self.script.classes), None
            )
        return False

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
