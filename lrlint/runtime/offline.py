"""Models without weights and without a network: `from_pretrained` served from a local config.

While a script runs under `lrlint runtime`, `from_pretrained` of a Hugging Face model reads only
the model's config (a local folder, the Hugging Face cache, or `--config DIR`) and builds the
model on the meta device: the structure is real, no weight is loaded, no memory is spent, so a
7B model is checked in seconds. Tokenizers that are not on disk get a small stand-in, noted in
the report.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class MissingConfig(Exception):
    """No local config for a model id: the message says which and how to give one."""


@dataclass
class Offline:
    configs: dict[str, str] = field(default_factory=dict)  # model id -> folder with config.json
    fallback: str | None = None  # --config DIR: for any id without a local config
    loaded: list[Any] = field(default_factory=list)  # the models built, all pretrained
    notes: list[str] = field(default_factory=list)

    def config_source(self, name: str) -> str:
        """Where to read `name`'s config from, without the network."""
        if name in self.configs:
            return self.configs[name]
        if Path(name, "config.json").is_file():
            return name
        from transformers.utils import cached_file

        try:
            found = cached_file(name, "config.json", local_files_only=True)
        except OSError:
            found = None
        if found:
            return name
        if self.fallback is not None:
            return self.fallback
        raise MissingConfig(
            f"no local config for model '{name}' (no network is used): pass --config DIR, a "
            f"folder holding its config.json, or --config {name}=DIR"
        )


@contextlib.contextmanager
def offline_models(state: Offline) -> Iterator[None]:
    """Patch the loaders for the duration of a run; everything is restored afterwards."""
    import torch
    import transformers
    from transformers.models.auto import auto_factory

    saved_env = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    hub_constants: Any = None
    saved_hub_offline = None
    with contextlib.suppress(ImportError, AttributeError):
        import huggingface_hub.constants as hub_constants

        saved_hub_offline = hub_constants.HF_HUB_OFFLINE
        hub_constants.HF_HUB_OFFLINE = True
    scratch = tempfile.TemporaryDirectory(prefix="lrlint-runtime-")  # the stand-in's vocabulary

    def config_for(name: Any, kwargs: dict[str, Any]) -> Any:
        config = kwargs.pop("config", None)
        for unused in (
            "torch_dtype",
            "dtype",
            "device_map",
            "low_cpu_mem_usage",
            "cache_dir",
            "quantization_config",
            "load_in_8bit",
            "load_in_4bit",
            "revision",
            "token",
            "use_auth_token",
            "local_files_only",
            "force_download",
            "trust_remote_code",
            "attn_implementation",
            "ignore_mismatched_sizes",
            "state_dict",
            "use_safetensors",
            "output_loading_info",
        ):
            kwargs.pop(unused, None)
        if config is None or isinstance(config, (str, os.PathLike)):
            source = state.config_source(str(config if config is not None else name))
            config, _ = transformers.AutoConfig.from_pretrained(
                source, return_unused_kwargs=True, **kwargs
            )
        return config

    def build(cls: type, name: Any, auto: bool, **kwargs: Any) -> Any:
        config = config_for(name, kwargs)
        with torch.device("meta"):
            model = cls.from_config(config) if auto else cls._from_config(config)
        state.loaded.append(model)
        return model

    pretrained_model = transformers.PreTrainedModel.from_pretrained
    # every Auto class carries its own copy of from_pretrained: patch each of them
    auto_classes = {
        cls: cls.__dict__["from_pretrained"]
        for cls in _auto_model_classes(transformers, auto_factory._BaseAutoModelClass)
    }
    auto_tokenizer = transformers.AutoTokenizer.from_pretrained
    base_tokenizer = transformers.PreTrainedTokenizerBase.from_pretrained

    def model_from_pretrained(cls: type, name: Any, *args: Any, **kwargs: Any) -> Any:
        return build(cls, name, auto=False, **kwargs)

    def auto_from_pretrained(cls: type, name: Any, *args: Any, **kwargs: Any) -> Any:
        return build(cls, name, auto=True, **kwargs)

    def tokenizer_from(original: Any) -> Any:
        def load(cls: type, name: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return original.__func__(cls, name, *args, **kwargs)
            except (OSError, ValueError):
                state.notes.append(
                    f"tokenizer '{name}' is not on disk: a small stand-in tokenizer was used"
                )
                return _stand_in_tokenizer(Path(scratch.name))

        return classmethod(load)

    transformers.PreTrainedModel.from_pretrained = classmethod(model_from_pretrained)  # type: ignore[assignment]
    for cls in auto_classes:
        cls.from_pretrained = classmethod(auto_from_pretrained)  # type: ignore[attr-defined]
    transformers.AutoTokenizer.from_pretrained = tokenizer_from(auto_tokenizer)  # type: ignore[assignment]
    transformers.PreTrainedTokenizerBase.from_pretrained = tokenizer_from(base_tokenizer)  # type: ignore[assignment]
    try:
        yield
    finally:
        transformers.PreTrainedModel.from_pretrained = pretrained_model  # type: ignore[method-assign]
        for cls, original in auto_classes.items():
            cls.from_pretrained = original  # type: ignore[attr-defined]
        transformers.AutoTokenizer.from_pretrained = auto_tokenizer  # type: ignore[method-assign]
        transformers.PreTrainedTokenizerBase.from_pretrained = base_tokenizer  # type: ignore[method-assign]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if hub_constants is not None:
            hub_constants.HF_HUB_OFFLINE = saved_hub_offline
        scratch.cleanup()


def _auto_model_classes(transformers: Any, base: type) -> list[type]:
    found = [base]
    for name in dir(transformers):
        if not name.startswith("AutoModel"):
            continue
        try:
            value = getattr(transformers, name)
        except Exception:  # a lazy attribute whose backend is missing
            continue
        if isinstance(value, type) and issubclass(value, base) and "from_pretrained" in vars(value):
            found.append(value)
    return [cls for cls in found if "from_pretrained" in vars(cls)]


def _stand_in_tokenizer(folder: Path) -> Any:
    """A real WordPiece tokenizer over a tiny vocabulary: scripts that tokenize before building
    their optimizer get plausible ids (all within any model's vocabulary)."""
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz"]
    path = folder / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizer(vocab_file=str(path))
