"""Entry point of `npm run model:import`: checks the Python environment in one line, then runs
the importer (reward_import/cli.py)."""

import importlib.util
import os
import sys

NEEDED = ("torch", "transformers", "onnx", "onnxruntime", "numpy")

if __name__ == "__main__":
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        here = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements.txt"))
        print(f"model:import: {sys.executable} lacks {', '.join(missing)}: run `{sys.executable} -m pip install -r {here}`, "
              "or set PYTHON to a python that has torch, transformers, onnx and onnxruntime", file=sys.stderr)
        sys.exit(1)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import transformers

    transformers.utils.logging.disable_progress_bar()
    from reward_import.cli import main

    sys.exit(main())
