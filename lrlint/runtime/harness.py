"""Run a training script up to the moment its optimizer exists, and catch it.

The script runs in this process as `__main__` with its own arguments. The first optimizer built
over a model's parameters is caught together with the module that owns them. The run then goes
on only until the first sign of training: a forward pass of that model, a DataLoader being
iterated, `backward()`, or `optimizer.step()`. A scheduler built in between is stepped once, so
that a flattening scheduler shows. The stop is a BaseException, so a user's `except
Exception:` cannot swallow it. Nothing trains, nothing is written, and no network is used (see
`offline`).
"""

from __future__ import annotations

import contextlib
import io
import runpy
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from lrlint.runtime.offline import MissingConfig, Offline, offline_models
from lrlint.sources import notebook


class RunError(Exception):
    """The script could not be brought to its optimizer; the message is one line."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details  # the traceback, for --verbose


class _Stop(BaseException):
    """Ends the run at the first training step (passes through `except Exception:`)."""


@dataclass
class Capture:
    optimizer: Any = None
    model: Any = None
    raw_groups: list[dict[str, Any]] | None = None  # groups torch refused (overlap)
    scheduler: Any = None
    rates_after_step: list[float] | None = None
    configured_rates: list[float] | None = None  # as built, before any scheduler
    lightning_trainer: Any = None
    notes: list[str] = field(default_factory=list)
    pretrained: bool = False


def run_script(
    script: Path, argv: list[str], offline: Offline, *, simulate_epochs: int = 50
) -> Capture:
    """Run `script` until its optimizer exists; raise RunError when it never gets there. A
    notebook runs its code cells in order, as the static pass reads them (IPython's magics and
    shell lines left out), in one namespace, as a kernel would."""
    joined = _notebook(script) if notebook.is_notebook(script) else None
    capture = Capture()
    stderr = _Tee(sys.stderr)
    old_argv, old_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        with (
            offline_models(offline),
            _patched(capture, offline),
            contextlib.redirect_stderr(stderr),
        ):
            if joined is None:
                runpy.run_path(str(script), run_name="__main__")
            else:
                code = compile(joined.text, str(script), "exec", dont_inherit=True)
                exec(code, {"__name__": "__main__", "__file__": str(script)})
    except _Stop:
        pass
    except MissingConfig as exc:
        raise RunError(str(exc)) from None
    except SystemExit as exc:
        if capture.optimizer is None and capture.raw_groups is None:
            said = stderr.last_line()
            why = f": {said}" if said else ""
            raise RunError(
                f"{script} exited (code {exc.code!r}) before building an optimizer{why}"
            ) from None
    except Exception as exc:
        if capture.optimizer is None and capture.raw_groups is None:
            raise RunError(
                f"{script} raised {type(exc).__name__}: {exc} before building an optimizer"
                f"{_where(exc, script, joined)}",
                traceback.format_exc(),
            ) from None
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
    if capture.optimizer is None and capture.raw_groups is None:
        raise RunError(f"{script} finished without building an optimizer over a model")
    if capture.model is None:
        raise RunError(
            f"{script} built an optimizer, but no module owning its parameters was found"
        )
    capture.notes.extend(offline.notes)
    capture.pretrained = any(_contains(capture.model, loaded) for loaded in offline.loaded)
    _simulate_finetuning_callbacks(capture, simulate_epochs)
    return capture


@contextlib.contextmanager
def _patched(capture: Capture, offline: Offline) -> Iterator[None]:
    import torch
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler
    from torch.utils.data import DataLoader

    original_init = Optimizer.__init__
    original_scheduler_init = LRScheduler.__init__
    original_iter = DataLoader.__iter__
    original_backward = torch.Tensor.backward
    original_apply = torch.nn.Module._apply

    def optimizer_init(self: Any, params: Any, defaults: Any) -> None:
        params = list(params) if not isinstance(params, torch.Tensor) else [params]
        try:
            original_init(self, params, defaults)
        except ValueError as exc:
            if "more than one parameter group" in str(exc) and capture.optimizer is None:
                capture.raw_groups = [
                    {**defaults, **g} if isinstance(g, dict) else {**defaults, "params": [g]}
                    for g in params
                ]
                capture.model = _owner(sys._getframe(1), _tensors_of(capture.raw_groups), offline)
                raise _Stop from None
            raise
        if capture.optimizer is not None:
            return
        frame = sys._getframe(1)
        model = _owner(frame, _tensors_of(self.param_groups), offline)
        if model is None:
            return  # an optimizer over something else (a loss weight, a GAN's second net)
        capture.optimizer, capture.model = self, model
        capture.configured_rates = [float(g["lr"]) for g in self.param_groups]
        capture.lightning_trainer = _find_lightning_trainer(frame)
        self.register_step_pre_hook(_stop_hook)
        model.register_forward_pre_hook(_stop_hook)

    def scheduler_init(self: Any, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        original_scheduler_init(self, optimizer, *args, **kwargs)
        if optimizer is capture.optimizer and capture.scheduler is None:
            capture.scheduler = self
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
                self.step()
            capture.rates_after_step = [float(g["lr"]) for g in optimizer.param_groups]

    def dataloader_iter(self: Any) -> Any:
        if capture.optimizer is not None:
            raise _Stop
        return original_iter(self)

    def backward(self: Any, *args: Any, **kwargs: Any) -> Any:
        if capture.optimizer is not None:
            raise _Stop
        return original_backward(self, *args, **kwargs)

    def apply(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # `.to(device)`, `.cuda()`, `.half()` cannot move weights that do not exist
        if any(p.is_meta for p in self.parameters()):
            return self
        return original_apply(self, fn, *args, **kwargs)

    Optimizer.__init__ = optimizer_init  # type: ignore[method-assign]
    LRScheduler.__init__ = scheduler_init  # type: ignore[method-assign]
    DataLoader.__iter__ = dataloader_iter  # type: ignore[method-assign]
    torch.Tensor.backward = backward  # type: ignore[method-assign]
    torch.nn.Module._apply = apply  # type: ignore[method-assign]
    try:
        yield
    finally:
        Optimizer.__init__ = original_init  # type: ignore[method-assign]
        LRScheduler.__init__ = original_scheduler_init  # type: ignore[method-assign]
        DataLoader.__iter__ = original_iter  # type: ignore[method-assign]
        torch.Tensor.backward = original_backward  # type: ignore[method-assign]
        torch.nn.Module._apply = original_apply  # type: ignore[method-assign]


def _stop_hook(*args: Any, **kwargs: Any) -> None:
    raise _Stop


def _tensors_of(groups: list[dict[str, Any]]) -> set[int]:
    found = set()
    for group in groups:
        params = group["params"]
        for tensor in params if isinstance(params, (list, tuple)) else list(params):
            found.add(id(tensor))
    return found


def _owner(frame: FrameType | None, tensors: set[int], offline: Offline) -> Any:
    """The module that owns the optimizer's parameters: among the modules in the calling
    frames (and one attribute down, `trainer.model`, `self.model`), the one holding most of
    them, the largest on a tie (the whole model, not a part of it)."""
    import torch

    seen: dict[int, Any] = {id(m): m for m in offline.loaded}
    depth = 0
    while frame is not None and depth < 40:
        for value in [*frame.f_locals.values(), *frame.f_globals.values()]:
            for candidate in (value, *_attributes(value)):
                if isinstance(candidate, torch.nn.Module):
                    seen[id(candidate)] = candidate
        frame, depth = frame.f_back, depth + 1
    best, best_key = None, (0, 0)
    for module in seen.values():
        params = [id(p) for p in module.parameters()]
        key = (len(tensors.intersection(params)), len(params))
        if key[0] and key > best_key:
            best, best_key = module, key
    return best


def _attributes(value: Any) -> list[Any]:
    found = []
    for name in ("model", "module", "model_wrapped", "lightning_module"):
        with contextlib.suppress(Exception):
            attribute = getattr(value, name, None)
            if attribute is not None:
                found.append(attribute)
    return found


def _find_lightning_trainer(frame: FrameType | None) -> Any:
    depth = 0
    while frame is not None and depth < 40:
        for value in frame.f_locals.values():
            if (
                type(value).__name__ == "Trainer"
                and hasattr(value, "callbacks")
                and hasattr(value, "lightning_module")
            ):
                return value
        frame, depth = frame.f_back, depth + 1
    return None


def _simulate_finetuning_callbacks(capture: Capture, epochs: int) -> None:
    """Lightning's finetuning callbacks add groups at later epochs: replay their schedule on the
    caught optimizer (freezing and add_param_group only, no training), so those groups are
    checked too."""
    trainer = capture.lightning_trainer
    if trainer is None or capture.optimizer is None:
        return
    try:
        from lightning.pytorch.callbacks import BaseFinetuning
    except ImportError:
        return
    import torch

    callbacks = [c for c in trainer.callbacks if isinstance(c, BaseFinetuning)]
    max_epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else epochs
    last = min(epochs, max_epochs)
    equal = torch.equal

    def same_tensor(a: Any, b: Any) -> bool:
        # Lightning asks "is this parameter already in the optimizer" with torch.equal; meta
        # tensors have no values to compare, and identity is the question meant
        return a is b if a.is_meta or b.is_meta else equal(a, b)

    torch.equal = same_tensor
    try:
        for callback in callbacks:
            for epoch in range(last):
                callback.finetune_function(capture.model, epoch, capture.optimizer)
            capture.notes.append(
                f"{type(callback).__name__}: its schedule was replayed for {last} epochs"
            )
    finally:
        torch.equal = equal


def _contains(model: Any, part: Any) -> bool:
    return model is part or any(module is part for module in model.modules())


def _notebook(script: Path) -> notebook.Joined:
    try:
        joined = notebook.join(notebook.read(script))
    except (OSError, notebook.NotebookError) as exc:
        raise RunError(f"{script}: {exc}") from None
    if joined.broken:
        cell, error = joined.broken[0]
        raise RunError(f"{script}: cell {cell.number} does not parse: {error.msg}")
    return joined


def _where(exc: BaseException, script: Path, joined: notebook.Joined | None = None) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == script]
    if not frames or frames[-1].lineno is None:
        return ""
    if joined is None:
        return f" (line {frames[-1].lineno})"
    cell, line = joined.place(frames[-1].lineno)
    return f" (cell {cell}, line {line})"


class _Tee(io.TextIOBase):
    """Passes stderr through and remembers its last line (argparse's error)."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.text = ""

    def write(self, text: str) -> int:
        self.text = (self.text + text)[-4000:]
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def last_line(self) -> str:
        lines = [line for line in self.text.splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""
