"""The function `lrlint fix` writes into a user's file when the file does not fix the model.

`param_groups_by_depth` is plain torch: it finds depth from the model's structure (no table
of architectures), so it serves whatever model the script is given at run time. Its source
text, from `def` to the end of the file, is copied verbatim into fixed files (`source()`),
and the same function is imported here, so lrlint's tests run exactly what users get and
compare it with the model of depth in `lrlint.depth.model`.

Keep every line under 80 characters and the body free of anything but torch and the
standard library: the text must fit any file's line length and run anywhere.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

__all__ = ["FUNCTION_NAME", "param_groups_by_depth", "source"]

FUNCTION_NAME = "param_groups_by_depth"


@functools.cache
def source(name: str = FUNCTION_NAME, indent: str = "    ") -> str:
    """The function's text as written into files: renamed, re-indented (tabs, 2 spaces)."""
    text = Path(__file__).read_text(encoding="utf-8")
    body = text[text.index(f"def {FUNCTION_NAME}(") :].rstrip() + "\n"
    body = body.replace(f"def {FUNCTION_NAME}(", f"def {name}(", 1)
    if indent != "    ":
        body = re.sub(
            r"^((?:    )+)",
            lambda m: indent * (len(m.group(1)) // 4),
            body,
            flags=re.M,
        )
    return body


# The written function, from here to the end of the file: formatted for 79 columns.
# fmt: off


def param_groups_by_depth(
    model,
    lr=None,
    params=None,
    weight_decay=None,
    decay=None,
    freeze=None,
    epoch=None,
    optimizer=None,
):
    """Parameter groups whose learning rate rises with depth (by `lrlint fix`).

    Depth comes from the model's structure, for any architecture: the blocks
    are the children of its outermost lists of blocks (`encoder.layer`, `h`,
    `layers`, both T5 stacks, `layer1`..`layer4`), counted on across lists.
    The backbone's parts before the blocks and its embeddings come first, its
    parts after them (pooler, final norm) above the blocks, new heads last.
    Rates: embeddings lr/20, lower half of the blocks lr/4, upper half and
    pooler lr/2, heads lr; with `decay`, block i of L at lr * decay**(L - i).
    `params`: the optimizer's own groups, each cut by depth, other keys kept.
    `weight_decay`: decay the weights, not the biases and norms (ndim < 2).
    `freeze`: freeze the embeddings and that many bottom blocks (a float: that
    share of them). `epoch`: gradual unfreezing, heads first, two epochs a
    stage, all of it in the optimizer from the start. With `optimizer` (a
    model wrapped by DDP, which syncs only what trained when it wrapped it),
    nothing is frozen: the held stages step at lr 0 on zeroed gradients.
    """
    if optimizer is not None:  # hold the lower stages out of each step

        def hold(opt, *_):  # a held group steps at lr 0: it does not move
            for group in opt.param_groups:
                if group.get("held"):
                    group["lr"], group["lr_held"] = 0.0, group["lr"]
                    for p in group["params"]:  # nor do its moments, mostly
                        if p.grad is not None:  # (a closure makes them later)
                            p.grad.zero_()

        def release(opt, *_):  # the scheduler's rate back
            for group in opt.param_groups:
                if "lr_held" in group:
                    group["lr"] = group.pop("lr_held")

        many = isinstance(optimizer, (list, tuple))
        for opt in optimizer if many else [optimizer]:
            while hasattr(opt, "optimizer"):  # accelerate, fabric, Lightning
                opt = opt.optimizer
            for group in opt.param_groups:
                group["held"] = epoch < 2 * group.get("stage", 0)
            if not hasattr(opt, "held_by_depth"):
                opt.held_by_depth = opt.register_step_pre_hook(hold)
                opt.register_step_post_hook(release)
        return None

    import re
    import warnings

    from torch import nn

    modules = dict(model.named_modules(remove_duplicate=False))
    plain = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

    def under(name, path):
        return path == "" or name == path or name.startswith(path + ".")

    def has_params(module):
        return next(module.parameters(), None) is not None

    def is_block(module):
        has_children = any(True for _ in module.children())
        return has_children and type(module) not in plain

    def has_embedding(module):
        if any(isinstance(m, nn.Embedding) for m in module.modules()):
            return True
        names = [n.rpartition(".")[2] for n, _ in module.named_parameters()]
        return any("embed" in n.lower() for n in names)

    # blocks: children of the outermost lists of blocks, or layer1, layer2, ...
    blocks, lists, stages, count = {}, [], [], 0
    for path, module in modules.items():
        if any(under(path, b) for b in blocks):
            continue
        children = [
            (n, m) for n, m in module.named_children() if has_params(m)
        ]
        found = []
        listed = isinstance(module, (nn.ModuleList, nn.Sequential))
        numbered = all(n.isdigit() and is_block(m) for n, m in children)
        if listed and children and numbered:
            found = [(int(n), n) for n, m in children]
            lists.append(path)
            size = len(module)
        if not found:
            stems = {}
            for n, m in children:
                match = re.fullmatch(r"(\D+?)_?(\d+)", n)
                nested = next(m.children(), None) is not None
                if match and nested and not has_embedding(m):
                    stems.setdefault(match[1], []).append((int(match[2]), n))
            named = sorted(max(stems.values(), key=len, default=[]))
            found = [
                (k, n) for k, (_, n) in enumerate(named) if len(named) > 1
            ]
            size = len(found)
        if found and path not in lists:
            stages.append(path)  # the module of layer1, layer2, ...
        for index, n in found:
            blocks[path + "." + n if path else n] = count + index
        count += size if found else 0

    every = list(model.named_parameters(remove_duplicate=False))
    depths = {}
    if not blocks:
        warnings.warn("no list of blocks: one rate for all", stacklevel=2)
    else:
        inside = [
            i
            for i, (n, _) in enumerate(every)
            if any(under(n, b) for b in blocks)
        ]
        first, below = inside[0], 0

        def holds_input(path):  # parameters before the blocks: embeddings
            module = modules[path]
            early = any(under(n, path) for n, _ in every[:first])
            pretrained = hasattr(module, "base_model_prefix")
            return early and (has_embedding(module) or pretrained)

        # the backbone: the lowest module above the blocks that holds the input
        root = next(iter(blocks))
        for b in blocks:
            while not under(b, root):
                root = root.rpartition(".")[0]
        while root in blocks or root in lists:
            root = root.rpartition(".")[0]
        while root and root not in stages and not holds_input(root):
            root = root.rpartition(".")[0]
        cut = len(root) + 1 if root else 0
        previous = {}  # the sibling with parameters registered just before
        for path, module in modules.items():
            last = None
            for n, m in module.named_children():
                previous[path + "." + n if path else n] = last
                last = n if has_params(m) else last
        for i, (name, p) in enumerate(every):
            owner = name.rpartition(".")[0]
            block = next((b for b in blocks if under(name, b)), None)
            part = name[cut:].split(".")[0]
            if not under(name, root):  # beside the backbone: heads, a pooler
                part = name.split(".")[root.count(".")]
            child = root + "." + part if root else part
            kind = type(modules.get(child)).__name__
            after = previous.get(owner) or ""
            norm = "Norm" in type(modules[owner]).__name__
            embedding_norm = norm and "embed" in after.lower()
            between = first < i < inside[-1]
            if block is not None:
                d = below = 1 + blocks[block]  # blocks: 1..count
            elif between and not any(under(b, child) for b in blocks):
                d = below  # between two lists: with the block below
            elif not under(name, root):
                d = count + 1 if "pool" in part.lower() else count + 2
            elif i < first or "embed" in name.lower() or embedding_norm:
                d = 0  # embeddings
            elif (
                root
                or any(under(b, child) for b in blocks)
                or re.search(r"norm|pool|^ln", part, re.I)
                or re.search(r"Norm|Pool", kind)
            ):
                d = count + 1  # pooler, final norm
            else:
                d = count + 2  # new heads
            depths[id(p)] = min(d, depths.get(id(p), d))

    groups = list(model.parameters() if params is None else params)
    if groups and not isinstance(groups[0], dict):
        groups = [{"params": groups}]
    frozen = int(count * freeze) if isinstance(freeze, float) else freeze
    out = {}
    for g, group in enumerate(groups):
        tensors = group["params"]
        for p in [tensors] if hasattr(tensors, "ndim") else tensors:
            d = depths.get(id(p), count + 2)
            upper = d > count // 2
            stage = 0 if d > count else 1 if upper else 2  # thawed in order
            if frozen is not None or epoch is not None:  # freeze, or thaw
                on = d > frozen if epoch is None else epoch >= 2 * stage
                p.requires_grad_(on)
                if not on and epoch is None:
                    continue  # frozen for good: out of the optimizer
            if decay is not None:
                scale = decay ** max(0, count + 1 - d)
            else:
                scale = 1 if d > count + 1 else 1 / 2 if upper else 1 / 4
                scale = 1 / 20 if d == 0 else scale
            no_decay = weight_decay is not None and p.ndim < 2
            key = (d, g, no_decay)
            if key not in out:
                base = group.get("lr", lr)
                out[key] = {k: v for k, v in group.items() if k != "params"}
                out[key]["params"], out[key]["depth"] = [], d
                out[key]["stage"] = stage
                if base is not None:
                    out[key]["lr"] = base * scale
                if weight_decay is not None and "weight_decay" not in group:
                    out[key]["weight_decay"] = (
                        0.0 if no_decay else weight_decay
                    )
            out[key]["params"].append(p)
    return [out[key] for key in sorted(out)]
