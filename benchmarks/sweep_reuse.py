"""Reuse factor of a sweep: its wall time against the same cells run one by one with no cache.

    python benchmarks/sweep_reuse.py examples/sweep.yaml --workdir /tmp/sweep-bench [--sample 3]

1. Runs the sweep (resuming if the workdir has part of it) and reads the per-job timings it reports.
2. Estimates what every cell would cost alone with an empty cache, from unit costs measured in the sweep:
   seconds per embedded text per (model, task), model load time, and the head fits of each cell.
3. Checks that estimate by really running `--sample` cells one by one, each in an empty workdir.
Prints JSON: sweep wall time, estimated and sampled no-cache times, and the reuse factor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict

from w2sg.config_io import load_yaml_spec
from w2sg.pipeline import Pipeline
from w2sg.sweep import SweepSpec, expand, plan, run_job
from w2sg.sweep.jobs import texts_for


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("grid")
    ap.add_argument("--workdir", default="/tmp/w2sg-sweep-bench")
    ap.add_argument("--sample", type=int, default=3)
    args = ap.parse_args()
    sweep = load_yaml_spec(args.grid, SweepSpec)
    cells = expand(sweep)

    # 1. the sweep, job by job (in-process), timing each job
    pipe = Pipeline(args.workdir)
    phases, _ = plan(pipe, cells)
    t0 = time.perf_counter()
    per_text: dict[tuple[str, str], float] = {}
    fit_seconds: dict[str, list[float]] = defaultdict(list)
    for phase in phases:
        for job in phase:
            out = run_job(args.workdir, None, job)
            if "error" in out:
                raise SystemExit(f"{job.label}: {out['error']}")
            if job.kind == "features" and out["new_texts"]:
                task = json.loads(job.specs[0])["task"]
                per_text[(job.model, task)] = out["seconds"] / out["new_texts"]
            elif job.kind == "cell":
                pipe.store.put(**out["result"])
                fit_seconds["cell"].append(out["seconds"])
            else:
                fit_seconds[job.kind].append(out["seconds"])
    sweep_seconds = time.perf_counter() - t0

    # 2. the no-cache estimate for every cell: embed its own texts with both models, load both, fit three heads
    load = _load_seconds({c.weak for c in cells} | {c.strong for c in cells})
    fits = sum(statistics.mean(v) for k, v in fit_seconds.items() if v) if fit_seconds else 0.0
    estimate = 0.0
    for c in cells:
        for m in {c.weak, c.strong}:
            estimate += per_text.get((m, c.task), 0.0) * len(texts_for(pipe, m, c)) + load[m]
        estimate += fits

    # 3. ground truth for the estimate: a few cells really run alone with an empty cache
    sampled = []
    step = max(1, len(cells) // max(1, args.sample))
    for c in cells[::step][: args.sample]:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            Pipeline(d).run(c)
            real = time.perf_counter() - t
        est = sum(per_text.get((m, c.task), 0.0) * len(texts_for(pipe, m, c)) + load[m] for m in {c.weak, c.strong})
        sampled.append({"cell": f"{c.task} {c.weak}->{c.strong} {c.method.label} seed={c.seed}",
                        "alone_seconds": round(real, 1), "estimated_seconds": round(est + fits, 1)})
    print(json.dumps({
        "cells": len(cells), "sweep_seconds": round(sweep_seconds, 1),
        "no_cache_sum_estimated_seconds": round(estimate, 1),
        "reuse_factor": round(estimate / sweep_seconds, 1) if sweep_seconds else None,
        "seconds_per_text": {f"{m}/{t}": round(v, 5) for (m, t), v in per_text.items()},
        "model_load_seconds": {m: round(v, 1) for m, v in load.items()},
        "mean_job_seconds": {k: round(statistics.mean(v), 2) for k, v in fit_seconds.items() if v},
        "sampled_cells": sampled,
    }, indent=2))


def _load_seconds(models: set[str]) -> dict[str, float]:
    from w2sg.models.classifier import load_backbone
    from w2sg.models.zoo import resolve

    out = {}
    for m in models:
        t = time.perf_counter()
        load_backbone(resolve(m).path)
        out[m] = time.perf_counter() - t
    return out


if __name__ == "__main__":
    main()
