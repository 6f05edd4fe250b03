"""A Qwen3 reward-model checkpoint of a real size for `npm run bench -- --only scale`: the real
transformers class with random seeded weights, built by the importer tests' `build` (so the
tokenizer, config and init are theirs), saved with `save_pretrained`. Never committed: the bench
caches it under bench/.cache/.

    .venv/bin/python bench/scale/build_checkpoint.py OUT_DIR '{"hidden_size": 512, ...}'

Prints one line: `params N bytes B` (parameters, and bytes of fp32 weights).
"""

from __future__ import annotations

import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "importer", "tests"))

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from checkpoints import build  # noqa: E402


def main(out: str, dims: dict) -> None:
    import safetensors
    import transformers

    transformers.utils.logging.disable_progress_bar()
    build("qwen3", out, dims=dims)
    # Counted from the saved weights, not a second copy of the model in memory.
    params = 0
    for name in os.listdir(out):
        if name.endswith(".safetensors"):
            with safetensors.safe_open(os.path.join(out, name), "pt") as f:
                for key in f.keys():
                    params += math.prod(f.get_slice(key).get_shape())
    print(f"params {params} bytes {params * 4}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], json.loads(sys.argv[2]))
