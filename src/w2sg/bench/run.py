"""Running a method on a benchmark suite: per (cell, seed) of a part the parent computes the weak labels and the
ceiling through the usual cached steps, the method's student step runs sealed (`sealed.run_sealed`: B and V with
weak labels, T without labels, the strong model's frozen features), and the parent scores T's predictions with
the pipeline's own `evaluate`. Rows go into the bench workdir's store (never a study's), keyed by the suite's
version, the part, the experiment and the method (a file method by its content's hash), so a rerun reuses them.
A run whose method tried anything a student may not, or failed, is stored with status 'invalid' and what it
tried. Every final-part evaluation is appended to `final_log.jsonl` with its count per method.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from w2sg.bench.sealed import SealedJob, method_input, run_sealed, sealed_record
from w2sg.bench.suite import Suite
from w2sg.config import ExperimentSpec, content_hash
from w2sg.pipeline import Pipeline
from w2sg.pipeline import steps as protocol
from w2sg.pipeline.plan import Plan
from w2sg.pipeline.resources import StepLog

FINAL_LOG = "final_log.jsonl"


def method_identity(method: str) -> tuple[str, str]:
    """(label, version) of a method argument: a registered method's label and '' , or a file's registered name
    (read from its `register_method` call by the child; here: the file's stem until it has run) and the sha256 of
    its content (12 hex digits), so an edited file is a new version."""
    spec, path = method_input(method)
    if path is None:
        return spec.label, ""
    return path.stem, hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def job_of(spec: ExperimentSpec, pipe: Pipeline, weak: dict) -> SealedJob:
    """What the sealed student may see of one experiment: texts and strong features of B, V, T and the extra rows,
    weak labels of B, V and extra, B's groups; no label."""
    res = pipe.res
    s = res.splits(spec)

    def x(rows):
        return np.asarray(res.item_features(spec.strong, spec.train, [r.item for r in rows]), dtype=np.float32)

    extra = bool(s.extra)
    return SealedJob(train=spec.train, seed=spec.seed,
                     transfer_texts=[r.text for r in s.transfer], transfer_x=x(s.transfer),
                     transfer_weak_p1=np.asarray(weak["transfer"]), transfer_groups=[r.group for r in s.transfer],
                     val_texts=[r.text for r in s.val], val_x=x(s.val), val_weak_p1=np.asarray(weak["val"]),
                     test_texts=[r.text for r in s.test], test_x=x(s.test),
                     extra_texts=[r.text for r in s.extra] if extra else None, extra_x=x(s.extra) if extra else None,
                     extra_weak_p1=np.asarray(weak["extra"]) if extra else None)


def bench_key(suite: Suite, part: str, spec: ExperimentSpec, pipe: Pipeline, label: str, version: str) -> str:
    return content_hash("bench", suite.label, part, protocol.experiment_key(Plan.of(spec), pipe.res), label, version)


def run_cell(suite: Suite, part: str, spec: ExperimentSpec, method: str, pipe: Pipeline,
             timeout_s: float = 600) -> dict:
    """One (cell, seed) of `method` on `part`: from the store when it has run, else sealed, scored and stored."""
    label, version = method_identity(method)
    key = bench_key(suite, part, spec, pipe, label, version)
    found = pipe.store.records(hash=key, status=None)
    if found:
        return found[0]
    plan = Plan.of(spec)
    steps = StepLog()
    t0 = time.perf_counter()
    weak = protocol.supervise(plan, pipe.res, steps)
    ceil = protocol.ceiling(spec, pipe.res, steps)
    result = run_sealed(method, job_of(spec, pipe, weak), timeout_s=timeout_s)
    if version:  # a file's method is named by its own register_method call (a registered one: by its spec)
        label = result.method or label
    doc = spec.model_dump(mode="json")
    doc["method"] = {"name": label, "options": {}}
    bench = sealed_record(result) | {"bench_suite": suite.label, "bench_part": part, "bench_method": label,
                                     "bench_method_version": version, "bench_error": result.error}
    if not result.valid:
        pipe.store.put(spec=doc, hash_=key, metrics=bench, timings={"total": time.perf_counter() - t0},
                       status="invalid", error=result.error or "; ".join(result.violations))
        return pipe.store.records(hash=key, status=None)[0]
    stud = {"test": result.test_p1, "transfer": result.transfer_p1}
    steps.meta["student"] = dict(result.info)
    metrics = protocol.evaluate(plan, pipe.res, weak, ceil, stud, steps) | bench
    outcomes = protocol.test_outcomes(spec, pipe.res, weak, ceil, stud).to_arrays()
    pipe.store.put(spec=doc, hash_=key, metrics=metrics, timings={"total": time.perf_counter() - t0,
                                                                  "sealed": result.seconds}, outcomes=outcomes)
    return pipe.store.records(hash=key)[0]


def log_final(workdir: Path, suite: Suite, label: str, version: str) -> int:
    """Append one final evaluation of `label` to the workdir's log; returns how many it has now (all versions)."""
    path = Path(workdir) / FINAL_LOG
    entries = read_final_log(workdir)
    n = 1 + sum(1 for e in entries if e["method"] == label and e["suite"] == suite.label)
    with open(path, "a") as f:
        f.write(json.dumps({"suite": suite.label, "method": label, "version": version, "count": n,
                            "at": time.strftime("%F %T")}) + "\n")
    return n


def read_final_log(workdir: Path) -> list[dict]:
    path = Path(workdir) / FINAL_LOG
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def run_suite(suite: Suite, part: str, methods: list[str], workdir: Path, data_dir: str | None,
              on_cell: Callable[[str, dict], None] = lambda m, r: None, timeout_s: float = 600) -> list[dict]:
    """Every cell and seed of `part` for every method (cached rows reused); the rows."""
    pipe = Pipeline(workdir, data_dir)
    rows = []
    for method in methods:
        for spec in suite.specs(part):
            row = run_cell(suite, part, spec, method, pipe, timeout_s)
            on_cell(method, row)
            rows.append(row)
    return rows
