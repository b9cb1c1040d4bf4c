"""The static linter stays light: no torch or transformers to install, none imported, and no
libcst for files the prefilter rules out."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

from lrlint.analysis import catalog
from lrlint.prefilter import may_have_findings


def test_base_install_requires_no_torch() -> None:
    base = [r for r in requires("lrlint") or [] if "extra ==" not in r]
    names = {
        r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in base
    }
    assert {"libcst", "click"} <= names
    assert not names & {"torch", "transformers", "lightning", "accelerate"}


def test_torch_is_in_the_runtime_extra() -> None:
    runtime = [r for r in requires("lrlint") or [] if "runtime" in r.partition("extra ==")[2]]
    assert any(r.startswith("torch") for r in runtime)
    assert any(r.startswith("transformers") for r in runtime)


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_checking_a_file_without_training_code_never_loads_libcst(tmp_path) -> None:
    path = tmp_path / "utils.py"
    path.write_text("def add(a, b):\n    return a + b\n")
    loaded = _modules_after(
        "from lrlint.engine import CheckOptions, check_file\n"
        f"check_file({str(path)!r}, CheckOptions(frozenset({{'LR001'}})))"
    )
    assert "libcst" not in loaded
    assert "torch" not in loaded


def test_checking_training_code_never_loads_torch(tmp_path) -> None:
    path = tmp_path / "train.py"
    path.write_text("import torch\nopt = torch.optim.AdamW(m.parameters())\n")
    loaded = _modules_after(
        "from lrlint.engine import CheckOptions, check_file\n"
        f"check_file({str(path)!r}, CheckOptions(frozenset({{'LR001'}})))"
    )
    assert "libcst" in loaded
    assert not loaded & {"torch", "transformers"}


def test_every_catalogued_name_passes_the_prefilter() -> None:
    names = [*catalog.HF_TRAINERS, *catalog.LIGHTNING_TRAINERS]
    names += [f"{package}SomeOptimizer" for package in catalog._OPTIMIZER_PACKAGES]
    names += sorted(catalog._OPTIMIZER_NAMES)
    names += ["transformers.AdamW", "lion_pytorch.Lion", "prodigyopt.Prodigy", "muon.Muon"]
    names += ["schedulefree.AdamWScheduleFree", "came_pytorch.CAME", "deepspeed.ops.lamb.FusedLamb"]
    for name in names:
        # what the file must contain to build it: the import line and the call
        module, _, attribute = name.rpartition(".")
        assert may_have_findings(f"from {module} import {attribute}\n{attribute}(x)"), name


def test_prefilter_rejects_unrelated_code() -> None:
    assert not may_have_findings("import numpy as np\nprint(np.zeros(3))\n")
