"""Idioms of real fine-tuning code that the ecosystem check showed lrlint missing or misreading,
each written here as our own variation (never copied from the corpus): the libraries' trainers,
optimizers and freezers, wrappers that receive their backbone, project-defined optimizers,
checkpoint-loading helpers, and demo lists that are not the training data."""

from __future__ import annotations

import pytest

from tests.conftest import assert_marked, findings

ONLY = frozenset({"LR001"})

# a helper over a settings class: groups at the encoder rate and the head rate
SETTINGS_GROUPS = """
        import torch
        from torch import nn
        from transformers import AutoModel
        class Settings:
            backbone = "roberta-base"
            body_lr = 3e-5
            head_lr = HEAD
        class Net(nn.Module):
            def __init__(self, name):
                super().__init__()
                self.model = AutoModel.from_pretrained(name)
                self.out = nn.Linear(768, 1)
        def fold(k):
            net = Net(Settings.backbone)
            def grouped(net, body_lr, head_lr):
                skip = ("bias", "LayerNorm.weight")
                return [
                    {"params": [p for n, p in net.model.named_parameters() if not any(s in n for s in skip)], "lr": body_lr, "weight_decay": 0.01},
                    {"params": [p for n, p in net.model.named_parameters() if any(s in n for s in skip)], "lr": body_lr, "weight_decay": 0.0},
                    {"params": [p for n, p in net.named_parameters() if "model" not in n], "lr": head_lr},
                ]
            groups = grouped(net, body_lr=Settings.body_lr, head_lr=Settings.head_lr)
            opt = torch.optim.AdamW(groups, lr=Settings.body_lr)MARK
        fold(0)
"""

STAY_TRAINABLE = """
        from dataclasses import dataclass, field
        from transformers import AutoModelForSequenceClassification, HfArgumentParser, Trainer, TrainingArguments
        @dataclass
        class Options:
            model: str = "microsoft/deberta-v3-base"
            tune_bias_only: bool = field(default=DEFAULT)
        def run():
            opts, train_args = HfArgumentParser((Options, TrainingArguments)).parse_args_into_dataclasses()
            model = AutoModelForSequenceClassification.from_pretrained(opts.model)
            keep = []
            if opts.tune_bias_only:
                keep.append("bias")
            if len(keep) > 0:
                for name, param in model.named_parameters():
                    param.requires_grad = any(k in name for k in keep) or name.startswith("classifier")
            trainer = Trainer(model=model, args=train_args)MARK
            trainer.train()
"""

RECURSIVE_LOAD = """
        import torch
        from transformers import BertConfig, BertForSequenceClassification
        def restore(args, config):
            model = BertForSequenceClassification(config)
            state = torch.load(args.weights, map_location="cpu")
            def fill(module, prefix=""):
                module._load_from_state_dict(state, prefix, {}, True, [], [], [])
                for name, child in module._modules.items():
                    if child is not None:
                        fill(child, prefix + name + ".")
            FILL
            return model
        def main(args):
            model = restore(args, BertConfig.from_json_file(args.config))
            opt = torch.optim.AdamW(model.parameters(), lr=args.lr)MARK
"""

REBOUND = """
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("microsoft/deberta-v3-large")
        base = 1e-5
        groups = [{"params": model.embeddings.parameters(), "lr": base}]
        for i, block in enumerate(model.encoder.layer):
            groups.append({"params": block.parameters(), "lr": base * 1.1 ** (i + 1)})
        REBIND
        optimizer = torch.optim.AdamW(params=groups, lr=base)MARK
"""

# two lists filled in a loop over a pretrained model, by a test on each parameter
TWO_LISTS = """
        import timm
        import torch
        net = timm.create_model("convnext_tiny", pretrained=True, num_classes=10)
        first, second = [], []
        for name, p in net.named_parameters():
            if TEST:
                second.append(p)
            else:
                first.append(p)
        opt = torch.optim.SGD(first, lr=0.02)
        opt.add_param_group(ADDED)
"""

FIRES = {
    "trl trainer loading the model from a checkpoint name": """
        from trl import DPOTrainer, DPOConfig
        def main(model_args):
            trainer = DPOTrainer(  # lrlint-expect: LR001
                model=model_args.model_name_or_path,
                args=DPOConfig("out"),
            )
            trainer.train()
    """,
    "trl trainer with peft_config from flags that are off by default": """
        from transformers import AutoModelForCausalLM
        from trl import KTOTrainer, KTOConfig, get_peft_config
        def main(model_args):
            policy = AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path)
            peft_config = get_peft_config(model_args)
            trainer = KTOTrainer(policy, args=KTOConfig("out"), peft_config=peft_config)  # lrlint-expect: LR001
    """,
    "trl's setup_chat_format hands the same model back": """
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import SFTTrainer, setup_chat_format
        from recipes.peft_helpers import get_peft_config
        def main(args):
            lm = AutoModelForCausalLM.from_pretrained(args.model_name_or_path)
            tok = AutoTokenizer.from_pretrained(args.model_name_or_path)
            lm, tok = setup_chat_format(lm, tok)
            trainer = SFTTrainer(model=lm, processing_class=tok, peft_config=get_peft_config(args))  # lrlint-expect: LR001
    """,
    "sentence-transformers trainer over a hub model": """
        from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
        encoder = SentenceTransformer("intfloat/e5-small-v2")
        trainer = SentenceTransformerTrainer(model=encoder, train_dataset=pairs)  # lrlint-expect: LR001
    """,
    "wrapper that receives its pretrained backbone through its constructor": """
        import torch
        from torch import nn
        from transformers import ElectraModel
        class Scorer(nn.Module):
            def __init__(self, encoder, hidden=256):
                super().__init__()
                self.encoder = encoder
                self.out = nn.Linear(hidden, 1)
        backbone = ElectraModel.from_pretrained("google/electra-small-discriminator")
        scorer = Scorer(backbone)
        opt = torch.optim.Adam(scorer.parameters(), lr=3e-5)  # lrlint-expect: LR001
    """,
    "an optimizer class the project defines on torch's Optimizer": """
        import torch
        from torch.optim.optimizer import Optimizer
        from transformers import AlbertForQuestionAnswering
        class WarmAdam(Optimizer):
            def __init__(self, params, lr, warmup=0.1):
                super().__init__(params, dict(lr=lr))
        model = AlbertForQuestionAnswering.from_pretrained("albert-base-v2")
        optimizer = WarmAdam(model.parameters(), lr=3e-5)  # lrlint-expect: LR001
    """,
    "a checkpoint loaded by a helper named for it": """
        import torch
        from mylib.modeling import XLNetClassifier
        def run(args):
            net = XLNetClassifier(args.config)
            load_checkpoint(net, args.init_checkpoint)
            optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr)  # lrlint-expect: LR001
    """,
    "a no_decay split over a list of named parameters with a part dropped by name": """
        import torch
        from transformers import DebertaV2ForTokenClassification
        model = DebertaV2ForTokenClassification.from_pretrained("microsoft/deberta-v3-small")
        named = list(model.named_parameters())
        named = [item for item in named if "pooler" not in item[0]]
        skip = ["bias", "LayerNorm.weight"]
        groups = [
            {"params": [p for n, p in named if not any(s in n for s in skip)], "weight_decay": 0.01},
            {"params": [p for n, p in named if any(s in n for s in skip)], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=2e-5)  # lrlint-expect: LR001
    """,
    "an optimizer class picked into a name, beside other models frozen": """
        import torch
        from diffusers import AutoencoderKL, UNet2DConditionModel
        def main(args):
            vae = AutoencoderKL.from_pretrained(args.base, subfolder="vae")
            unet = UNet2DConditionModel.from_pretrained(args.base, subfolder="unet")
            vae.eval().requires_grad_(False)
            if args.use_8bit_adam:
                import bitsandbytes as bnb
                opt_class = bnb.optim.AdamW8bit
            else:
                opt_class = torch.optim.AdamW
            optimizer = opt_class(unet.parameters(), lr=args.learning_rate)  # lrlint-expect: LR001
    """,
    "the pre-transformers BertAdam": """
        from pytorch_pretrained_bert import BertForSequenceClassification
        from pytorch_pretrained_bert.optimization import BertAdam
        model = BertForSequenceClassification.from_pretrained("bert-base-chinese", num_labels=10)
        optimizer = BertAdam(model.parameters(), lr=5e-5, warmup=0.05, t_total=1000)  # lrlint-expect: LR001
    """,
    "an optimizer a config names, through torchtune's instantiate": """
        import torch
        from torchtune import config
        class Recipe:
            def setup(self, cfg):
                self._model = self._build_model(cfg.model, cfg.checkpoint)
                self._opt = config.instantiate(cfg.optimizer, params=self._model.parameters())  # lrlint-expect: LR001
            def _build_model(self, cfg_model, path):
                net = config.instantiate(cfg_model)
                net.load_state_dict(torch.load(path))
                return net
    """,
    "hydra's instantiate over the model's parameters, positionally": """
        from hydra.utils import instantiate
        from transformers import AutoModelForTokenClassification
        def train(cfg):
            tagger = AutoModelForTokenClassification.from_pretrained(cfg.backbone)
            optim = instantiate(cfg.optim, tagger.parameters())  # lrlint-expect: LR001
    """,
    "an optimizer class looked up by name in torch.optim": """
        import torch
        from transformers import AutoModel
        def run(args):
            encoder = AutoModel.from_pretrained(args.encoder)
            optimizer = getattr(torch.optim, args.optimizer)(encoder.parameters(), lr=args.lr)  # lrlint-expect: LR001
    """,
    "a freeze behind a store_true flag, off unless given": """
        import argparse
        import torch
        from transformers import AutoModelForSequenceClassification
        parser = argparse.ArgumentParser()
        parser.add_argument("--freeze_embeddings", action="store_true")
        args = parser.parse_args()
        model = AutoModelForSequenceClassification.from_pretrained("roberta-base")
        if args.freeze_embeddings:
            model.roberta.embeddings.requires_grad_(False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)  # lrlint-expect: LR001
    """,
    "PEFT behind a dataclass field that defaults to False": """
        from dataclasses import dataclass, field
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, HfArgumentParser, Trainer, TrainingArguments
        @dataclass
        class TuneArguments:
            lora: bool = field(default=False, metadata={"help": "train LoRA adapters only"})
            lora_rank: int = 8
        tune_args, training_args = HfArgumentParser((TuneArguments, TrainingArguments)).parse_args_into_dataclasses()
        lm = AutoModelForCausalLM.from_pretrained("EleutherAI/pythia-160m")
        if tune_args.lora or False:
            lm = get_peft_model(lm, LoraConfig(r=tune_args.lora_rank))
        trainer = Trainer(model=lm, args=training_args)  # lrlint-expect: LR001
    """,
    "no_decay groups built by a helper of the file, empty groups dropped": """
        import torch
        from transformers import AutoModelForCausalLM
        def grouped(net, decay, skip=("bias", "norm.weight")):
            groups = [
                {"params": [p for n, p in net.named_parameters() if not any(s in n for s in skip)],
                 "weight_decay": decay},
                {"params": [p for n, p in net.named_parameters() if any(s in n for s in skip)],
                 "weight_decay": 0.0},
            ]
            return [g for g in groups if len(g["params"]) > 0]
        def main(args):
            lm = AutoModelForCausalLM.from_pretrained(args.model_name_or_path)
            optimizer = torch.optim.AdamW(grouped(lm, args.weight_decay), lr=args.lr)  # lrlint-expect: LR001
    """,
    "a freezing helper of the file called only behind an off flag": """
        import torch
        from transformers import AutoModelForSeq2SeqLM
        class Settings:
            freeze_encoder = None
        def freeze_encoder_of(model):
            for p in model.get_encoder().parameters():
                p.requires_grad = False
        settings = Settings()
        model = AutoModelForSeq2SeqLM.from_pretrained("t5-small")
        if settings.freeze_encoder:
            freeze_encoder_of(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)  # lrlint-expect: LR001
    """,
    "a sentence-transformers cross-encoder from the hub": """
        from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer
        ranker = CrossEncoder("cross-encoder/ms-marco-MiniLM-L-6-v2", num_labels=1)
        trainer = CrossEncoderTrainer(model=ranker, train_dataset=pairs)  # lrlint-expect: LR001
    """,
    "a segmentation_models_pytorch model on an ImageNet encoder": """
        import torch
        import segmentation_models_pytorch as smp
        net = smp.Unet("resnet34", encoder_weights="imagenet", classes=3)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)  # lrlint-expect: LR001
    """,
    "attributes unpacked from what a loader returns": """
        import torch
        from torch import nn
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        def load(name):
            return AutoModelForSequenceClassification.from_pretrained(name), AutoTokenizer.from_pretrained(name)
        class Module(nn.Module):
            def __init__(self, name):
                super().__init__()
                self.net, self.tok = load(name)
            def configure(self):
                return torch.optim.Adam(self.parameters(), lr=3e-5)  # lrlint-expect: LR001
    """,
    "a checkpoint loaded in one branch, a config built in the other": """
        import torch
        from transformers import AutoConfig, AutoModelForMaskedLM
        def main(args):
            config = AutoConfig.from_pretrained(args.config_name)
            if args.checkpoint:
                mlm = AutoModelForMaskedLM.from_pretrained(args.checkpoint, config=config)
            elif args.resume_from:
                mlm = torch.load(args.resume_from)
            else:
                mlm = AutoModelForMaskedLM.from_config(config)
            def run(mlm, args):
                optimizer = torch.optim.AdamW(mlm.parameters(), lr=args.lr)  # lrlint-expect: LR001
            run(mlm, args)
    """,
    "a LoRA group at its own rate, a conversion behind a rank flag that is 0 by default": """
        import argparse
        import torch
        from transformers import AutoModelForCausalLM
        from mylib.lora import add_lora, lora_only
        parser = argparse.ArgumentParser()
        parser.add_argument("--rank", type=int, default=0)
        parser.add_argument("--train_lora_only", action="store_true")
        args = parser.parse_args()
        def groups(net, decay, lora_lr=1e-3, skip=("bias", "norm.weight"), adapters=["lora_A", "lora_B"]):
            all_groups = [
                {"params": [p for n, p in net.named_parameters()
                            if not any(s in n for s in skip) and not any(a in n for a in adapters)],
                 "weight_decay": decay},
                {"params": [p for n, p in net.named_parameters() if any(a in n for a in adapters)],
                 "weight_decay": decay, "lr": lora_lr},
                {"params": [p for n, p in net.named_parameters() if any(s in n for s in skip)],
                 "weight_decay": 0.0},
            ]
            kept = []
            for g in all_groups:
                if g["params"]:
                    kept.append(g)
            return kept
        lm = AutoModelForCausalLM.from_pretrained("facebook/opt-350m")
        if args.rank > 0:
            lm = add_lora(lm, args.rank)
            if args.train_lora_only:
                lm = lora_only(lm)
        optimizer = torch.optim.AdamW(groups(lm, 0.1), lr=3e-5)  # lrlint-expect: LR001
    """,
    "a recipe's helper freezes the reference model it returns, not the trained one": """
        import hydra
        class Recipe:
            def setup(self, cfg):
                weights = self.loader.load_checkpoint()
                self.policy = self.build(cfg.model, weights)
                self.reference = self.build_reference(cfg.model, weights)
                self.opt = hydra.utils.instantiate(cfg.optimizer, self.policy.parameters())  # lrlint-expect: LR001
            def build(self, cfg_model, weights):
                net = hydra.utils.instantiate(cfg_model)
                net.load_state_dict(weights)
                return net
            def build_reference(self, cfg_model, weights):
                frozen = hydra.utils.instantiate(cfg_model)
                frozen.load_state_dict(weights)
                for w in frozen.parameters():
                    w.requires_grad = False
                return frozen
    """,
    "one optimizer per parameter, in a dict comprehension": """
        import torch
        from transformers import AutoModelForCausalLM
        lm = AutoModelForCausalLM.from_pretrained("Qwen/Qwen2-0.5B")
        per_param = {w: torch.optim.AdamW([w], lr=1e-5) for w in lm.parameters()}  # lrlint-expect: LR001
    """,
    "a pretrained actor and a fresh critic chained at one rate": """
        import itertools
        import torch
        from transformers import AutoModelForCausalLM
        def models(name):
            actor = AutoModelForCausalLM.from_pretrained(name)
            critic = torch.nn.Linear(8, 1)
            anchor = AutoModelForCausalLM.from_pretrained(name)
            for w in anchor.parameters():
                w.requires_grad = False
            return actor, critic, anchor
        class Loop:
            def __init__(self, name):
                self.actor, self.critic, self.anchor = models(name)
                self.opt = torch.optim.AdamW(  # lrlint-expect: LR001
                    itertools.chain(self.actor.parameters(), self.critic.parameters()), lr=1e-6
                )
    """,
    "the model held by an experiment object, put in eval mode when built": """
        import torch
        from transformers import AutoModel
        class Encoder(torch.nn.Module):
            def __init__(self, name):
                super().__init__()
                self.backbone = AutoModel.from_pretrained(name)
                self.dense = torch.nn.Linear(768, 768)
        class Experiment:
            def __init__(self, args):
                self.args = args
                self.model = Encoder(args.model_name).eval().to(args.device)
        def main(args):
            exp = Experiment(args)
            optimizer = torch.optim.AdamW(params=exp.model.parameters(), lr=args.lr)  # lrlint-expect: LR001
    """,
    "decay and no-decay lists filled in a loop over the model, both at the one rate": """
        import timm
        import torch
        def build(args):
            net = timm.create_model("convnext_tiny", pretrained=True, num_classes=10)
            decay, no_decay = [], []
            for name, p in net.named_parameters():
                if p.ndim <= 1 or name.endswith(".bias"):
                    no_decay.append(p)
                else:
                    decay.append(p)
            opt = torch.optim.SGD(decay, lr=0.02, momentum=0.9)  # lrlint-expect: LR001
            opt.add_param_group({"params": no_decay, "weight_decay": 0.0})
            return opt
    """,
    "three lists of one tuple filled per module, added as groups without a rate": """
        import torch
        from torch import nn
        from torchvision.models import resnet18
        net = resnet18(weights="IMAGENET1K_V1")
        lists = [], [], []
        def count(group):
            return sum(p.numel() for p in group)
        for module in net.modules():
            if hasattr(module, "bias") and isinstance(module.bias, nn.Parameter):
                lists[0].append(module.bias)
            if isinstance(module, nn.BatchNorm2d):
                lists[1].append(module.weight)
            elif hasattr(module, "weight") and isinstance(module.weight, nn.Parameter):
                lists[2].append(module.weight)
        opt = torch.optim.Adam(lists[2], lr=1e-3, weight_decay=5e-4)  # lrlint-expect: LR001
        opt.add_param_group({"params": lists[0], "weight_decay": 0.0})
        opt.add_param_group({"params": lists[1], "weight_decay": 0.0})
    """,
    "a freeze list built from a flag whose default freezes nothing": """
        import argparse
        import torch
        import timm
        parser = argparse.ArgumentParser()
        parser.add_argument("--freeze-stages", dest="freeze_stages", type=int, default=0)
        args = parser.parse_args()
        net = timm.create_model("resnet50", pretrained=True)
        frozen = [f"layer{i}." for i in range(1, args.freeze_stages + 1)] if args.freeze_stages else []
        for name, p in net.named_parameters():
            if any(prefix in name for prefix in frozen):
                p.requires_grad = False
        opt = torch.optim.SGD(net.parameters(), lr=0.01)  # lrlint-expect: LR001
    """,
    "an EMA copy frozen beside the trained model": """
        import copy
        import torch
        from transformers import AutoModelForImageClassification
        model = AutoModelForImageClassification.from_pretrained("google/vit-base-patch16-224")
        ema = copy.deepcopy(model)
        for p in ema.parameters():
            p.requires_grad_(False)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-5)  # lrlint-expect: LR001
    """,
    "names kept trainable only behind flags that are off: no freeze by default": STAY_TRAINABLE.replace(
        "DEFAULT", "False"
    ).replace("MARK", "  # lrlint-expect: LR001"),
    "weights loaded by a recursive _load_from_state_dict helper": RECURSIVE_LOAD.replace(
        "FILL", 'fill(model, prefix="bert.")'
    ).replace("MARK", "  # lrlint-expect: LR001"),
    "layer groups built, then the name bound again to all parameters": REBOUND.replace(
        "REBIND", "groups = model.parameters()  # back to one rate"
    ).replace("MARK", "  # lrlint-expect: LR001"),
    "encoder and head rates from a settings class that are the same number": SETTINGS_GROUPS.replace(
        "HEAD", "3e-5"
    ).replace("MARK", "  # lrlint-expect: LR001"),
}

QUIET = {
    "a guard read before its body rebinds the name it tests": """
        import argparse
        import torch
        from transformers import BertForSequenceClassification
        parser = argparse.ArgumentParser()
        parser.add_argument("--freeze_layers", type=int, default=-1)
        args = parser.parse_args()
        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
        n_freeze = args.freeze_layers
        if n_freeze < 0:
            n_freeze = 8
            for p in model.bert.embeddings.parameters():
                p.requires_grad = False
        opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "a freeze list whose default range is too long to evaluate": """
        import argparse
        import torch
        import timm
        parser = argparse.ArgumentParser()
        parser.add_argument("--freeze", nargs="+", type=int, default=[300000000])
        args = parser.parse_args()
        net = timm.create_model("resnet50", pretrained=True)
        frozen = [f"layer{i}." for i in range(args.freeze[0])]
        for name, p in net.named_parameters():
            if any(prefix in name for prefix in frozen):
                p.requires_grad = False
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
    """,
    "the lower layers gathered in an nn.Sequential and frozen": """
        import torch
        import torchvision
        from torch import nn
        model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
        lower = nn.Sequential(model.conv1, model.bn1, model.layer1, model.layer2)
        for p in lower.parameters():
            p.requires_grad = False
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
    """,
    "a global freeze list filled by a function": """
        import torch
        from transformers import AutoModelForSequenceClassification
        FROZEN = []
        def configure(cfg):
            if cfg.get("freeze_embeddings", True):
                FROZEN.append("embeddings")
        configure({"model": "bert-base-uncased"})
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        for n, p in model.named_parameters():
            if any(x in n for x in FROZEN):
                p.requires_grad = False
        opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "layer groups built and given to the optimizer": REBOUND.replace("REBIND", "").replace(
        "MARK", ""
    ),
    "a model built from a config, its load helper never called": RECURSIVE_LOAD.replace(
        "FILL", "pass"
    ).replace("MARK", ""),
    "names kept trainable behind a flag that is on": STAY_TRAINABLE.replace(
        "DEFAULT", "True"
    ).replace("MARK", ""),
    "a copy of the pretrained model, frozen, is what the optimizer takes": """
        import copy
        import torch
        import lightning as L
        from transformers import AutoModel
        class Probe(L.LightningModule):
            def __init__(self, name):
                super().__init__()
                encoder = AutoModel.from_pretrained(name)
                self.body = copy.deepcopy(encoder)
                for p in self.body.parameters():
                    p.requires_grad = False
            def configure_optimizers(self):
                return torch.optim.AdamW(self.body.parameters(), lr=1e-5)
    """,
    "lists filled in a loop, one of them added at a rate of its own": TWO_LISTS.replace(
        "TEST", "p.ndim <= 1"
    ).replace("ADDED", '{"params": second, "lr": 0.2, "weight_decay": 0.0}'),
    "lists filled in a loop, one of them never given to the optimizer": TWO_LISTS.replace(
        "TEST", 'name.endswith(".bias")'
    ).replace("opt.add_param_group(ADDED)", ""),
    "lists split by part names, not by kind": TWO_LISTS.replace(
        "TEST", 'name.startswith("head")'
    ).replace("ADDED", '{"params": second}'),
    "a freeze list built from a flag whose default freezes the stem": """
        import argparse
        import torch
        import timm
        parser = argparse.ArgumentParser()
        parser.add_argument("--freeze", nargs="+", type=int, default=[2])
        args = parser.parse_args()
        net = timm.create_model("resnet50", pretrained=True)
        frozen = [f"layer{i}." for i in range(1, args.freeze[0] + 1)]
        for name, p in net.named_parameters():
            if any(prefix in name for prefix in frozen):
                p.requires_grad = False
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
    """,
    "encoder and head rates from a settings class that differ": SETTINGS_GROUPS.replace(
        "HEAD", "1e-3"
    ).replace("MARK", ""),
    "an experiment object's head alone": """
        import torch
        from transformers import AutoModel
        class Experiment:
            def __init__(self, name):
                self.model = AutoModel.from_pretrained(name).eval()
                self.head = torch.nn.Linear(768, 2)
        exp = Experiment("bert-base-uncased")
        optimizer = torch.optim.AdamW(exp.head.parameters(), lr=1e-3)
    """,
    "a helper freezes the lower blocks of the model it returns, and that model trains": """
        import torch
        from transformers import AutoModelForSequenceClassification
        class Job:
            def setup(self, name):
                self.net = self.build(name)
                self.opt = torch.optim.AdamW(self.net.parameters(), lr=2e-5)
            def build(self, name):
                net = AutoModelForSequenceClassification.from_pretrained(name)
                for w in net.bert.embeddings.parameters():
                    w.requires_grad = False
                return net
    """,
    "one optimizer per parameter of the new head only": """
        import torch
        from transformers import AutoModel
        body = AutoModel.from_pretrained("bert-base-uncased")
        head = torch.nn.Linear(768, 2)
        per_param = {w: torch.optim.AdamW([w], lr=1e-3) for w in head.parameters()}
    """,
    "a LoRA conversion behind a rank flag that is on by default": """
        import argparse
        import torch
        from transformers import AutoModelForCausalLM
        from mylib.lora import add_lora
        parser = argparse.ArgumentParser()
        parser.add_argument("--rank", type=int, default=8)
        args = parser.parse_args()
        def lora_only(net):
            for name, param in net.named_parameters():
                param.requires_grad = "lora_" in name
            return net
        lm = AutoModelForCausalLM.from_pretrained("facebook/opt-350m")
        if args.rank > 0:
            lm = lora_only(add_lora(lm, args.rank))
        optimizer = torch.optim.AdamW(lm.parameters(), lr=3e-5)
    """,
    "a group of named parts at their own rate is not a LoRA group": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("roberta-base")
        heads = ["classifier"]
        optimizer = torch.optim.AdamW(
            [
                {"params": [p for n, p in model.named_parameters() if not any(h in n for h in heads)]},
                {"params": [p for n, p in model.named_parameters() if any(h in n for h in heads)], "lr": 1e-3},
            ],
            lr=2e-5,
        )
    """,
    "a model from the hub replaced, whatever the branch, by one built from scratch": """
        import torch
        from torch import nn
        from transformers import AutoModel
        def main(args):
            if args.warm_start:
                net = AutoModel.from_pretrained(args.checkpoint)
            else:
                net = nn.Linear(4, 2)
            net = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
            optimizer = torch.optim.AdamW(net.parameters(), lr=args.lr)
    """,
    "a segmentation_models_pytorch model trained from scratch": """
        import torch
        import segmentation_models_pytorch as smp
        net = smp.FPN("resnet34", encoder_weights=None, classes=3)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    """,
    "the second of what a loader returns is not the model": """
        import torch
        from torch import nn
        from transformers import AutoTokenizer
        def load(name):
            return nn.Linear(4, 2), AutoTokenizer.from_pretrained(name)
        class Module(nn.Module):
            def __init__(self, name):
                super().__init__()
                self.net, self.tok = load(name)
            def configure(self):
                return torch.optim.Adam(self.parameters(), lr=3e-5)
    """,
    "instantiate of a config that is not an optimizer's": """
        from torchtune import config
        from transformers import AutoModel
        encoder = AutoModel.from_pretrained("bert-base-uncased")
        loss = config.instantiate(cfg.loss, encoder.parameters())
    """,
    "torchtune's set_trainable_params keeps only the adapters trainable": """
        import torch
        from torchtune import config
        from torchtune.modules.peft import get_adapter_params, set_trainable_params
        def setup(cfg):
            model = config.instantiate(cfg.model)
            model.load_state_dict(torch.load(cfg.checkpoint), strict=False)
            set_trainable_params(model, get_adapter_params(model))
            return config.instantiate(cfg.optimizer, model.parameters())
    """,
    "groups from a helper that gives the head its own rate": """
        import torch
        from transformers import AutoModelForSequenceClassification
        def grouped(net, lr):
            return [
                {"params": [p for n, p in net.named_parameters() if "classifier" not in n]},
                {"params": [p for n, p in net.named_parameters() if "classifier" in n], "lr": lr * 10},
            ]
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased")
        optimizer = torch.optim.AdamW(grouped(model, 2e-5), lr=2e-5)
    """,
    "an optimizer built only behind a flag that is off by default": """
        import argparse
        import bitsandbytes as bnb
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM
        parser = argparse.ArgumentParser()
        parser.add_argument("--qlora", action="store_true")
        args = parser.parse_args()
        lm = AutoModelForCausalLM.from_pretrained("facebook/opt-350m")
        if args.qlora:
            lm = get_peft_model(lm, LoraConfig(r=16))
            optimizer = bnb.optim.PagedAdamW(lm.parameters(), lr=2e-4)
    """,
    "a freeze behind a flag whose default is on": """
        from dataclasses import dataclass
        import torch
        from transformers import AutoModelForSequenceClassification
        @dataclass
        class Options:
            freeze_lower: bool = True
        opts = Options()
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased")
        if opts.freeze_lower:
            model.bert.embeddings.requires_grad_(False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "parts of the trained model frozen through a loop variable": """
        import torch
        from transformers import GPT2LMHeadModel
        model = GPT2LMHeadModel.from_pretrained("gpt2")
        for module in [model.transformer.wte, *model.transformer.h[:8]]:
            module.requires_grad_(False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    """,
    "the trained model itself frozen with requires_grad_": """
        import torch
        from diffusers import UNet2DConditionModel
        unet = UNet2DConditionModel.from_pretrained("some/sd", subfolder="unet")
        unet.down_blocks.requires_grad_(False)
        opt_class = torch.optim.AdamW
        optimizer = opt_class(unet.parameters(), lr=1e-5)
    """,
    "trl trainer applying a LoRA config": """
        from peft import LoraConfig
        from trl import SFTTrainer
        trainer = SFTTrainer(model="Qwen/Qwen2-0.5B", peft_config=LoraConfig(r=8))
    """,
    "loralib marks only the LoRA weights trainable": """
        import torch
        import loralib as lora
        from transformers import GPT2LMHeadModel
        model = GPT2LMHeadModel.from_pretrained("gpt2")
        lora.mark_only_lora_as_trainable(model)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    """,
    "transformers' PEFT integration adds an adapter": """
        import torch
        from peft import LoraConfig
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained("facebook/opt-125m")
        model.add_adapter(LoraConfig(r=4))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    """,
    "a backbone frozen before the wrapper takes it": """
        import torch
        from torch import nn
        from transformers import AutoModel
        class Head(nn.Module):
            def __init__(self, body):
                super().__init__()
                self.body = body
                self.fc = nn.Linear(768, 2)
        body = AutoModel.from_pretrained("distilroberta-base")
        for weight in body.parameters():
            weight.requires_grad = False
        head = Head(body)
        optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
    """,
    "a comprehension that selects a part by name": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased")
        optimizer = torch.optim.AdamW(
            [p for n, p in model.named_parameters() if "classifier" in n], lr=1e-3
        )
    """,
    "sentence-transformers assembled from modules the script builds": """
        from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, models
        words = models.WordEmbeddings.from_text_file("glove.6B.300d.txt.gz")
        pool = models.Pooling(words.get_word_embedding_dimension())
        encoder = SentenceTransformer(modules=[words, pool])
        trainer = SentenceTransformerTrainer(model=encoder, train_dataset=pairs)
    """,
}


@pytest.mark.parametrize("snippet", FIRES.values(), ids=FIRES.keys())
def test_fires(snippet: str) -> None:
    assert_marked(snippet, ONLY)


@pytest.mark.parametrize("snippet", QUIET.values(), ids=QUIET.keys())
def test_quiet(snippet: str) -> None:
    assert findings(snippet, ONLY) == set()


def test_a_demo_list_beside_a_loaded_dataset_is_not_the_training_data() -> None:
    demo = """
        import torch
        from datasets import load_dataset
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("cl-tohoku/bert-base-japanese")
        sample_texts = ["good film", "bad film", "fine film"]
        data = load_dataset("imdb")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """
    assert findings(demo, frozenset({"LR002"})) == set()
    # without a dataset read from outside the code, the list is all the script trains on
    alone = demo.replace('        data = load_dataset("imdb")\n', "")
    assert findings(alone, frozenset({"LR002"})) == {(4, "LR002")}


LR006 = frozenset({"LR006"})


def test_adamw_default_decay_over_a_whole_model_named_at_run_time_is_lr006() -> None:
    snippet = """
        import torch
        from transformers import AutoModelForCausalLM
        def main(args):
            model = AutoModelForCausalLM.from_pretrained(args.model_name_or_path)
            optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    """
    assert findings(snippet, LR006) == {(5, "LR006")}
    assert findings(snippet.replace("lr=args.lr)", "lr=args.lr, weight_decay=0.0)"), LR006) == set()
    # Adam's default weight decay is 0: nothing is decayed
    assert findings(snippet.replace("torch.optim.AdamW", "torch.optim.Adam"), LR006) == set()
    # a split that exempts the 1-d parameters is not a whole-model group
    split = snippet.replace(
        "torch.optim.AdamW(model.parameters(), lr=args.lr)",
        "torch.optim.AdamW([{'params': [p for p in model.parameters() if p.ndim > 1]},"
        " {'params': [p for p in model.parameters() if p.ndim <= 1], 'weight_decay': 0.0}],"
        " lr=args.lr)",
    )
    assert findings(split, LR006) == set()


def test_a_freeze_behind_a_constant_false_flag_does_not_count() -> None:
    snippet = """
        from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, WhisperForConditionalGeneration
        freeze_encoder = False
        model = WhisperForConditionalGeneration.from_pretrained("openai/whisper-tiny")
        if freeze_encoder:
            model.freeze_encoder()
        trainer = Seq2SeqTrainer(model=model, args=Seq2SeqTrainingArguments("out"))
    """
    assert findings(snippet, ONLY) == {(6, "LR001")}
    # the same flag set to True freezes the encoder: quiet
    assert findings(snippet.replace("= False", "= True"), ONLY) == set()


PARTS = """
    import itertools
    import torch
    from torch import nn
    from segment_anything import sam_model_registry

    class Segmenter(nn.Module):
        def __init__(self, backbone, decoder, prompts):
            super().__init__()
            self.backbone, self.decoder, self.prompts = backbone, decoder, prompts
            for weight in self.prompts.parameters():
                weight.requires_grad = False

    sam = sam_model_registry["vit_l"](checkpoint="weights/sam_vit_l.pth")
    net = Segmenter(sam.image_encoder, sam.mask_decoder, sam.prompt_encoder)
    trained = list(net.backbone.parameters()) + list(net.decoder.parameters())
    optimizer = torch.optim.AdamW(trained, lr=5e-5, weight_decay=0.05)
"""


def test_parts_of_a_pretrained_model_summed_into_one_group() -> None:
    both = frozenset({"LR001", "LR006"})
    assert findings(PARTS, both) == {(16, "LR001"), (16, "LR006")}
    chained = PARTS.replace(
        "list(net.backbone.parameters()) + list(net.decoder.parameters())",
        "itertools.chain(net.backbone.parameters(), net.decoder.parameters())",
    )
    assert findings(chained, both) == {(16, "LR001"), (16, "LR006")}
    # a freeze of a part the optimizer takes is a freeze: LR001 is quiet
    frozen_backbone = PARTS.replace("self.prompts.parameters()", "self.backbone.parameters()")
    assert findings(frozen_backbone, ONLY) == set()
    # so is a frozen backbone beside an optimizer over the decoder and the prompts
    decoder_only = frozen_backbone.replace("net.backbone.parameters()", "net.prompts.parameters()")
    assert findings(decoder_only, ONLY) == set()
    # only heads and adapters in the group: a deliberate probe, not the model at one rate
    heads = PARTS.replace("net.backbone.parameters()", "net.prompts.parameters()").replace(
        "net.decoder.parameters()", "net.head.parameters()"
    )
    assert findings(heads, ONLY) == set()
    # SAM built without its checkpoint is trained from scratch
    scratch = PARTS.replace('checkpoint="weights/sam_vit_l.pth"', "checkpoint=None")
    assert findings(scratch, ONLY) == set()


def test_a_single_dash_flag_is_read_with_its_default() -> None:
    snippet = """
        import argparse
        import torch
        from transformers import AutoModel
        parser = argparse.ArgumentParser()
        parser.add_argument("-wd", "-weight_decay", type=float, default=0.01)
        args = parser.parse_args()
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=args.wd)
    """
    assert findings(snippet, LR006) == {(8, "LR006")}
    assert findings(snippet.replace("default=0.01", "default=0.0"), LR006) == set()


def test_lr006_on_what_trains_beside_another_frozen_model() -> None:
    snippet = """
        import torch
        from diffusers import AutoencoderKL, UNet2DConditionModel
        def main(args):
            vae = AutoencoderKL.from_pretrained(args.base, subfolder="vae")
            unet = UNet2DConditionModel.from_pretrained(args.base, subfolder="unet")
            vae.requires_grad_(False)
            optimizer = torch.optim.AdamW(unet.parameters(), lr=args.lr)
    """
    assert findings(snippet, LR006) == {(7, "LR006")}
    trainable = "filter(lambda w: w.requires_grad, unet.parameters())"
    assert findings(snippet.replace("unet.parameters()", trainable), LR006) == {(7, "LR006")}
    listed = "[w for w in unet.parameters() if w.requires_grad]"
    assert findings(snippet.replace("unet.parameters()", listed), LR006) == {(7, "LR006")}
    # the trained model itself frozen (only adapters train): which 1-d weights train is unknown
    frozen = snippet.replace("vae.requires_grad_(False)", "unet.requires_grad_(False)")
    assert findings(frozen, LR006) == set()


def test_lr006_beside_a_freeze_of_one_stack() -> None:
    snippet = """
        import torch
        from transformers import Wav2Vec2ForCTC
        model = Wav2Vec2ForCTC.from_pretrained(CHECKPOINT)
        model.freeze_feature_encoder()
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
    """
    # the transformer layers and the CTC head train on, their norms and biases decayed
    assert findings(snippet, LR006) == {(5, "LR006")}
    whole = snippet.replace("model.freeze_feature_encoder()", "model.requires_grad_(False)")
    assert findings(whole, LR006) == set()


def test_params_chosen_by_an_off_by_default_flag_beside_an_optional_frozen_model() -> None:
    snippet = """
        import argparse
        import itertools
        import torch
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel
        parser = argparse.ArgumentParser()
        parser.add_argument("--train_text_encoder", action="store_true")
        parser.add_argument("--latents", action="store_true")
        args = parser.parse_args()
        vae = AutoencoderKL.from_pretrained(BASE, subfolder="vae")
        if args.latents:
            vae = None
        te = CLIPTextModel.from_pretrained(BASE, subfolder="text_encoder")
        unet = UNet2DConditionModel.from_pretrained(BASE, subfolder="unet")
        if vae is not None:
            vae.requires_grad_(False)
        both = itertools.chain(unet.parameters(), te.parameters())
        params = both if args.train_text_encoder else unet.parameters()
        optimizer = torch.optim.AdamW(params, lr=5e-6, weight_decay=1e-2)
    """
    both = frozenset({"LR001", "LR006"})
    assert findings(snippet, both) == {(19, "LR001"), (19, "LR006")}
    # with the flag on by default, which parameters train is not read: quiet
    on = snippet.replace(
        '"--train_text_encoder", action="store_true"', '"--train_text_encoder", default=True'
    )
    assert findings(on, both) == set()


HELPER_GROUPS = """
    import torch
    from torch import nn
    from transformers import GPT2Config, GPT2Model
    class Settings:
        wd = 0.05
    class Regressor(nn.Module):
        def __init__(self, name, pretrained):
            super().__init__()
            if pretrained:
                self.backbone = GPT2Model.from_pretrained(name)
            else:
                self.backbone = GPT2Model(GPT2Config())
            self.out = nn.Linear(768, 1)
    def run(args):
        lengths = [i % 7 for i in range(200_000)]  # the interpreter's budget runs out here
        net = Regressor(args.checkpoint, pretrained=True)
        def grouped(net, decay=0.0):
            skip = ["bias", "LayerNorm.weight"]
            return_value = [
                {"params": [p for n, p in net.backbone.named_parameters() if not any(s in n for s in skip)], "weight_decay": decay},
                {"params": [p for n, p in net.backbone.named_parameters() if any(s in n for s in skip)], "weight_decay": 0.0},
                {"params": net.out.parameters(), "lr": 1e-3, "weight_decay": 0.0},
            ]
            return return_value
        optimizer = torch.optim.AdamW(grouped(net, decay=Settings.wd), lr=3e-5)
"""


def test_lr006_on_groups_a_local_helper_returns_for_a_wrapper_of_a_named_family() -> None:
    """Read as written (the interpreter gives up before the optimizer, as on long notebooks):
    the helper's groups, the rate its call passes, the family the wrapper's class names."""
    # GPT-2's norms are ln_1/ln_2/ln_f: the LayerNorm-named skip list lets them decay
    assert findings(HELPER_GROUPS, LR006) == {(25, "LR006")}
    # at the helper's own default (0.0) nothing is decayed
    assert (
        findings(HELPER_GROUPS.replace("grouped(net, decay=Settings.wd)", "grouped(net)"), LR006)
        == set()
    )
    # a skip list that names GPT-2's norms exempts them
    named = HELPER_GROUPS.replace('"LayerNorm.weight"', '"ln_"')
    assert findings(named, LR006) == set()


def test_a_freeze_list_empty_in_one_branch_only_still_counts() -> None:
    snippet = """
        import torch
        import timm
        def main(args):
            net = timm.create_model("resnet50", pretrained=True)
            if args.stem_frozen:
                frozen = ["conv1.", "bn1."]
            else:
                frozen = []
            for name, p in net.named_parameters():
                if any(prefix in name for prefix in frozen):
                    p.requires_grad = False
            opt = torch.optim.SGD(net.parameters(), lr=0.01)
    """
    assert findings(snippet, ONLY) == set()
