"""LR009 (opt-in): a fine-tuning loop or trainer run with no evaluation anywhere."""

from __future__ import annotations

import pytest

from tests.conftest import expected, findings

ONLY = frozenset({"LR009"})

FIRES = {
    "loop without evaluation": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        for epoch in range(3):  # lrlint-expect: LR009
            for batch in loader:
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
    """,
    "Trainer without an eval set": """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        trainer = Trainer(model=model, args=TrainingArguments("out"), train_dataset=train_ds)
        trainer.train()  # lrlint-expect: LR009
    """,
    "literal_eval and validate_config are not evaluation": """
        import ast
        import sys
        import torch
        from transformers import AutoModel
        settings = ast.literal_eval(sys.argv[1])
        validate_config(settings)
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        for epoch in range(3):  # lrlint-expect: LR009
            model(x).loss.backward()
    """,
    "Lightning fit without validation": """
        import lightning.pytorch as pl
        trainer = pl.Trainer(max_epochs=3)
        model = Module.load_from_checkpoint("x.ckpt")
        encoder = AutoModel.from_pretrained("bert-base-uncased")
        trainer.fit(model, train_dataloaders=train_loader)  # lrlint-expect: LR009
    """,
}

QUIET = {
    "loop with an evaluation pass": """
        import torch
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        for epoch in range(3):
            model.train()
            for batch in loader:
                model(**batch).loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = sum(score(model, b) for b in val_loader)
    """,
    "loop that calls an evaluate function": """
        import torch
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
        for epoch in range(3):
            for batch in loader:
                model(**batch).loss.backward()
            print(evaluate(model, dev_loader))
    """,
    "Trainer with an eval_dataset": """
        from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        trainer = Trainer(model=model, args=TrainingArguments("out"), train_dataset=tr, eval_dataset=va)
        trainer.train()
    """,
    "training from scratch is not a fine-tune": """
        import torch
        model = torch.nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            model(x).sum().backward()
    """,
    "model.train() is not trainer.train()": """
        from transformers import AutoModel
        model = AutoModel.from_pretrained("bert-base-uncased")
        model.train()
    """,
}


@pytest.mark.parametrize("snippet", FIRES.values(), ids=FIRES.keys())
def test_fires(snippet: str) -> None:
    assert findings(snippet, ONLY) == expected(snippet)


@pytest.mark.parametrize("snippet", QUIET.values(), ids=QUIET.keys())
def test_quiet(snippet: str) -> None:
    assert findings(snippet, ONLY) == set()


def test_off_by_default() -> None:
    from lrlint.registry import enabled_codes

    assert "LR009" not in enabled_codes(None, (), ())
    assert "LR009" in enabled_codes(None, ("LR009",), ())
