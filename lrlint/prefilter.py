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

import bisect
import functools
import re
from collections.abc import Callable

# (module, level) -> the text of that module of the checked file's project, or None
ModuleText = Callable[[str, int], str | None]

_STEMS = (
    "Adam", "SGD", "Adafactor", "Adagrad", "Adadelta", "ASGD", "LBFGS", "RMSprop", "Rprop",
    "Lion", "Lamb", "LAMB", "Lars", "LARS", "Prodigy", "ScheduleFree", "CAME", "Muon",
    "Sophia", "Shampoo",
)  # fmt: skip
# at a stem: a call of the class, or an import of it under another name
_AT_STEM = re.compile(r"[A-Za-z]\w*(?:\s*\(|\s+as\s+\w)")
# at "optim": optim.Foo (called, or picked into a name), "from x.optim import", "optimizers import"
_AT_OPTIM = re.compile(r"optim(?:\.[A-Z]\w*|(?:izers)?\s+import\b)")
# just before "optim": "from torch import optim", "timm.optim", "torch_optimizer",
# "getattr(torch.optim" (a class picked by name)
_BEFORE_OPTIM = re.compile(r"(?:\bimport\s+|timm\.|torch_|getattr\(\s*(?:torch\.)?)$")
_AT_TRAINER = re.compile(r"Trainer(?:\s*[(,)]|\s+as\s+\w)")
_ANYWHERE = ("apex", "deepspeed")
# at "instantiate": a factory given an optimizer's config, `config.instantiate(cfg.optimizer,`
_AT_FACTORY = re.compile(r"instantiate\w*\s*\(\s*[\w.\[\]\"']*optim", re.IGNORECASE)


def worth_parsing(text: str, module_text: ModuleText | None = None) -> bool:
    """Whether LibCST must parse this file: the text test, then the exact `ast` stage
    (`analysis.quick`); a file `ast` cannot parse goes on, to be reported as LR900.
    `module_text` gives the text of a module of the file's project (`from .optim import
    build` -> ("optim", 1)): a file that builds nothing itself but calls what such a module
    defines is worth parsing when that module's text passes the text test."""
    from lrlint.analysis.quick import builds_optimizer_or_trainer, definition_builds

    def elsewhere(module: str, level: int, name: str) -> bool:
        other = module_text(module, level) if module_text is not None else None
        return (
            other is not None
            and _may_build(_definition(other, name))
            and definition_builds(other, name)
        )

    if may_have_findings(text):

        def handed(module: str, level: int, name: str) -> bool:
            return _given_a_model(text, name) and elsewhere(module, level, name)

        return builds_optimizer_or_trainer(text, handed if module_text else None) is not False
    if module_text is None or not _hands_a_model_over(text):
        return False
    # found from the text, so that a file that builds nothing itself is not parsed to learn
    # that it calls nothing that does
    return any(elsewhere(*imported) for imported in _called_imports(text))


# `from .optim import build_optimizer, warmup as wu` (one line, or parenthesised)
_FROM_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.MULTILINE
)


# what a model is called where it is handed over: `build_optimizer(model, ...)`, `(net=...)`
_MODEL_WORD = re.compile(r"\b\w*(?:model|net|backbone|bert)\w*\b", re.IGNORECASE)


def _given_a_model(text: str, name: str) -> bool:
    """Whether some call of `name` has an argument that names a model (in its first 300
    characters): only such a call can hand a pretrained model to another module."""
    position = text.find(name + "(")
    while position != -1:
        start = position + len(name) + 1
        if _MODEL_WORD.search(text, start, start + 300):
            return True
        position = text.find(name + "(", start)
    return False


def _called_imports(text: str) -> list[tuple[str, int, str]]:
    """(module, level, name) of the names a file imports with `from ... import` and calls."""
    found = []
    for dots, module, names in _FROM_IMPORT.findall(text):
        for item in names.strip("()").split(","):
            parts = item.split()
            if not parts or parts[0] == "*":
                continue
            local = parts[-1] if len(parts) == 3 and parts[1] == "as" else parts[0]
            if _given_a_model(text, local):
                found.append((module, len(dots), parts[0]))
    return found


def _definition(text: str, name: str) -> str:
    """The text of the top-level `def name` or `class name` in a module (to the next top-level
    statement), or the whole text when it is not defined there (a re-export)."""
    return _definitions(text).get(name, text)


@functools.lru_cache(maxsize=512)
def _definitions(text: str) -> dict[str, str]:
    """Each top-level function's and class's text, by name, in one pass over the module."""
    found: dict[str, str] = {}
    starts = [(m.start(), m.group(1)) for m in _DEFINITION.finditer(text)]
    tops = [m.start() for m in _TOP_LEVEL.finditer(text)]
    for start, name in starts:
        after = bisect.bisect_right(tops, start)
        end = tops[after] if after < len(tops) else len(text)
        found.setdefault(name, text[start:end])
    return found


_DEFINITION = re.compile(r"^(?:async[ \t]+def|def|class)[ \t]+(\w+)", re.MULTILINE)
_TOP_LEVEL = re.compile(r"^(?=[^\s#)\]}])", re.MULTILINE)

# A file that hands its model to a helper of another module loads that model here.
_LOADS_A_MODEL = ("pretrained", "load_state_dict", "checkpoint")


def _hands_a_model_over(text: str) -> bool:
    return ("from " in text or "import " in text) and any(w in text for w in _LOADS_A_MODEL)


def _may_build(definition: str) -> bool:
    """The text test for one function or class: a call of an optimizer or trainer in it (the
    words that are enough anywhere in a file, `apex`, `deepspeed`, are not in a definition;
    `may_have_findings` adds them)."""
    return (
        any(_at(definition, stem, _AT_STEM) for stem in _STEMS)
        or _optim(definition)
        or _at(definition, "Trainer", _AT_TRAINER)
        or _at(definition, "instantiate", _AT_FACTORY)
    )


def may_have_findings(text: str) -> bool:
    return any(word in text for word in _ANYWHERE) or _may_build(text)


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
            text, max(0, position - 16), position
        ):
            return True
        position = text.find("optim", position + 1)
    return False
