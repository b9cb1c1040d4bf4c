"""The cheap text test that decides which files are worth parsing (LibCST parses ~0.6 MB/s).

Every finding starts from an optimizer or a trainer that the catalogue (`analysis.catalog`)
knows, built in the file. So a file is parsed only if its text could build one:
- a call of a known optimizer class (`AdamW(`, `optim.SGD(`, `bnb.optim.AdamW8bit(`), of any
  capitalised member of an optimizer package (`optim.Foo(`), or an import that brings one in
  under another name (`AdamW as AW`, `from torch.optim import ...`, `from torch import optim`);
- a package whose members are all optimizers (timm.optim, torch_optimizer, apex, deepspeed);
- a trainer: a call of something named `...Trainer(`, an alias of one, or a class built on one.
The test errs towards parsing: a file it lets through costs time, one it drops would cost a
finding. tests/test_prefilter.py and `bench/bench_check.py --verify-prefilter` hold it to that.

It looks only where an anchor word occurs (`str.find` runs at memory speed), and matches an
anchored pattern there, instead of running one large regular expression over every file.
"""

from __future__ import annotations

import re

_STEMS = (
    "Adam", "SGD", "Adafactor", "Adagrad", "Adadelta", "ASGD", "LBFGS", "RMSprop", "Rprop",
    "Lion", "Lamb", "LAMB", "Lars", "LARS", "Prodigy", "ScheduleFree", "CAME", "Muon",
    "Sophia", "Shampoo",
)  # fmt: skip
# at a stem: a call of the class, or an import of it under another name
_AT_STEM = re.compile(r"[A-Za-z]\w*(?:\s*\(|\s+as\s+\w)")
# at "optim": optim.Foo(...), "from x.optim import", "optimizers import"
_AT_OPTIM = re.compile(r"optim(?:\.[A-Z]\w*\s*\(|(?:izers)?\s+import\b)")
# just before "optim": "from torch import optim", "timm.optim", "torch_optimizer"
_BEFORE_OPTIM = re.compile(r"(?:\bimport\s+|timm\.|torch_)$")
_AT_TRAINER = re.compile(r"Trainer(?:\s*[(,)]|\s+as\s+\w)")
_ANYWHERE = ("apex", "deepspeed")


def worth_parsing(text: str) -> bool:
    """Whether LibCST must parse this file: the text test, then the exact `ast` stage
    (`analysis.quick`); a file `ast` cannot parse goes on, to be reported as LR900."""
    if not may_have_findings(text):
        return False
    from lrlint.analysis.quick import builds_optimizer_or_trainer

    return builds_optimizer_or_trainer(text) is not False


def may_have_findings(text: str) -> bool:
    return (
        any(word in text for word in _ANYWHERE)
        or any(_at(text, stem, _AT_STEM) for stem in _STEMS)
        or _optim(text)
        or _at(text, "Trainer", _AT_TRAINER)
    )


def _at(text: str, word: str, pattern: re.Pattern[str]) -> bool:
    """Whether `pattern` matches at some occurrence of `word`."""
    position = text.find(word)
    while position != -1:
        if pattern.match(text, position):
            return True
        position = text.find(word, position + 1)
    return False


def _optim(text: str) -> bool:
    position = text.find("optim")
    while position != -1:
        if _AT_OPTIM.match(text, position) or _BEFORE_OPTIM.search(
            text, max(0, position - 12), position
        ):
            return True
        position = text.find("optim", position + 1)
    return False
