"""Project resolution: a checked file's setup read through the other modules of its project, as
Python would import them, and the result cache keyed on every file that was read."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from lrlint.cache import Cache
from lrlint.engine import CheckOptions, check_file, check_files
from lrlint.project import layout
from lrlint.project.modules import Project
from tests.conftest import SPLIT_BY_KIND

OPTIONS = CheckOptions(frozenset({"LR001", "LR002", "LR900"}))

TRAIN_WITH_SUBCLASS = """
    from transformers import AutoModelForSequenceClassification, TrainingArguments
    from {module} import TextTrainer

    def main(args):
        model = AutoModelForSequenceClassification.from_pretrained(args.model_name_or_path)
        trainer = TextTrainer(model=model, args=TrainingArguments("out"))
        trainer.train()
"""

PLAIN_SUBCLASS = """
    from transformers import Trainer

    class TextTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False):
            return super().compute_loss(model, inputs, return_outputs)
"""

OVERRIDING_SUBCLASS = """
    import torch
    from transformers import Trainer

    class TextTrainer(Trainer):
        def create_optimizer(self):
            self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-5)
            return self.optimizer
"""

MODELS = """
    from torch import nn
    from transformers import AutoModel

    class Classifier(nn.Module):
        def __init__(self, name, num_labels):
            super().__init__()
            self.encoder = AutoModel.from_pretrained(name)
            self.head = nn.Linear(self.encoder.config.hidden_size, num_labels)
"""

TRAIN_WITH_MODEL_CLASS = """
    import torch
    from models import Classifier

    model = Classifier("bert-base-uncased", 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
"""


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _codes_at(path: Path) -> list[tuple[int, str]]:
    result = check_file(str(path), OPTIONS, Project())
    assert result.error is None
    return [(d.line, d.code) for d in result.diagnostics]


def test_a_trainer_subclass_from_another_module_keeps_the_default_optimizer(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "",
            "trainers.py": PLAIN_SUBCLASS,
            "train.py": TRAIN_WITH_SUBCLASS.format(module="trainers"),
        },
    )
    assert _codes_at(tmp_path / "train.py") == [(6, "LR001")]


def test_a_trainer_subclass_that_builds_its_own_optimizer_elsewhere_is_quiet(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {
            "trainers.py": OVERRIDING_SUBCLASS,
            "train.py": TRAIN_WITH_SUBCLASS.format(module="trainers"),
        },
    )
    assert _codes_at(tmp_path / "train.py") == []


def test_relative_imports_inside_a_package_resolve(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "setup.cfg": "",
            "src/textcls/__init__.py": "",
            "src/textcls/training/__init__.py": "from .trainers import TextTrainer\n",
            "src/textcls/training/trainers.py": PLAIN_SUBCLASS,
            "src/textcls/run.py": TRAIN_WITH_SUBCLASS.format(module=".training"),
        },
    )
    assert _codes_at(tmp_path / "src/textcls/run.py") == [(6, "LR001")]


def test_a_model_class_of_another_module_that_loads_a_backbone_is_pretrained(
    tmp_path: Path,
) -> None:
    _write(tmp_path, {"models.py": MODELS, "train.py": TRAIN_WITH_MODEL_CLASS})
    assert _codes_at(tmp_path / "train.py") == [(5, "LR001")]
    # the same script alone: an imported class called fresh is a model built from scratch
    from lrlint.engine import check_source

    alone = check_source((tmp_path / "train.py").read_text(), "train.py", OPTIONS)
    assert alone == []


def test_a_model_class_a_package_star_imports_is_followed(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".git/HEAD": "",
            "nets/__init__.py": "from .backbones import *\n",
            "nets/backbones.py": MODELS,
            "train.py": TRAIN_WITH_MODEL_CLASS.replace(
                "from models import Classifier", "import nets"
            ).replace("Classifier(", "nets.Classifier("),
        },
    )
    assert _codes_at(tmp_path / "train.py") == [(5, "LR001")]


DETECTOR = """
    from torch import nn

    class Detector(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width))
            self.neck = nn.TransformerEncoderLayer(width, 4)
            self.head = nn.Linear(width, 91)

    def build(args):
        return Detector(args.width), None
"""

DETECTOR_TRAIN = """
    import torch
    from detector import build

    def main(args):
        net, criterion = build(args)
        groups = [
            {"params": [p for n, p in net.named_parameters() if "backbone" not in n and p.requires_grad]},
            {"params": [p for n, p in net.named_parameters() if "backbone" in n and p.requires_grad], "lr": 1e-5},
        ]
        optimizer = torch.optim.AdamW(groups, lr=1e-4, weight_decay=1e-4)
"""


def test_lr006_on_groups_of_trainable_parameters_of_a_model_built_in_another_module(
    tmp_path: Path,
) -> None:
    _write(tmp_path, {".git/HEAD": "", "detector.py": DETECTOR, "train.py": DETECTOR_TRAIN})
    result = check_file(str(tmp_path / "train.py"), CheckOptions(frozenset({"LR006"})), Project())
    assert [(d.line, d.code) for d in result.diagnostics] == [(10, "LR006")]


def test_a_wrapper_of_another_module_keeps_the_pretrained_module_the_script_passes(
    tmp_path: Path,
) -> None:
    """Each class in a submodule of its own name, re-exported by the package (`from
    .Encoder import Encoder`), the wrapper holding what its constructor is given."""
    encoder = """
        from torch import nn
        from transformers import AutoModel

        class Encoder(nn.Module):
            def __init__(self, name):
                super().__init__()
                self.plm = AutoModel.from_pretrained(name)
    """
    recommender = """
        from torch import nn

        class Recommender(nn.Module):
            def __init__(self, encoder, width):
                super().__init__()
                self.encoder = encoder
                self.score = nn.Linear(width, 1)
    """
    train = """
        from recsys.models import Encoder, Recommender
        from transformers import Trainer, TrainingArguments

        def main(name):
            net = Recommender(encoder=Encoder(name), width=768)
            trainer = Trainer(model=net, args=TrainingArguments("out", learning_rate=1e-4))
            trainer.train()
    """
    init = "from .Encoder import Encoder\nfrom .Recommender import Recommender\n"
    _write(
        tmp_path,
        {".git/HEAD": "", "src/recsys/__init__.py": "", "src/recsys/models/__init__.py": init,
         "src/recsys/models/Encoder.py": encoder, "src/recsys/models/Recommender.py": recommender,
         "src/experiment/train.py": train},
    )  # fmt: skip
    assert _codes_at(tmp_path / "src/experiment/train.py") == [(6, "LR001")]
    # handed an encoder built from a config, the wrapper trains new weights
    scratch = encoder.replace("AutoModel.from_pretrained(name)", "AutoModel.from_config(name)")
    _write(tmp_path, {"src/recsys/models/Encoder.py": scratch})
    assert _codes_at(tmp_path / "src/experiment/train.py") == []


def test_a_helper_module_knows_the_callers_that_import_it_through_its_package(
    tmp_path: Path,
) -> None:
    wrapper = """
        import lightning as L
        import torch

        class Lit(L.LightningModule):
            def __init__(self, model, lr):
                super().__init__()
                self.model = model
                self.lr = lr

            def configure_optimizers(self):
                return torch.optim.AdamW(self.model.parameters(), lr=self.lr)
    """
    caller = """
        from transformers import AutoModel
        from tasks import Lit

        net = AutoModel.from_pretrained("allenai/longformer-base-4096")
        module = Lit(net, 5e-5)
    """
    _write(
        tmp_path,
        {".git/HEAD": "", "tasks/__init__.py": "from .wrappers import Lit\n",
         "tasks/wrappers.py": wrapper, "pretrain.py": caller},
    )  # fmt: skip
    assert _codes_at(tmp_path / "tasks/wrappers.py") == [(11, "LR001")]


def test_the_result_depends_on_the_modules_it_read_and_the_cache_knows(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _write(
        tmp_path, {"models.py": MODELS, "train.py": TRAIN_WITH_MODEL_CLASS, "other.py": "x = 1\n"}
    )
    train = str(tmp_path / "train.py")
    result = check_file(train, OPTIONS, Project())
    assert result.dependencies == [os.path.realpath(tmp_path / "models.py")]

    cache = Cache(["test-project"], tmp_path_factory.mktemp("cache"))
    [cold] = check_files([train], OPTIONS, 1, cache)
    assert [d.code for d in cold.diagnostics] == ["LR001"]
    assert cache.lookup(train) is not None
    # the model class stops loading pretrained weights: the script's result must change
    (tmp_path / "models.py").write_text(
        textwrap.dedent(MODELS).replace("AutoModel.from_pretrained(name)", "nn.Linear(8, 8)"),
        encoding="utf-8",
    )
    assert cache.lookup(train) is None
    [warm] = check_files([train], OPTIONS, 1, cache)
    assert warm.diagnostics == []


def test_project_roots_and_module_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pyproject.toml": "",
            "src/pkg/__init__.py": "",
            "src/pkg/models.py": "",
            "src/pkg/sub/train.py": "",
            "scripts/run.py": "",
        },
    )
    (tmp_path / "vendored" / ".git").mkdir(parents=True)
    (tmp_path / "vendored" / "lib.py").write_text("")
    run = tmp_path / "scripts" / "run.py"
    assert layout.project_root(run.parent) == tmp_path
    assert layout.project_root(tmp_path / "vendored") == tmp_path / "vendored"  # a clone inside
    assert layout.module_file(run, "pkg.models") == tmp_path / "src/pkg/models.py"
    assert layout.module_file(run, "pkg") == tmp_path / "src/pkg/__init__.py"
    train = tmp_path / "src/pkg/sub/train.py"
    assert layout.module_file(train, "models", level=2) == tmp_path / "src/pkg/models.py"
    assert layout.module_file(run, "torch") is None  # installed libraries are not the project
    assert layout.split_relative("..models.Net") == (2, "models.Net")


HELPER = """
    import torch

    def build_optimizer(model, lr):
        skip = ("bias", "LayerNorm.weight")
        named = list(model.named_parameters())
        groups = [
            {"params": [p for n, p in named if not any(s in n for s in skip)], "weight_decay": 0.01},
            {"params": [p for n, p in named if any(s in n for s in skip)], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr)
"""

CALLER = """
    from transformers import AutoModelForSequenceClassification
    from optim_utils import build_optimizer

    model = AutoModelForSequenceClassification.from_pretrained("roberta-base")
    optimizer = build_optimizer(model, 2e-5)
"""


def test_a_helper_module_not_checked_is_reported_at_the_checked_call(tmp_path: Path) -> None:
    _write(tmp_path, {".git/HEAD": "", "optim_utils.py": HELPER, "train.py": CALLER})
    [result] = check_files([str(tmp_path / "train.py")], OPTIONS, 1)
    [finding] = result.diagnostics
    assert (finding.line, finding.code) == (5, "LR001")
    assert "build_optimizer()" in finding.message and "optim_utils.py:10" in finding.message


def test_a_checked_helper_module_reports_once_where_the_optimizer_is_built(
    tmp_path: Path,
) -> None:
    _write(tmp_path, {".git/HEAD": "", "optim_utils.py": HELPER, "train.py": CALLER})
    paths = [str(tmp_path / "train.py"), str(tmp_path / "optim_utils.py")]
    caller, helper = check_files(paths, OPTIONS, 1)
    assert caller.diagnostics == []
    assert [(d.line, d.code) for d in helper.diagnostics] == [(10, "LR001")]


SPLIT_HELPER = (
    """
import copy
import torch

def split_optimizer(net, lr=0.1, decay=1e-4):
"""
    + SPLIT_BY_KIND
    + """\
    opt = torch.optim.SGD(lists[0], lr=lr, momentum=0.9, weight_decay=decay)
    opt.add_param_group({"params": lists[1], "weight_decay": 0.0})
    return opt

def export_frozen(net, path):
    net = copy.deepcopy(net)
    for p in net.parameters():
        p.requires_grad = False
    torch.save(net, path)
"""
)

SPLIT_CALLER = """
    import timm
    from utils.optim import export_frozen, split_optimizer

    def train(rate):
        net = timm.create_model("efficientnet_b0", pretrained=True, num_classes=5)
        opt = split_optimizer(net, "SGD", rate)
        export_frozen(net, "last.pt")
"""


def test_lists_filled_in_a_helper_are_reported_there_at_the_rate_its_callers_pass(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        {".git/HEAD": "", "utils/__init__.py": "", "utils/optim.py": SPLIT_HELPER,
         "train.py": SPLIT_CALLER.replace('"SGD", rate', "lr=rate")},
    )  # fmt: skip
    paths = [str(tmp_path / "train.py"), str(tmp_path / "utils/optim.py")]
    caller, helper = check_files(paths, OPTIONS, 1)
    assert caller.diagnostics == []
    [finding] = helper.diagnostics
    assert (finding.line, finding.code) == (12, "LR001")
    assert "lr=lr;" in finding.message  # not its default 0.1: the caller passes its own
    # alone, the caller reports it, and the copy frozen after training does not silence it
    [alone] = check_files([str(tmp_path / "train.py")], OPTIONS, 1)
    assert [(d.line, d.code) for d in alone.diagnostics] == [(6, "LR001")]


def test_a_helper_that_builds_nothing_is_not_reported(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".git/HEAD": "",
            "optim_utils.py": "def build_optimizer(model, lr):\n    return None\n",
            "train.py": CALLER,
        },
    )
    [result] = check_files([str(tmp_path / "train.py")], OPTIONS, 1)
    assert result.diagnostics == []


def test_a_cached_caller_is_checked_again_when_its_helper_joins_the_run(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _write(tmp_path, {".git/HEAD": "", "optim_utils.py": HELPER, "train.py": CALLER})
    cache = Cache(["test-through"], tmp_path_factory.mktemp("cache"))
    train, helper = str(tmp_path / "train.py"), str(tmp_path / "optim_utils.py")
    [alone] = check_files([train], OPTIONS, 1, cache)
    assert [d.code for d in alone.diagnostics] == ["LR001"]
    both = check_files([train, helper], OPTIONS, 1, cache)
    assert [d.code for d in both[0].diagnostics] == []  # moved to the helper, not kept
    assert [d.code for d in both[1].diagnostics] == ["LR001"]


def test_a_caller_whose_name_resolves_nowhere_is_skipped(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".git/HEAD": "",
            "optim_utils.py": HELPER,
            "train.py": CALLER,
            # names the helper's module and function, but imports them from elsewhere
            "other.py": "import optim_utils\nfrom vendor import build_optimizer\n"
            "build_optimizer(None, 1.0)\n",
        },
    )
    [helper] = check_files([str(tmp_path / "optim_utils.py")], OPTIONS, 1)
    assert helper.error is None
    assert [(d.line, d.code) for d in helper.diagnostics] == [(10, "LR001")]


def test_the_api_reads_the_project_only_when_asked(tmp_path: Path) -> None:
    from lrlint import api

    _write(tmp_path, {"models.py": MODELS, "train.py": TRAIN_WITH_MODEL_CLASS})
    train = tmp_path / "train.py"
    text = train.read_text()
    assert api.check_source(text, str(train), select="LR001") == []
    found = api.check_source(text, str(train), select="LR001", project=True)
    assert [(d.line, d.code) for d in found] == [(5, "LR001")]
    # an unsaved editor buffer of the other module is read instead of the disk
    unsaved = {
        str(tmp_path / "models.py"): textwrap.dedent(MODELS).replace(
            "AutoModel.from_pretrained(name)", "nn.Linear(8, 8)"
        )
    }
    assert api.check_source(text, str(train), select="LR001", project=True, overlays=unsaved) == []


def test_fix_reads_the_project_as_check_does(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lrlint.cli import cli

    _write(tmp_path, {".git/HEAD": "", "models.py": MODELS, "train.py": TRAIN_WITH_MODEL_CLASS})
    train = tmp_path / "train.py"
    assert [d.code for d in check_file(str(train), OPTIONS, Project()).diagnostics] == ["LR001"]
    done = CliRunner().invoke(cli, ["fix", "--isolated", str(train)])
    assert done.exit_code == 0, done.output
    fixed = train.read_text()
    assert "param_groups_by_depth" in fixed  # the class is another module's: depth at run time
    assert check_file(str(train), OPTIONS, Project()).diagnostics == []


@pytest.mark.parametrize(
    "receives",
    ["def main():\n    cfg, other = TrainConfig(), None", "def main(cfg: TrainConfig):\n    pass"],
    ids=["built here", "annotated parameter"],
)
def test_a_freeze_behind_a_config_class_of_another_module_that_is_off_by_default(
    tmp_path: Path, receives: str
) -> None:
    """`cfg = TrainConfig()` or `cfg: TrainConfig` from `configs.py`: its class attribute is
    the flag's default."""
    _write(
        tmp_path,
        {
            "pyproject.toml": "",
            "configs.py": """
                from dataclasses import dataclass
                @dataclass
                class TrainConfig:
                    lr: float = 1e-4
                    use_peft: bool = {default}
            """,
            "finetune.py": """
                import torch
                from peft import LoraConfig, get_peft_model
                from transformers import AutoModelForCausalLM
                from configs import TrainConfig
                {receives}
                    model = AutoModelForCausalLM.from_pretrained("facebook/opt-125m")
                    if cfg.use_peft:
                        model = get_peft_model(model, LoraConfig(r=8))
                    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
            """,
        },
    )
    script = tmp_path / "finetune.py"
    lines = script.read_text(encoding="utf-8").replace("{receives}", receives)
    script.write_text(lines, encoding="utf-8")
    configs = tmp_path / "configs.py"
    text = configs.read_text(encoding="utf-8")
    configs.write_text(text.replace("{default}", "False"), encoding="utf-8")
    assert _codes_at(tmp_path / "finetune.py") == [(10, "LR001")]
    configs.write_text(text.replace("{default}", "True"), encoding="utf-8")
    assert _codes_at(tmp_path / "finetune.py") == []  # a fresh Project reads it again
