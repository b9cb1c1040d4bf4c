"""Property-based tests: generated optimizer setups (import aliases, parameter forms, group
lists, layer slices, freezing, schedulers) never crash `check`, and `fix` always writes code
that parses, is idempotent and leaves every parameter covered."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrlint.engine import CheckOptions, check_source
from lrlint.fix.fixer import FixOptions, fix_source
from lrlint.registry import BY_CODE

IMPORTS = {
    "torch": ("import torch", "torch.optim.AdamW", "torch.optim.lr_scheduler"),
    "module alias": (
        "import torch\nimport torch.optim as optim",
        "optim.AdamW",
        "optim.lr_scheduler",
    ),
    "class alias": (
        "import torch\nfrom torch.optim import AdamW as AW",
        "AW",
        "torch.optim.lr_scheduler",
    ),
}
MODELS = {
    "bert": (
        "from transformers import BertForSequenceClassification\n"
        'model = BertForSequenceClassification.from_pretrained("bert-base-uncased")',
        "model.bert.embeddings",
        "model.bert.encoder.layer",
        ["model.bert.pooler", "model.classifier"],
    ),
    "roberta": (
        "from transformers import AutoModelForSequenceClassification\n"
        'model = AutoModelForSequenceClassification.from_pretrained("roberta-base")',
        "model.roberta.embeddings",
        "model.roberta.encoder.layer",
        ["model.classifier"],
    ),
    "distilbert": (
        "from transformers import AutoModelForSequenceClassification\n"
        'model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")',
        "model.distilbert.embeddings",
        "model.distilbert.transformer.layer",
        ["model.pre_classifier", "model.classifier"],
    ),
}
RATES = st.sampled_from(["1e-6", "5e-6", "1e-5", "2e-5", "3e-5", "lr", "lr / 2", "lr * 0.9 ** 3"])


@st.composite
def params_form(draw: st.DrawFn, emb: str, stack: str, heads: list[str]) -> str:
    kind = draw(st.sampled_from(["parameters", "filter", "listcomp", "no_decay", "groups"]))
    if kind == "parameters":
        return "model.parameters()"
    if kind == "filter":
        return "filter(lambda p: p.requires_grad, model.parameters())"
    if kind == "listcomp":
        return "[p for n, p in model.named_parameters() if p.requires_grad]"
    if kind == "no_decay":
        return (
            "[\n"
            '    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},\n'
            '    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},\n'
            "]"
        )
    cut = draw(st.integers(min_value=-12, max_value=14))
    modules = [emb, f"{stack}[:{cut}]", f"{stack}[{cut}:]", *heads]
    chosen = draw(st.lists(st.sampled_from(modules), min_size=1, max_size=6))
    groups = [f'    {{"params": {m}.parameters(), "lr": {draw(RATES)}}},' for m in chosen]
    return "[\n" + "\n".join(groups) + "\n]"


@st.composite
def scripts(draw: st.DrawFn) -> str:
    header, optimizer, schedulers = IMPORTS[draw(st.sampled_from(sorted(IMPORTS)))]
    model_code, emb, stack, heads = MODELS[draw(st.sampled_from(sorted(MODELS)))]
    lines = [header, model_code, "lr = 2e-5", 'no_decay = ["bias", "LayerNorm.weight"]']
    freeze = draw(st.sampled_from(["", "emb", "slice"]))
    if freeze == "emb":
        lines.append(f"{emb}.requires_grad_(False)")
    elif freeze == "slice":
        lines.append(f"for p in {stack}[:{draw(st.integers(0, 12))}].parameters():")
        lines.append("    p.requires_grad = False")
    params = draw(params_form(emb, stack, heads))
    lines.append(f"optimizer = {optimizer}({params}, lr=lr, weight_decay=0.01)")
    scheduler = draw(st.sampled_from(["", "onecycle", "onecycle-list", "lambda", "loop"]))
    if scheduler == "onecycle":
        lines.append(f"sched = {schedulers}.OneCycleLR(optimizer, max_lr=1e-4, total_steps=10)")
    elif scheduler == "onecycle-list":
        lines.append(
            f"sched = {schedulers}.OneCycleLR(optimizer, "
            "max_lr=[g['lr'] * 10 for g in optimizer.param_groups], total_steps=10)"
        )
    elif scheduler == "lambda":
        lines.append(f"sched = {schedulers}.LambdaLR(optimizer, lambda step: 1.0)")
    elif scheduler == "loop":
        lines.append("for g in optimizer.param_groups:\n    g['lr'] = 3e-5")
    return "\n".join(lines) + "\n"


ALL = CheckOptions(frozenset(BY_CODE))
COVERAGE = CheckOptions(frozenset({"LR004", "LR005"}))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts())
def test_check_never_crashes(script: str) -> None:
    for diagnostic in check_source(script, "generated.py", ALL):
        assert diagnostic.code in BY_CODE and diagnostic.line >= 1


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts(), st.sampled_from(["discriminative", "freeze", "gradual", "decay"]))
def test_fix_parses_is_idempotent_and_covers_every_parameter(script: str, strategy: str) -> None:
    options = FixOptions(decay=0.9) if strategy == "decay" else FixOptions(strategy)
    first = fix_source(script, options)
    compile(first.text, "fixed.py", "exec")  # parses
    second = fix_source(first.text, options)
    assert second.text == first.text and not second.fixed  # idempotent
    if first.fixed:
        before = Counter(d.code for d in check_source(script, "a.py", COVERAGE))
        after = Counter(d.code for d in check_source(first.text, "b.py", COVERAGE))
        for code in ("LR004", "LR005"):  # nothing left out, nothing twice
            assert after[code] <= before[code]
    else:
        assert first.text == script  # refused: untouched
