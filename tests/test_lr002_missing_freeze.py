"""LR002: small data, a pretrained model, nothing frozen; the size from the flag, the config
(see test_cli.py) or the script."""

from __future__ import annotations

import pytest

from tests.conftest import expected, findings

ONLY = frozenset({"LR002"})

UNSIZED = """
    import torch
    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")  # lrlint-expect: LR002
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
"""


def test_size_from_the_flag() -> None:
    assert findings(UNSIZED, ONLY, num_examples=80) == expected(UNSIZED)


def test_quiet_when_the_flag_says_enough_data() -> None:
    assert findings(UNSIZED, ONLY, num_examples=100) == set()
    assert findings(UNSIZED, ONLY, num_examples=5000) == set()


def test_quiet_when_the_size_is_unknown() -> None:
    assert findings(UNSIZED, ONLY) == set()


SIZED_BY_SCRIPT = {
    "literal slice": """
        import torch
        from transformers import AutoModel
        rows = load_rows("reviews.csv")
        train_rows = rows[:80]
        model = AutoModel.from_pretrained("bert-base-uncased")  # lrlint-expect: LR002
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "datasets select(range(n))": """
        from datasets import load_dataset
        from transformers import AutoModelForSequenceClassification, Trainer
        ds = load_dataset("imdb")["train"].shuffle(seed=0).select(range(64))
        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")  # lrlint-expect: LR002
        Trainer(model=model, train_dataset=ds, optimizers=(None, None)).train()
    """,
    "split slicing in load_dataset": """
        import torch
        from datasets import load_dataset
        from transformers import AutoModel
        train = load_dataset("sst2", split="train[:50]")
        model = AutoModel.from_pretrained("bert-base-uncased")  # lrlint-expect: LR002
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "a slice bounded by a constant": """
        import torch
        from transformers import AutoModel
        N_TRAIN = 50
        train_texts = load_texts()[:N_TRAIN]
        model = AutoModel.from_pretrained("bert-base-uncased")  # lrlint-expect: LR002
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "literal list of examples": """
        import torch
        from transformers import AutoModel
        train_texts = ["great", "awful", "fine", "bad", "superb"]
        model = AutoModel.from_pretrained("bert-base-uncased")  # lrlint-expect: LR002
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
}


@pytest.mark.parametrize("snippet", SIZED_BY_SCRIPT.values(), ids=SIZED_BY_SCRIPT.keys())
def test_size_from_the_script(snippet: str) -> None:
    assert findings(snippet, ONLY) == expected(snippet)


QUIET = {
    "enough data in the script": """
        import torch
        from transformers import AutoModel
        train_rows = rows[:5000]
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "small data but lower layers frozen": """
        import torch
        from transformers import AutoModel
        train_rows = rows[:60]
        model = AutoModel.from_pretrained("bert-base-uncased")
        for p in model.encoder.layer[:9].parameters():
            p.requires_grad = False
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "small data, model from scratch": """
        import torch
        from transformers import BertConfig, BertModel
        train_rows = rows[:60]
        model = BertModel(BertConfig())
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "small data, no training (inference only)": """
        from transformers import AutoModel
        texts = ["a", "b", "c"]
        model = AutoModel.from_pretrained("bert-base-uncased").eval()
    """,
    "a tensor slice and a label list are not data sizes": """
        import torch
        from transformers import AutoModel
        label_names = ["negative", "positive"]
        model = AutoModel.from_pretrained("bert-base-uncased")
        ids = batch["input_ids"][:, :128]
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
    "held-out and display subsets are not the training size": """
        import torch
        from datasets import load_dataset
        from transformers import AutoModel
        train = load_dataset("imdb", split="train")
        test_ds = load_dataset("imdb", split="test[:50]")
        eval_ds = train.select(range(64))
        print_samples = train[:5]
        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    """,
}


@pytest.mark.parametrize("snippet", QUIET.values(), ids=QUIET.keys())
def test_quiet(snippet: str) -> None:
    assert findings(snippet, ONLY) == set()


def test_the_flag_wins_over_the_script() -> None:
    snippet = SIZED_BY_SCRIPT["literal slice"]
    assert findings(snippet, ONLY, num_examples=10_000) == set()
