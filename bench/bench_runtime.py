"""`lrlint runtime` on a 7B Llama-shaped model: seconds and memory, no weights.

    python bench/bench_runtime.py

Writes a Llama-2-7B-shaped config.json (hidden 4096, 32 layers, 32 heads, vocab 32000) and a
fine-tuning script to a temporary folder, runs `lrlint runtime` on it in a fresh process and
prints its wall time and peak memory (max RSS), next to the floor of starting Python and
importing torch + transformers in the same run.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
}
SCRIPT = """
import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
"""


def run(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS of the child in MB, output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024, done.stdout + done.stderr


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder, "llama-7b")
        config.mkdir()
        (config / "config.json").write_text(json.dumps(CONFIG))
        script = Path(folder, "finetune.py")
        script.write_text(textwrap.dedent(SCRIPT))
        floor = run([sys.executable, "-c", "import torch, transformers"])
        check = run(
            [sys.executable, "-m", "lrlint", "runtime", str(script), "--config", str(config)]
        )
    print(f"{'':44}{'wall s':>8}{'peak MB':>10}")
    print(f"{'python -c import torch, transformers (floor)':44}{floor[0]:8.2f}{floor[1]:10.0f}")
    print(f"{'lrlint runtime, 7B Llama config':44}{check[0]:8.2f}{check[1]:10.0f}")
    print()
    print(check[2].strip().splitlines()[-1])
    parameters = [line for line in check[2].splitlines() if "embed_tokens" in line]
    print(parameters[0] if parameters else "")


if __name__ == "__main__":
    main()
