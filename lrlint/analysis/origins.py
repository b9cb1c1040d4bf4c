"""Where a model comes from: pretrained weights, built from scratch, or not a model at all.

`Resolver.origin(expr, scope, seq)` follows an expression through assignments (the binding that
reaches `seq`), tuple unpacking, wrappers such as `accelerator.prepare`, helper functions and
their call sites, and classes defined in the script (what their `__init__` assigns to `self`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from lrlint.analysis import catalog
from lrlint.analysis.names import dotted, keyword_arg, last_name, positional_arg
from lrlint.analysis.script import Binding, CallSite, ClassInfo, Scope, Script


class Origin(enum.IntEnum):
    """Ordered so that the union of several possibilities is their max."""

    NOT_MODEL = 0
    SCRATCH = 1
    UNKNOWN = 2
    PRETRAINED = 3


_ENDLESS = math.inf


@dataclass(frozen=True)
class Resolution:
    """An origin and, when known, what built the model: the loading or constructing call, or the
    script's own class (for an instance of it)."""

    origin: Origin
    source: cst.Call | ClassInfo | None = None


UNKNOWN = Resolution(Origin.UNKNOWN)


def _best(resolutions: list[Resolution]) -> Resolution:
    return max(resolutions, key=lambda r: r.origin) if resolutions else UNKNOWN


def _is_literal_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value in {"None", "False"}


class Resolver:
    def __init__(self, script: Script, reach: bool = False) -> None:
        self.script = script  # the checked file; the scopes it meets may be in other modules
        # whether names imported from the project's other modules are followed into them: only
        # for the decisive question (what a model at an optimizer or Trainer is), since each
        # module followed costs a parse
        self.reach = reach and script.project is not None
        self._active: set[tuple[int, int, int | None]] = set()  # recursion guard
        self._classes: dict[int, Resolution] = {}
        self._params: dict[tuple[int, str], Resolution] = {}

    # ---- the public questions -----------------------------------------------------------------
    def origin(
        self, expr: cst.BaseExpression, scope: Scope, seq: float, unpack: int | None = None
    ) -> Origin:
        return self.resolve(expr, scope, seq, unpack).origin

    def resolve(
        self, expr: cst.BaseExpression, scope: Scope, seq: float, unpack: int | None = None
    ) -> Resolution:
        """The origin of `expr` as evaluated at `seq` in `scope`, and what built it."""
        key = (id(expr), id(scope), unpack)
        if key in self._active:
            return UNKNOWN
        self._active.add(key)
        try:
            return self._resolve(expr, scope, seq, unpack)
        finally:
            self._active.discard(key)

    @property
    def loads_pretrained(self) -> bool:
        """Whether the file loads pretrained weights anywhere: the fallback for unknown models."""
        return bool(self.pretrained_loads)

    @cached_property
    def pretrained_loads(self) -> list[CallSite]:
        """The calls that load pretrained weights (not `torch.load` of a state dict)."""
        return [site for site in self.script.calls if self._loads_weights(site)]

    # ---- expressions --------------------------------------------------------------------------
    def _resolve(
        self, expr: cst.BaseExpression, scope: Scope, seq: float, unpack: int | None
    ) -> Resolution:
        if isinstance(expr, cst.Name):
            return self._name(expr.value, scope, seq)
        if isinstance(expr, cst.Attribute):
            if dotted(expr.value) == "self" and scope.owner is not None:
                return self.self_attr(scope.owner, expr.attr.value)
            return self.resolve(expr.value, scope, seq)
        if isinstance(expr, cst.Call):
            return self._call(expr, scope, seq, unpack)
        item = _integer_index(expr)
        if item is not None and unpack is None:  # `load(...)[0]`: the first of what it returns
            assert isinstance(expr, cst.Subscript)
            return self.resolve(expr.value, scope, seq, item)
        if (
            isinstance(expr, (cst.Tuple, cst.List))
            and unpack is not None
            and unpack < len(expr.elements)
        ):
            return self.resolve(expr.elements[unpack].value, scope, seq)
        return UNKNOWN

    def _name(self, name: str, scope: Scope, seq: float) -> Resolution:
        if name == "self" and scope.owner is not None:
            return self.instance(scope.owner)
        current: Scope | None = scope
        bound_seq = seq
        while current is not None:
            binding = current.reaching(name, bound_seq)
            while binding is not None and _skipped_transform(
                current.script or self.script, binding, name
            ):
                binding = current.reaching(name, binding.seq)
            if binding is not None:
                found = self._binding(binding, current)
                for other in current.alternatives(name, binding, bound_seq):
                    # another branch of an `if` binds it too: the union is the likelier origin
                    alternative = self._binding(other, current)
                    found = alternative if alternative.origin > found.origin else found
                if found.origin < Origin.PRETRAINED and self._state_dict_loaded(name, current, seq):
                    return Resolution(Origin.PRETRAINED, found.source)
                return found
            if current.kind == "function" and name in current.params:
                return self._param(current, name)
            # Names free in a function come from the enclosing scopes, whatever their order.
            current = current.parent
            while current is not None and current.kind == "class":
                current = current.parent
            bound_seq = _ENDLESS
        return self._imported(name, scope)

    def _imported(self, name: str, scope: Scope) -> Resolution:
        """A name bound by no assignment: a value another module of the project defines."""
        if not self.reach:
            return UNKNOWN
        script = scope.script or self.script
        found = script.imported(name)
        if found is not None and found.kind == "value" and found.expr is not None:
            assert found.scope is not None
            return self.resolve(found.expr, found.scope, found.seq)
        return UNKNOWN

    def _binding(self, binding: Binding, scope: Scope) -> Resolution:
        if binding.value is None:  # a def, a class, a loop variable: nothing we evaluate
            return UNKNOWN
        return self.resolve(binding.value, scope, binding.seq, binding.unpack)

    def _state_dict_loaded(self, name: str, scope: Scope, seq: float) -> bool:
        script = scope.script or self.script
        return any(
            receiver == name and load_seq < seq
            for receiver, load_scope, load_seq in script.state_dict_loads
            if load_scope is scope or seq == _ENDLESS
        )

    def _param(self, function: Scope, name: str) -> Resolution:
        """A parameter is whatever the call sites pass for it: in its own module, and, for the
        decisive question (`reach`), in the scripts beside it (`Project.callers`)."""
        key = (id(function), name)
        if key not in self._params:
            self._params[key] = UNKNOWN  # a parameter that reaches itself: unknown
            self._params[key] = self._param_sites(function, name)
        return self._params[key]

    def _param_sites(self, function: Scope, name: str) -> Resolution:
        script = function.script or self.script
        passed = script.passed_for(function, name, reach=self.reach)
        return _best([self.resolve(arg, site.scope, site.seq) for arg, site in passed])

    # ---- classes ------------------------------------------------------------------------------
    def instance(self, info: ClassInfo) -> Resolution:
        """An instance of a class in this file: pretrained if a method assigns a pretrained model
        to `self`, a scratch model if it is an nn.Module, else not a model."""
        cached = self._classes.get(id(info))
        if cached is not None:
            return cached
        self._classes[id(info)] = UNKNOWN  # cycle guard
        origin = Origin.SCRATCH if self.is_module_class(info) else Origin.NOT_MODEL
        if any(self.self_attr(info, attr).origin == Origin.PRETRAINED for attr in info.self_attrs):
            origin = Origin.PRETRAINED
        for base_info in self._bases(info):
            origin = max(origin, self.instance(base_info).origin)
        self._classes[id(info)] = Resolution(origin, info)
        return self._classes[id(info)]

    def _bases(self, info: ClassInfo) -> list[ClassInfo]:
        script = info.scope.script or self.script
        if self.reach:
            return script.bases_of(info)
        return [script.classes[b] for b in info.bases if script.classes.get(b) not in (None, info)]

    def is_module_class(self, info: ClassInfo, depth: int = 0) -> bool:
        if any(
            catalog.is_torch_module_base(base) or base.split(".")[-1] == "Module"
            for base in info.bases
        ):
            return True
        return depth < 8 and any(self.is_module_class(b, depth + 1) for b in self._bases(info))

    def self_attr(self, info: ClassInfo, attr: str) -> Resolution:
        """What `self.<attr>` holds in instances of a class of this script."""
        assigned = info.self_attrs.get(attr)
        if not assigned:
            for base_info in self._bases(info):
                return self.self_attr(base_info, attr)
            return UNKNOWN
        found = _best([self.resolve(value, scope, seq) for value, scope, seq in assigned])
        script = info.scope.script or self.script
        if found.origin < Origin.PRETRAINED and any(
            receiver == f"self.{attr}" and load_scope.owner is info
            for receiver, load_scope, _ in script.state_dict_loads
        ):
            return Resolution(Origin.PRETRAINED, found.source)
        return found

    # ---- calls --------------------------------------------------------------------------------
    def _call(self, call: cst.Call, scope: Scope, seq: float, unpack: int | None) -> Resolution:
        func = call.func
        name = last_name(func)
        script = scope.script or self.script
        qualname = script.imports.qualify(func)
        receiver = func.value if isinstance(func, cst.Attribute) else None

        weights = self._weights_origin(call, name, qualname, receiver)
        if weights is not None:
            return Resolution(weights, call)
        if receiver is not None and name in catalog.MODEL_PASSTHROUGH_METHODS:
            return self.resolve(receiver, scope, seq)
        if name in catalog.MODEL_WRAPPER_CALLS:
            wrapped = positional_arg(call, unpack) if unpack is not None else None
            wrapped = wrapped or keyword_arg(call, "model") or positional_arg(call, 0)
            return self.resolve(wrapped, scope, seq) if wrapped is not None else UNKNOWN
        if receiver is not None and dotted(receiver) == "self" and scope.owner and name:
            method = self._method(scope.owner, name)  # `self._model = self._setup_model(cfg)`
            if method is not None:
                return self._returns(method, unpack)
        if isinstance(func, cst.Name) and qualname is None:
            info = script.classes.get(func.value)
            if info is not None:
                return self._constructed(info, call, scope, seq)
            functions = [f for f in script.functions.get(func.value, ()) if f.owner is None]
            if functions:
                return self._returns(functions[-1], unpack)
        found = script.symbol(qualname) if qualname is not None and self.reach else None
        if found is not None:  # a class or a function of another module of the project
            if found.info is not None:
                return self._constructed(found.info, call, scope, seq)
            if found.function is not None:
                return self._returns(found.function, unpack)
        if qualname is not None and name and name[0].isupper():
            # an imported class called fresh (`BertModel(config)`, `Generator()`): new weights;
            # a function from another module (`load_model(...)`) stays unknown
            return Resolution(Origin.SCRATCH, call)
        return UNKNOWN

    def _constructed(self, info: ClassInfo, call: cst.Call, scope: Scope, seq: float) -> Resolution:
        """An instance built by `call`; a module that keeps a pretrained module the call hands
        it (`NRMS(news_encoder=encoder)`, its `self.news_encoder = news_encoder`) is pretrained,
        wherever its class is defined."""
        made = self.instance(info)
        init = info.methods.get("__init__")
        if made.origin == Origin.PRETRAINED or init is None or not self.is_module_class(info):
            return made
        kept = {
            value.value
            for values in info.self_attrs.values()
            for value, _, _ in values
            if isinstance(value, cst.Name)
        }
        for index, name in enumerate(init.params[1:]):
            passed = keyword_arg(call, name) or positional_arg(call, index)
            if (
                name in kept
                and passed is not None
                and self.resolve(passed, scope, seq).origin == Origin.PRETRAINED
            ):
                return Resolution(Origin.PRETRAINED, made.source)
        return made

    def _method(self, info: ClassInfo, name: str, depth: int = 0) -> Scope | None:
        """The method `name` of a class or, failing that, of its bases."""
        script = info.scope.script or self.script
        for function in script.functions.get(name, ()):
            if function.owner is info:
                return function
        for base_info in self._bases(info) if depth < 8 else ():
            found = self._method(base_info, name, depth + 1)
            if found is not None:
                return found
        return None

    def _returns(self, function: Scope, unpack: int | None) -> Resolution:
        return _best(
            [self.resolve(value, function, _ENDLESS, unpack) for value in function.returns]
        )

    def _weights_origin(
        self,
        call: cst.Call,
        name: str | None,
        qualname: str | None,
        receiver: cst.BaseExpression | None,
    ) -> Origin | None:
        """The origin when this call itself loads or builds a model, else None."""
        if name == "from_pretrained" and receiver is not None:
            if catalog.from_pretrained_loads_model(dotted(receiver)):
                return Origin.PRETRAINED
            return Origin.NOT_MODEL
        if name in {"from_config", "_from_config", "from_dict"}:
            return Origin.SCRATCH
        if isinstance(call.func, cst.Subscript) and (
            (self.script.imports.qualify(call.func.value) or "").endswith(".sam_model_registry")
        ):
            # segment-anything's `sam_model_registry["vit_b"](checkpoint=path)` loads SAM's
            # weights; without a checkpoint it builds SAM from scratch
            checkpoint = keyword_arg(call, "checkpoint") or positional_arg(call, 0)
            if checkpoint is None or _is_literal_none(checkpoint):
                return Origin.SCRATCH
            return Origin.PRETRAINED
        if qualname is None:
            return None
        if qualname in {"timm.create_model", "timm.models.create_model"}:
            flag = keyword_arg(call, "pretrained")
            if flag is None:
                flag = positional_arg(call, 1)
            return Origin.SCRATCH if flag is None or _is_literal_none(flag) else Origin.PRETRAINED
        if qualname.startswith("torchvision.models.") and name and name[0].islower():
            weights = keyword_arg(call, "weights")
            flag = keyword_arg(call, "pretrained")
            if (weights is not None and not _is_literal_none(weights)) or (
                flag is not None and not _is_literal_none(flag)
            ):
                return Origin.PRETRAINED
            return Origin.SCRATCH
        if qualname == "sentence_transformers.SentenceTransformer" and (
            keyword_arg(call, "modules") is not None
            or isinstance(positional_arg(call, 0), cst.List)
        ):
            return None  # assembled from modules the script builds, not loaded from the hub
        if qualname in {
            "torch.load",
            "torch.hub.load",
            "sentence_transformers.SentenceTransformer",
            "sentence_transformers.CrossEncoder",
            "sentence_transformers.cross_encoder.CrossEncoder",
            "open_clip.create_model_and_transforms",
        }:
            return Origin.PRETRAINED
        if qualname.startswith("segmentation_models_pytorch.") and name and name[0].isupper():
            # smp's architectures load an ImageNet encoder unless `encoder_weights=None`
            weights = keyword_arg(call, "encoder_weights")
            if weights is None:
                weights = positional_arg(call, 2)  # (encoder_name, encoder_depth, encoder_weights)
            return (
                Origin.SCRATCH
                if weights is not None and _is_literal_none(weights)
                else (Origin.PRETRAINED)
            )
        return None

    def _loads_weights(self, site: CallSite) -> bool:
        node = site.node
        name = last_name(node.func)
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        origin = self._weights_origin(node, name, site.qualname, receiver)
        return origin == Origin.PRETRAINED and site.qualname != "torch.load"


def _skipped_transform(script: Script, binding: Binding, name: str) -> bool:
    """`model = get_peft_model(model, ...)` behind a flag that is off by default: as the script
    runs by default, the name keeps the model it had."""
    value = binding.value
    return (
        isinstance(value, cst.Call)
        and any(dotted(arg.value) == name for arg in value.args)
        and script.dead(value)
    )


def _integer_index(expr: cst.BaseExpression) -> int | None:
    """`x[0]`: the integer a subscript takes, if it takes one literal non-negative integer."""
    if not isinstance(expr, cst.Subscript) or len(expr.slice) != 1:
        return None
    index = expr.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer):
        value = index.value.evaluated_value
        return value if isinstance(value, int) else None
    return None
