"""Frozen features of a `steps` task: one decoder pass per solution (every step read from it) against one pass
per step (the per-text path), on the built-in chains task.

Both featurizers start from an empty cache and compute the features of every step prefix of the first
`--solutions` solutions; the ratio per-step seconds / per-solution seconds is the speedup, and the features
agree (largest absolute difference printed; the tests check 1e-4 on a tiny model).

    python benchmarks/step_features.py [--model smollm2-135m] [--solutions 64] [--batch-size 16] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch

from w2sg.models.zoo import resolve
from w2sg.tasks import load_task
from w2sg.train.featurizer import Backbone, Featurizer
from w2sg.train.loop import resolve_device


def solutions_of(task: str, n: int) -> list:
    out: dict[str, object] = {}
    for r in load_task(task).pool:
        if r.steps is not None and len(out) < n:
            out.setdefault(r.steps.solution, r.steps)
    return list(out.values())


def run(path: str, texts: list[str], steps, args, backbone: Backbone) -> tuple[torch.Tensor, float, Featurizer]:
    with tempfile.TemporaryDirectory() as cache:
        f = Featurizer(backbone, f"bench:{path}", cache, args.max_length, batch_size=args.batch_size,
                       device=resolve_device(args.device))
        if steps is not None:
            f.know_steps(steps)
        t0 = time.perf_counter()
        x = f(texts)
        if f.device.type == "cuda":
            torch.cuda.synchronize()
        return x, time.perf_counter() - t0, f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--task", default="chains")
    ap.add_argument("--solutions", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    m = resolve(args.model)
    sols = solutions_of(args.task, args.solutions)
    texts = sorted({p for s in sols for p in s.prefixes()})
    backbone = Backbone(str(m.path), m.arch)
    backbone.get()
    run(str(m.path), texts[:8], None, args, backbone)  # warm-up (model on its device, kernels)
    per_text, per_solution, diff, f = [], [], 0.0, None
    for _ in range(args.repeats):
        want, t_text, _ = run(str(m.path), texts, None, args, backbone)
        got, t_sol, f = run(str(m.path), texts, sols, args, backbone)
        per_text.append(t_text)
        per_solution.append(t_sol)
        diff = max(diff, float((got - want).abs().max()))
    t_text, t_sol = statistics.median(per_text), statistics.median(per_solution)
    print(json.dumps({
        "model": args.model, "device": str(f.device), "solutions": len(sols), "step_texts": len(texts),
        "passes_per_text": len(texts), "passes_per_solution": f.n_step_passes, "steps_read": f.n_step_reads,
        "seconds_per_text": round(t_text, 3), "seconds_per_solution": round(t_sol, 3),
        "speedup": round(t_text / t_sol, 2), "max_abs_diff": diff,
    }, indent=1))


if __name__ == "__main__":
    main()
