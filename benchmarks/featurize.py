"""Frozen-feature extraction speed: w2sg's Featurizer against a bare transformers forward loop.

Both embed the same SST-2 texts with the same pretrained model (masked-mean pooling for encoders, last token
for decoders), max length and batch size, under torch.inference_mode. The bare loop tokenizes each batch in
the texts' order, padded to the batch's longest text — what a hand-written script does. w2sg's Featurizer
(empty cache each repeat, so it computes every text) sorts texts by length before batching. The ratio w2sg
texts/s / bare texts/s is the overhead or gain of the featurizer (target >= 1.0); features agree to 1e-4.

    python benchmarks/featurize.py [--model minilm] [--n 1000] [--batch-size 64] [--max-length 128] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import torch

from w2sg.models.classifier import load_backbone, pool
from w2sg.models.zoo import resolve
from w2sg.tasks import load_task
from w2sg.train.featurizer import Backbone, Featurizer


def texts_of(n: int, data_dir: str | None) -> list[str]:
    pool = sorted({r.text for r in load_task("sst2", data_dir).pool})
    idx = np.random.default_rng(0).choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[i] for i in idx]


def bare(path: str, texts: list[str], batch_size: int, max_length: int) -> tuple[np.ndarray, float]:
    model, tok, pooling = load_backbone(path)
    model.eval()
    tok.truncation_side = "left"
    out = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                        return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            out.append(pool(hidden, batch["attention_mask"], pooling).float().numpy())
    return np.concatenate(out), time.perf_counter() - t0


def w2sg(path: str, texts: list[str], batch_size: int, max_length: int) -> tuple[np.ndarray, float]:
    backbone = Backbone(path)
    backbone.get()  # load outside the timed region, as the bare loop's load is
    with tempfile.TemporaryDirectory() as cache:
        f = Featurizer(backbone, f"bench-{time.time_ns()}", cache, max_length, batch_size=batch_size,
                       device=torch.device("cpu"))
        t0 = time.perf_counter()
        x = f(texts).numpy()
        return x, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    path = str(resolve(args.model).path)
    texts = texts_of(args.n, args.data_dir)
    times = {"bare": [], "w2sg": []}
    for _ in range(args.repeats):  # alternate, so both see the same machine drift
        xb, tb = bare(path, texts, args.batch_size, args.max_length)
        xw, tw = w2sg(path, texts, args.batch_size, args.max_length)
        times["bare"].append(tb)
        times["w2sg"].append(tw)
    err = float(np.abs(xb - xw).max())
    rate = {k: len(texts) / statistics.median(v) for k, v in times.items()}
    print(json.dumps({"model": args.model, "texts": len(texts), "batch_size": args.batch_size,
                      "max_length": args.max_length, "threads": torch.get_num_threads(),
                      "bare_texts_per_s": round(rate["bare"], 1), "w2sg_texts_per_s": round(rate["w2sg"], 1),
                      "ratio": round(rate["w2sg"] / rate["bare"], 3), "max_abs_diff": err}, indent=1))
    if err > 1e-4:
        raise SystemExit(f"features differ by {err:.2e}: the comparison is not like for like")


if __name__ == "__main__":
    main()
