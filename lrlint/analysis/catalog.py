"""What the libraries call things: optimizers, trainers, loaders of pretrained weights.

Everything is keyed on qualified names (after import resolution), so a user's own class that
happens to be called `AdamW` or `Trainer` never matches.
"""

from __future__ import annotations

import re

# Packages whose capitalised members are optimizer classes.
_OPTIMIZER_PACKAGES = (
    "torch.optim.",
    "bitsandbytes.optim.",
    "timm.optim.",
    "torch_optimizer.",
    "apex.optimizers.",
    "deepspeed.ops.adam.",
    "deepspeed.ops.lamb.",
)
_OPTIMIZER_NAMES = frozenset(
    {
        "transformers.AdamW",
        "transformers.optimization.AdamW",
        "transformers.Adafactor",
        "transformers.optimization.Adafactor",
        "lion_pytorch.Lion",
        "schedulefree.AdamWScheduleFree",
        "schedulefree.SGDScheduleFree",
        "prodigyopt.Prodigy",
        "came_pytorch.CAME",
        "muon.Muon",
        # the libraries before `transformers`
        "pytorch_pretrained_bert.BertAdam",
        "pytorch_pretrained_bert.OpenAIAdam",
        "pytorch_pretrained_bert.optimization.BertAdam",
        "pytorch_pretrained_bert.optimization_openai.OpenAIAdam",
        "pytorch_transformers.AdamW",
        "pytorch_transformers.optimization.AdamW",
        "apex.optimizers.FusedAdam",
        "apex.optimizers.FusedLAMB",
        "deepspeed.ops.adam.FusedAdam",
        "deepspeed.ops.adam.DeepSpeedCPUAdam",
        # one optimizer per parameter, stepped during backward
        "torchtune.modules.optim.OptimizerInBackward",
    }
)
# Members of the optimizer packages that are not optimizers one would build over a model.
_NOT_OPTIMIZERS = frozenset({"Optimizer", "LBFGS"})


def is_optimizer_base(qualname: str | None) -> bool:
    """torch's `Optimizer` base class, as a project's own optimizer class names it."""
    return qualname in {"torch.optim.Optimizer", "torch.optim.optimizer.Optimizer"}


def is_optimizer(qualname: str | None) -> bool:
    if qualname is None:
        return False
    if qualname in _OPTIMIZER_NAMES:
        return True
    for package in _OPTIMIZER_PACKAGES:
        if qualname.startswith(package):
            rest = qualname[len(package) :]
            last = rest.rsplit(".", 1)[-1]
            return (
                "lr_scheduler" not in rest
                and "swa_utils" not in rest
                and last[:1].isupper()
                and last not in _NOT_OPTIMIZERS
            )
    return False


# Calls that build the optimizer a config or a string names, over the parameters given as
# their second argument: `config.instantiate(cfg.optimizer, model.parameters())` (torchtune,
# hydra), litgpt's `instantiate_torch_optimizer("AdamW", model.parameters())`.
_OPTIMIZER_FACTORIES = frozenset(
    {
        "torchtune.config.instantiate",
        "hydra.utils.instantiate",
        "litgpt.utils.instantiate_torch_optimizer",
    }
)
# The optimizer packages a name is looked up in: `getattr(torch.optim, args.optimizer)`.
OPTIMIZER_MODULES = frozenset({"torch.optim", "bitsandbytes.optim", "torch_optimizer"})


def is_optimizer_factory(qualname: str | None) -> bool:
    return qualname in _OPTIMIZER_FACTORIES


# Factories whose first argument is a config mapping that holds the optimizer's `lr`.
CONFIG_OPTIMIZER_FACTORIES = frozenset({"torchtune.config.instantiate", "hydra.utils.instantiate"})


# Optimizers whose weight_decay defaults to more than 0 (decoupled AdamW); the rest of torch's
# and transformers' optimizers default to 0.
_DECOUPLED_DEFAULT_DECAY = {
    "torch.optim.AdamW": 0.01,
    "torch.optim.adamw.AdamW": 0.01,
    "bitsandbytes.optim.AdamW": 0.01,
    "bitsandbytes.optim.AdamW8bit": 0.01,
    "bitsandbytes.optim.AdamW32bit": 0.01,
    "bitsandbytes.optim.PagedAdamW": 0.01,
    "bitsandbytes.optim.PagedAdamW8bit": 0.01,
    "bitsandbytes.optim.PagedAdamW32bit": 0.01,
}


def named_optimizer(factory: str | None, name: str | None) -> str | None:
    """The optimizer class a factory builds from its name: litgpt's
    `instantiate_torch_optimizer("AdamW", ...)` is `torch.optim.AdamW`."""
    if factory != "litgpt.utils.instantiate_torch_optimizer" or not name:
        return None
    return name if "." in name else f"torch.optim.{name}"


def default_weight_decay(qualname: str | None) -> float | None:
    """An optimizer's weight_decay when the call does not give one; None: not known."""
    if qualname is None:
        return None
    if qualname in _DECOUPLED_DEFAULT_DECAY:
        return _DECOUPLED_DEFAULT_DECAY[qualname]
    if qualname.startswith(("torch.optim.", "transformers.")):
        return 0.0
    return None


HF_TRAINERS = frozenset(
    {
        "transformers.Trainer",
        "transformers.trainer.Trainer",
        "transformers.Seq2SeqTrainer",
        "transformers.trainer_seq2seq.Seq2SeqTrainer",
        "trl.SFTTrainer",
        "trl.trainer.SFTTrainer",
    }
)
# Libraries whose `...Trainer` classes are Hugging Face Trainer subclasses that keep its default
# optimizer: trl (SFT, DPO, KTO, ORPO, reward, PPO...), sentence-transformers.
_HF_TRAINER_PACKAGES = ("trl.", "sentence_transformers.")


def is_hf_trainer(qualname: str | None) -> bool:
    if qualname is None:
        return False
    if qualname in HF_TRAINERS:
        return True
    last = qualname.rsplit(".", 1)[-1]
    return (
        qualname.startswith(_HF_TRAINER_PACKAGES)
        and last.endswith("Trainer")
        and last not in {"Trainer", "BaseTrainer"}
    )


# trl's `get_peft_config(model_args)` is None unless `--use_peft` (off by default); recipes
# built on trl keep the name for the same function.
PEFT_CONFIG_FROM_FLAGS = frozenset({"get_peft_config"})

# The methods of a Trainer subclass that replace the default optimizer.
TRAINER_OPTIMIZER_OVERRIDES = frozenset({"create_optimizer", "create_optimizer_and_scheduler"})

LIGHTNING_TRAINERS = frozenset(
    {"lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer"}
)


def is_lightning_module(qualname: str | None) -> bool:
    return qualname is not None and qualname.split(".")[-1] == "LightningModule"


def is_torch_module_base(qualname: str | None) -> bool:
    """A base class that makes a class an nn.Module (torch's, Lightning's, HF's PreTrainedModel)."""
    if qualname is None:
        return False
    last = qualname.split(".")[-1]
    return (
        qualname in {"torch.nn.Module", "torch.nn.modules.module.Module"}
        or is_lightning_module(qualname)
        or last.endswith("PreTrainedModel")
        or last == "PreTrainedModel"
    )


# `X.from_pretrained` loads a model unless X is one of these (tokenizers, configs, processors).
_NOT_A_MODEL = re.compile(
    r"(Tokenizer|TokenizerFast|Config|Processor|FeatureExtractor|ImageProcessor|"
    r"GenerationConfig|Pipeline|Scheduler|Dataset)$"
)


def from_pretrained_loads_model(receiver: str | None) -> bool:
    """`receiver` is the dotted name before `.from_pretrained`, as written (may be unresolved)."""
    if receiver is None:
        return True  # e.g. `MODEL_CLASSES[name].from_pretrained(...)`: still a model loader
    return _NOT_A_MODEL.search(receiver.split(".")[-1]) is None


# Calls that return their (first, or positionally matching) argument wrapped or moved.
MODEL_PASSTHROUGH_METHODS = frozenset(
    {"to", "cuda", "cpu", "train", "eval", "half", "float", "bfloat16", "double", "to_empty"}
)
MODEL_WRAPPER_CALLS = frozenset(
    {
        "prepare",  # accelerate
        "prepare_model",
        "setup",  # lightning fabric
        "compile",  # torch.compile
        "DataParallel",
        "DistributedDataParallel",
        "DDP",
        "FullyShardedDataParallel",
        "FSDP",
        "initialize",  # deepspeed
        "wrap",
        "setup_chat_format",  # trl: (model, tokenizer) with the chat tokens added
    }
)

# PEFT and friends freeze the base model: a script that calls them has a freeze.
FREEZING_CALLS = frozenset(
    {
        "get_peft_model",
        "prepare_model_for_kbit_training",
        "prepare_model_for_int8_training",
        "add_adapter",  # transformers' PEFT integration: `model.add_adapter(lora_config)`
        "train_adapter",  # adapters / adapter-transformers
        "set_trainable_params",  # torchtune: only the adapter parameters keep requires_grad
    }
)
# loralib's `mark_only_lora_as_trainable`, lit-llama's `mark_only_adapter_as_trainable`...
_MARK_ONLY = re.compile(r"mark_only_\w+_as_trainable$")
# Calls whose name contains "freeze" without freezing any weights.
NOT_FREEZING_CALLS = frozenset({"freeze_support"})


def is_freezing_call(name: str) -> bool:
    """PEFT's wrappers, and anything named for freezing (`model.freeze()`, `freeze_lower(m)`)."""
    return (
        name in FREEZING_CALLS
        or _MARK_ONLY.match(name) is not None
        or ("freeze" in name.lower() and name not in NOT_FREEZING_CALLS)
    )
