"""Training throughput: the w2sg loop against a bare transformers forward+backward loop.

Both train the same pretrained model (backbone + masked-mean/last-token pooling + linear head) with AdamW and
warmup + cosine, on the same batches of the same SST-2 texts, padded to the same lengths. The ratio
w2sg ex/s / bare ex/s measures the loop's overhead (target >= 0.9). Runs alternate to share machine drift.

    python benchmarks/throughput.py [--model minilm] [--n 512] [--batch-size 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from w2sg.config import SplitSpec, TrainSpec
from w2sg.models.classifier import TextClassifier, hidden_size_of, load_backbone, pool
from w2sg.models.zoo import resolve
from w2sg.tasks import load_task, make_splits
from w2sg.train.batching import length_grouped_batches, tokenize
from w2sg.train.loop import train
from w2sg.train.losses import SoftXent


def bare_loop(backbone, pooling, rows, labels, batches, lr):
    """What a researcher writes by hand: forward, pool, head, CE, backward, AdamW, cosine schedule."""
    head = torch.nn.Linear(hidden_size_of(backbone), 2)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    params = list(backbone.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    total, warm = len(batches), int(0.1 * len(batches))
    def lr_at(s):
        return (s + 1) / (warm + 1) if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / (total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    backbone.eval()
    t0 = time.perf_counter()
    for idx in batches:
        batch = rows.collate(idx)
        hidden = backbone(**batch).last_hidden_state
        logits = head(pool(hidden, batch["attention_mask"], pooling))
        loss = F.cross_entropy(logits, labels[torch.as_tensor(idx)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    data = load_task("sst2")
    splits = make_splits(data, SplitSpec(n_weak_train=args.n, n_transfer=20, n_val=0, n_test=20), seed=0)
    texts = [r.text for r in splits.weak_train]
    labels = torch.tensor([r.label for r in splits.weak_train])
    backbone, tok, pooling = load_backbone(resolve(args.model).path)
    rows = tokenize(tok, texts, args.max_length)
    spec = TrainSpec(mode="full", epochs=1, lr=5e-5, batch_size=args.batch_size, max_length=args.max_length,
                     device="cpu")
    seed = 0
    # the exact batches w2sg's loop will draw for this seed (it seeds its own generator the same way)
    batches = length_grouped_batches(rows.lengths, args.batch_size, np.random.default_rng(seed))
    real_tokens = int(rows.lengths.sum())
    padded = int(sum(len(b) * rows.lengths[b].max() for b in batches))

    # what a hand-written loop usually does: random batches, each padded to its longest row
    random_batches = length_grouped_batches(rows.lengths, args.batch_size, np.random.default_rng(seed), group=False)
    padded_random = int(sum(len(b) * rows.lengths[b].max() for b in random_batches))

    results = {"bare": [], "w2sg": [], "bare_random_batches": []}
    for _ in range(args.repeats):
        for name in results:
            bb = copy.deepcopy(backbone)
            torch.manual_seed(seed)
            if name == "bare":
                secs = bare_loop(bb, pooling, rows, labels, batches, spec.resolved_lr())
            elif name == "bare_random_batches":
                secs = bare_loop(bb, pooling, rows, labels, random_batches, spec.resolved_lr())
            else:
                model = TextClassifier(bb, hidden_size_of(bb), pooling)
                secs = train(model, rows, labels.float(), SoftXent(), spec, seed,
                             device=torch.device("cpu")).seconds
            results[name].append(len(texts) / secs)
            print(f"{name:20s} {len(texts) / secs:7.2f} ex/s ({secs:.1f}s)", flush=True)
    bare, ours = statistics.median(results["bare"]), statistics.median(results["w2sg"])
    summary = {
        "model": args.model, "examples": len(texts), "batch_size": args.batch_size, "steps": len(batches),
        "threads": torch.get_num_threads(), "real_tokens": real_tokens, "padded_tokens": padded,
        "padded_tokens_random_batches": padded_random,
        "bare_ex_per_s": round(bare, 2), "w2sg_ex_per_s": round(ours, 2), "ratio_w2sg_over_bare": round(ours / bare, 3),
        "bare_random_batches_ex_per_s": round(statistics.median(results["bare_random_batches"]), 2),
        "speedup_w2sg_over_random_batches": round(ours / statistics.median(results["bare_random_batches"]), 3),
        "runs": {k: [round(v, 2) for v in vs] for k, vs in results.items()},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
