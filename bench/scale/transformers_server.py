"""The baseline of `npm run bench -- --only scale`: a checkpoint served as OpenRLHF's `serve_rm`
serves a reward model. FastAPI on uvicorn; per request, one padded forward of the transformers
model in float32 under `torch.inference_mode()`, run inside the async handler, so requests are
served one at a time as serve_rm serves them. Items are rendered as the importer verifies them
(the tokenizer's own `apply_chat_template`, no special tokens added by the tokenizer) and padded
on the right with the config's pad id: `*ForSequenceClassification` reads the score at the
rightmost token that is not the pad id.

POST /score takes our service's body (`{"items": [{"prompt", "response"}]}`) and answers
`{"rewards": [...]}` in item order; GET /health answers 200 once the model is loaded.

    .venv/bin/python bench/scale/transformers_server.py CKPT_DIR --port 8000 [--threads N] [--max-length 8192]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--max-length", type=int, default=8192, help="items longer than this lose their oldest tokens")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    tok = transformers.AutoTokenizer.from_pretrained(args.checkpoint)
    tok.padding_side = "right"
    tok.truncation_side = "left"
    model = transformers.AutoModelForSequenceClassification.from_pretrained(args.checkpoint, dtype=torch.float32)
    model.eval()
    pad = model.config.pad_token_id

    def rewards(items: list[dict]) -> list[float]:
        texts = [
            tok.apply_chat_template([{"role": "user", "content": it["prompt"]}, {"role": "assistant", "content": it["response"]}], tokenize=False)
            for it in items
        ]
        batch = tok(texts, add_special_tokens=False, padding=True, truncation=True, max_length=args.max_length, return_tensors="pt")
        ids, mask = batch["input_ids"], batch["attention_mask"]
        ids[mask == 0] = pad  # the model finds the last real token by the config's pad id
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask).logits
        return logits[:, 0].tolist()

    app = FastAPI()

    @app.get("/health")
    async def health():
        return {"ok": True}

    @app.post("/score")
    async def score(request: Request):
        data = await request.json()
        return JSONResponse({"rewards": rewards(data["items"])})

    print(f"serving {args.checkpoint} on port {args.port}: torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} thread(s), attention {model.config._attn_implementation}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
