"""The prefilter may let too much through, never too little: every way of building an optimizer
or a trainer that the rules understand passes it, and findings are the same with and without it."""

from __future__ import annotations

import textwrap

import pytest

from lrlint import engine
from lrlint.engine import CheckOptions, check_source
from lrlint.prefilter import may_have_findings
from tests import (
    test_group_rules,
    test_lr001_uniform_lr,
    test_lr002_missing_freeze,
    test_lr009_no_validation,
)
from tests.conftest import ALL_CODES, FIXTURES

PASSES = {
    "aliased class": "from torch.optim import AdamW as AW\nopt = AW(params)\n",
    "aliased module": "import torch.optim as O\nopt = O.SGD(params, lr=0.1)\n",
    "from torch import optim": "from torch import optim\nopt = optim.Foo(params)\n",
    "an unknown torch.optim member": "import torch\nopt = torch.optim.NewOptimizer(p)\n",
    "bitsandbytes": "import bitsandbytes as bnb\nopt = bnb.optim.PagedAdamW8bit(p)\n",
    "timm.optim": "from timm.optim import Lookahead\nopt = Lookahead(base)\n",
    "torch_optimizer": "import torch_optimizer as topt\nopt = topt.Ranger(p)\n",
    "a trainer subclass": "from transformers import Trainer\nclass T(Trainer):\n    pass\nT(m)\n",
    "an aliased trainer": "from transformers import Trainer as HFTrainer\nHFTrainer(m)\n",
    "lightning": "import lightning as L\nL.Trainer(max_epochs=1).fit(m)\n",
    "spaces before the paren": "from torch.optim import AdamW\nopt = AdamW (model.parameters())\n",
}
REJECTED = {
    "numpy": "import numpy as np\nprint(np.zeros(3))\n",
    "a word that only contains a stem": "adamant = 'SGDs are fine'\n",
    "optimize, not optim": "from scipy.optimize import minimize\nminimize(f, x0)\n",
}


@pytest.mark.parametrize("code", PASSES.values(), ids=PASSES.keys())
def test_passes(code: str) -> None:
    assert may_have_findings(code)


@pytest.mark.parametrize("code", REJECTED.values(), ids=REJECTED.keys())
def test_rejects(code: str) -> None:
    assert not may_have_findings(code)


def _every_snippet() -> list[str]:
    snippets: list[str] = []
    for module in (test_lr001_uniform_lr, test_lr002_missing_freeze, test_lr009_no_validation):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                snippets += list(value.values())
    for cases in test_group_rules.CASES.values():
        snippets += list(cases.values())
    snippets += [path.read_text("utf-8-sig") for path in sorted(FIXTURES.glob("*.py"))]
    return [textwrap.dedent(s).lstrip("\n") for s in snippets]


def test_findings_are_the_same_without_the_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    snippets = _every_snippet()
    assert len(snippets) > 100
    options = CheckOptions(ALL_CODES, num_examples=None)
    with_filter = [check_source(s, "t.py", options) for s in snippets]
    monkeypatch.setattr(engine, "worth_parsing", lambda text, module_text=None: True)
    without = [check_source(s, "t.py", options) for s in snippets]
    assert with_filter == without
    assert sum(map(len, with_filter)) > 50  # the comparison is not between empty lists


QUICK_FALSE = {
    "only in a docstring": '"""Example:\n\n    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"""\nimport torch\n',
    "only a class definition": "import torch\nclass AdamW(torch.optim.Optimizer):\n    pass\n",
    "an isinstance check": "import torch\nok = isinstance(o, torch.optim.Adam)\n",
    "a user's own Trainer": "class Trainer:\n    pass\nTrainer()\n",
}


@pytest.mark.parametrize("code", PASSES.values(), ids=PASSES.keys())
def test_quick_stage_sees_every_construction(code: str) -> None:
    from lrlint.analysis.quick import builds_optimizer_or_trainer

    assert builds_optimizer_or_trainer(code) is True


@pytest.mark.parametrize("code", QUICK_FALSE.values(), ids=QUICK_FALSE.keys())
def test_quick_stage_skips_mentions_that_build_nothing(code: str) -> None:
    from lrlint.analysis.quick import builds_optimizer_or_trainer

    assert builds_optimizer_or_trainer(code) is False


def test_quick_stage_leaves_syntax_errors_to_libcst() -> None:
    from lrlint.analysis.quick import builds_optimizer_or_trainer
    from lrlint.prefilter import worth_parsing

    broken = "import torch\ndef f(a b):\n    return torch.optim.SGD(a)\n"
    assert builds_optimizer_or_trainer(broken) is None
    assert worth_parsing(broken)
