"""LR001: each snippet marks where the rule must fire (`# lrlint-expect: LR001`); unmarked
snippets must stay quiet."""

from __future__ import annotations

import pytest

from tests.conftest import assert_marked, findings

ONLY = frozenset({"LR001"})

FIRES = {
    "torch.optim.AdamW": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)  # lrlint-expect: LR001
    """,
    "module alias": """
        import torch.optim as optim
        from transformers import AutoModel
        model = AutoModel.from_pretrained("roberta-base")
        optimizer = optim.AdamW(model.parameters(), lr=1e-5)  # lrlint-expect: LR001
    """,
    "from torch import optim": """
        from torch import optim
        from transformers import AutoModel
        model = AutoModel.from_pretrained("roberta-base")
        optimizer = optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)  # lrlint-expect: LR001
    """,
    "class alias": """
        from torch.optim import AdamW as AW
        from transformers import BertForSequenceClassification
        model = BertForSequenceClassification.from_pretrained("bert-base-cased")
        opt = AW(model.parameters(), lr=3e-5)  # lrlint-expect: LR001
    """,
    "legacy transformers.AdamW": """
        from transformers import AdamW, AutoModelForTokenClassification
        model = AutoModelForTokenClassification.from_pretrained("bert-base-cased")
        optimizer = AdamW(model.parameters(), lr=5e-5, correct_bias=False)  # lrlint-expect: LR001
    """,
    "bitsandbytes": """
        import bitsandbytes as bnb
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained("gpt2")
        optimizer = bnb.optim.AdamW8bit(model.parameters(), lr=2e-4)  # lrlint-expect: LR001
    """,
    "Adafactor": """
        from transformers import T5ForConditionalGeneration
        from transformers.optimization import Adafactor
        model = T5ForConditionalGeneration.from_pretrained("t5-small")
        optimizer = Adafactor(  # lrlint-expect: LR001
            model.parameters(), lr=1e-3, relative_step=False, scale_parameter=False
        )
    """,
    "Lion on a timm backbone": """
        import timm
        from lion_pytorch import Lion
        model = timm.create_model("vit_base_patch16_224", pretrained=True, num_classes=10)
        optimizer = Lion(model.parameters(), lr=1e-4, weight_decay=1e-2)  # lrlint-expect: LR001
    """,
    "torchvision weights": """
        import torch
        from torchvision import models
        model = models.resnet50(weights=models.ResNet50_Weights.DEFAULT)
        model.fc = torch.nn.Linear(2048, 5)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)  # lrlint-expect: LR001
    """,
    "params through a variable, model moved to a device": """
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        model = model.to("cuda")
        params = model.parameters()
        optimizer = torch.optim.AdamW(params, lr=2e-5)  # lrlint-expect: LR001
    """,
    "filter on requires_grad with nothing frozen": """
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        trainable = filter(lambda p: p.requires_grad, model.parameters())
        optimizer = torch.optim.AdamW(trainable, lr=2e-5)  # lrlint-expect: LR001
    """,
    "generator over named_parameters": """
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(  # lrlint-expect: LR001
            (p for n, p in model.named_parameters() if p.requires_grad), lr=2e-5
        )
    """,
    "the classic no_decay split at one lr": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        no_decay = ["bias", "LayerNorm.weight"]
        grouped = [
            {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
             "weight_decay": 0.01},
            {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)],
             "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(grouped, lr=2e-5)  # lrlint-expect: LR001
    """,
    "helper function, model from its call site": """
        import torch
        from transformers import AutoModel

        def build_optimizer(net, lr):
            return torch.optim.AdamW(net.parameters(), lr=lr)  # lrlint-expect: LR001

        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = build_optimizer(model, 2e-5)
    """,
    "model returned by a helper, built in main()": """
        import torch
        from transformers import AutoModelForSequenceClassification

        def load_model(name):
            model = AutoModelForSequenceClassification.from_pretrained(name, num_labels=3)
            return model

        def main():
            model = load_model("distilbert-base-uncased")
            optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)  # lrlint-expect: LR001
    """,
    "accelerate prepare before the optimizer": """
        import torch
        from accelerate import Accelerator
        from transformers import AutoModel
        accelerator = Accelerator()
        model = AutoModel.from_pretrained("bert-base-uncased")
        model, loader = accelerator.prepare(model, [])
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)  # lrlint-expect: LR001
    """,
    "Lightning configure_optimizers over self.parameters()": """
        import lightning.pytorch as pl
        import torch
        from transformers import AutoModel

        class Classifier(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.encoder = AutoModel.from_pretrained("bert-base-uncased")
                self.head = torch.nn.Linear(768, 2)

            def configure_optimizers(self):
                return torch.optim.AdamW(self.parameters(), lr=2e-5)  # lrlint-expect: LR001
    """,
    "the seed's custom model": """
        import torch.nn as nn
        from torch.optim import AdamW
        from transformers import BertModel

        class DocumentClassifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = BertModel.from_pretrained("klue/bert-base")
                self.classifier = nn.Linear(768, 4)

        LEARNING_RATE = 2e-5
        model = DocumentClassifier()
        optimizer = AdamW(model.parameters(), lr=LEARNING_RATE)  # lrlint-expect: LR001
    """,
    "checkpoint loaded with load_state_dict": """
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(10, 10)

        model = Net()
        model.load_state_dict(torch.load("pretrained.pt"))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)  # lrlint-expect: LR001
    """,
    "HF Trainer on its default optimizer": """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        args = TrainingArguments("out", learning_rate=3e-5)
        trainer = Trainer(model=model, args=args, train_dataset=None)  # lrlint-expect: LR001
    """,
    "Trainer with optimizer_cls_and_kwargs still has one lr": """
        import torch
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        trainer = Trainer(  # lrlint-expect: LR001
            model=model,
            args=TrainingArguments("out"),
            optimizer_cls_and_kwargs=(torch.optim.SGD, {"momentum": 0.9}),
        )
    """,
    "Trainer subclass without a create_optimizer override": """
        from transformers import AutoModel, Trainer
        class WeightedTrainer(Trainer):
            def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
                return super().compute_loss(model, inputs, return_outputs)
        model = AutoModel.from_pretrained("bert-base-uncased")
        trainer = WeightedTrainer(model=model)  # lrlint-expect: LR001
    """,
    "uniform optimizer inside a Trainer subclass's create_optimizer": """
        import torch
        from transformers import AutoModel, Trainer

        class MyTrainer(Trainer):
            def create_optimizer(self):
                self.optimizer = torch.optim.AdamW(  # lrlint-expect: LR001
                    self.model.parameters(), lr=self.args.learning_rate
                )
                return self.optimizer

        trainer = MyTrainer(model=AutoModel.from_pretrained("bert-base-uncased"))
    """,
    "multiprocessing.freeze_support() freezes nothing": """
        import multiprocessing
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)  # lrlint-expect: LR001
        if __name__ == "__main__":
            multiprocessing.freeze_support()
    """,
    "a frozen distillation teacher does not freeze the student": """
        import torch
        from transformers import AutoModelForSequenceClassification
        teacher = AutoModelForSequenceClassification.from_pretrained("bert-large-uncased")
        for p in teacher.parameters():
            p.requires_grad = False
        student = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
        optimizer = torch.optim.AdamW(student.parameters(), lr=2e-5)  # lrlint-expect: LR001
    """,
    "freezing only the new head leaves the backbone at one rate": """
        import torch
        from transformers import BertForSequenceClassification
        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
        for p in model.classifier.parameters():
            p.requires_grad = False
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)  # lrlint-expect: LR001
    """,
}

QUIET = {
    "model built from a config": """
        import torch
        from transformers import BertConfig, BertForSequenceClassification, AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        model = BertForSequenceClassification(BertConfig(num_hidden_layers=4))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    """,
    "AutoModel.from_config": """
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM
        config = AutoConfig.from_pretrained("gpt2")
        model = AutoModelForCausalLM.from_config(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4)
    """,
    "lower layers frozen (the seed's option 1)": """
        from torch.optim import AdamW
        from transformers import BertForSequenceClassification
        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
        for param in model.bert.encoder.layer[:8].parameters():
            param.requires_grad = False
        optimizer = AdamW(model.parameters(), lr=2e-5)
    """,
    "requires_grad_(False) on the embeddings": """
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        model.embeddings.requires_grad_(False)
        optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=2e-5)
    """,
    "PEFT freezes the base model": """
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained("gpt2")
        model = get_peft_model(model, LoraConfig(r=8))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    """,
    "depth-wise groups (the seed's option 2)": """
        from torch.optim import AdamW
        from transformers import BertForSequenceClassification
        model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
        optimizer = AdamW([
            {"params": model.bert.embeddings.parameters(), "lr": 1e-6},
            {"params": model.bert.encoder.layer[:6].parameters(), "lr": 5e-6},
            {"params": model.bert.encoder.layer[6:].parameters(), "lr": 1e-5},
            {"params": model.bert.pooler.parameters(), "lr": 1e-5},
            {"params": model.classifier.parameters(), "lr": 2e-5},
        ], weight_decay=0.01)
    """,
    "a user's own AdamW and Optimizer classes": """
        from transformers import AutoModel

        class AdamW:
            def __init__(self, params, lr):
                self.params = list(params)

        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = AdamW(model.parameters(), lr=2e-5)
    """,
    "a user's own Trainer class": """
        from transformers import AutoModel

        class Trainer:
            def __init__(self, model):
                self.model = model

        trainer = Trainer(model=AutoModel.from_pretrained("bert-base-uncased"))
    """,
    ".parameters() on something that is not a pretrained model": """
        import torch

        class Circuit:
            def parameters(self):
                return [torch.zeros(3, requires_grad=True)]

        circuit = Circuit()
        optimizer = torch.optim.Adam(circuit.parameters(), lr=0.1)
    """,
    "Trainer given its optimizer": """
        import torch
        from transformers import AutoModel, Trainer
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW([
            {"params": model.embeddings.parameters(), "lr": 1e-6},
            {"params": model.encoder.parameters(), "lr": 1e-5},
        ])
        trainer = Trainer(model=model, optimizers=(optimizer, None))
    """,
    "Trainer subclass that overrides create_optimizer": """
        from transformers import AutoModel, Trainer

        class LayerwiseTrainer(Trainer):
            def create_optimizer(self):
                self.optimizer = build_layerwise(self.model)
                return self.optimizer

        trainer = LayerwiseTrainer(model=AutoModel.from_pretrained("bert-base-uncased"))
    """,
    "timm and torchvision without pretrained weights": """
        import timm
        import torch
        from torchvision import models
        a = timm.create_model("resnet50", pretrained=False)
        b = models.resnet18(weights=None)
        opt_a = torch.optim.SGD(a.parameters(), lr=0.1)
        opt_b = torch.optim.SGD(b.parameters(), lr=0.1)
    """,
    "only the new head is optimized": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.classifier.parameters(), lr=1e-3)
    """,
    "best weights restored after training from scratch": """
        import torch
        import torch.nn as nn
        model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.load_state_dict(torch.load("best.pt"))
    """,
    "an imported model class built fresh beside a pretrained encoder": """
        import torch
        from transformers import AutoModel
        from mygan import Generator
        encoder = AutoModel.from_pretrained("bert-base-uncased").eval()
        generator = Generator()
        optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4)
    """,
    "a freeze through a helper from another module": """
        import torch
        from transformers import AutoModel
        from mytools import freeze_lower_layers
        model = AutoModel.from_pretrained("bert-base-uncased")
        freeze_lower_layers(model, 8)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "TRL's SFTTrainer with a PEFT config": """
        from peft import LoraConfig
        from transformers import AutoModelForCausalLM
        from trl import SFTTrainer
        model = AutoModelForCausalLM.from_pretrained("gpt2")
        trainer = SFTTrainer(model=model, peft_config=LoraConfig(r=16))
    """,
}


@pytest.mark.parametrize("snippet", FIRES.values(), ids=FIRES.keys())
def test_fires(snippet: str) -> None:
    assert_marked(snippet, ONLY)


@pytest.mark.parametrize("snippet", QUIET.values(), ids=QUIET.keys())
def test_quiet(snippet: str) -> None:
    assert findings(snippet, ONLY) == set()


def test_message_names_the_rate_and_the_remedy() -> None:
    from lrlint.engine import CheckOptions, check_source

    code = (
        "import argparse\nimport torch\nfrom transformers import AutoModel\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--learning-rate', type=float, default=2e-5)\n"
        "args = parser.parse_args()\n"
        "model = AutoModel.from_pretrained('bert-base-uncased')\n"
        "opt = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)\n"
    )
    (diagnostic,) = check_source(code, "train.py", CheckOptions(ONLY))
    assert "lr=2e-05" in diagnostic.message  # resolved through the argparse default
    assert "discriminative learning rates" in diagnostic.message
    assert "freeze the lower layers" in diagnostic.message
    assert (diagnostic.line, diagnostic.col) == (8, 7)
