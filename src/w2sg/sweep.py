"""Sweeps: a declarative grid of experiments, run once each, resumable, on one process, N processes or Ray.

A grid expands into cells (experiments). Before the cells run, their shared work runs as separate jobs so
that nothing is computed twice even with parallel workers: frozen features per (model, task), then every
distinct weak model and ceiling, then the students. Completed cells (already in the store) are skipped; a
failed cell is recorded with its error and the sweep goes on.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from w2sg.config import (
    BudgetSpec,
    ExperimentSpec,
    MethodSpec,
    Spec,
    SplitSpec,
    TrainSpec,
    coerce_budgets,
    coerce_methods,
)
from w2sg.methods import check_method

Pairs = Literal["all", "weak_smaller", "weak_smaller_or_equal"]


class SweepSpec(Spec):
    """tasks x weak x strong x methods x seeds x hyperparameter axes (`grid`: dotted path -> values)."""

    name: str = "sweep"
    tasks: list[str] = Field(default_factory=lambda: ["sst2"])
    weak: list[str] = Field(default_factory=lambda: ["minilm"])
    strong: list[str] = Field(default_factory=lambda: ["mpnet"])
    methods: list[MethodSpec] = Field(default_factory=lambda: [MethodSpec(name="naive")])
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    splits: SplitSpec = Field(default_factory=SplitSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    budgets: list[BudgetSpec] = Field(default_factory=lambda: [BudgetSpec()],
                                      description="the student's training budgets: full, steps=N, early_stop, ...")
    balance_test: bool = True
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="e.g. {'train.lr': [1e-3, 3e-4]}")
    pairs: Pairs = Field("all", description="which (weak, strong) pairs: all, or weak a smaller (or equal) rung")

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, v: Any) -> Any:
        return coerce_methods(v)

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets(cls, v: Any) -> Any:
        return coerce_budgets(v)

    @field_validator("grid")
    @classmethod
    def _grid_paths(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in v.items():
            head = path.split(".")[0]
            if head not in ("train", "splits", "method"):
                raise ValueError(f"grid axis '{path}' must start with train., splits. or method.options.")
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid axis '{path}' needs a non-empty list of values")
        return v


def _rung_size(model: str) -> float | None:
    from w2sg.models.zoo import MODELS

    recipe = MODELS.get(model)
    return float(recipe.params) if recipe else None


def _pair_ok(weak: str, strong: str, pairs: Pairs) -> bool:
    if pairs == "all":
        return True
    w, s = _rung_size(weak), _rung_size(strong)
    if w is None or s is None:
        raise ValueError(f"pairs='{pairs}' needs model sizes, but '{weak if w is None else strong}' is not a "
                         "zoo alias; use pairs: all for paths and Hub ids")
    return w < s if pairs == "weak_smaller" else w <= s


def _set_path(d: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def _applies(path: str, method: MethodSpec) -> bool:
    """A `method.options.X` axis applies only to methods that have option X."""
    if not path.startswith("method.options."):
        return True
    from w2sg.methods import get_method

    return path.split(".", 2)[2] in get_method(method.name).config_cls.model_fields


def expand(sweep: SweepSpec) -> list[ExperimentSpec]:
    """All cells, ordered for reuse: by task, hyperparameters and seed, then weak, strong, method."""
    axes = list(sweep.grid.items())
    combos = list(itertools.product(*[vals for _, vals in axes])) or [()]
    cells: list[ExperimentSpec] = []
    seen: set[str] = set()
    for task in sweep.tasks:
        for combo in combos:
            for seed in sweep.seeds:
                for weak in sweep.weak:
                    for strong in sweep.strong:
                        if not _pair_ok(weak, strong, sweep.pairs):
                            continue
                        for method, budget in itertools.product(sweep.methods, sweep.budgets):
                            d = {"task": task, "weak": weak, "strong": strong, "seed": seed,
                                 "method": method.model_dump(), "splits": sweep.splits.model_dump(),
                                 "train": sweep.train.model_dump(), "budget": budget.model_dump(),
                                 "balance_test": sweep.balance_test}
                            for (path, _), value in zip(axes, combo, strict=True):
                                if _applies(path, method):
                                    _set_path(d, path, value)
                            cell = ExperimentSpec.model_validate(d)
                            check_method(cell)  # a cell that cannot run fails the sweep before any work
                            if cell.hash() not in seen:  # an axis that does not apply to a method repeats cells
                                seen.add(cell.hash())
                                cells.append(cell)
    if not cells:
        raise ValueError(f"sweep '{sweep.name}' has no cells (check pairs='{sweep.pairs}' and the lists)")
    return cells


# ---- jobs: the unit of work an executor runs ---------------------------------------------------------
@dataclass(frozen=True)
class Job:
    kind: Literal["features", "weak", "ceiling", "cell"]
    specs: tuple[str, ...]  # ExperimentSpec JSON (one, or several for a features job)
    model: str = ""
    label: str = ""


def plan(pipe, cells: list[ExperimentSpec]) -> tuple[list[list[Job]], dict[str, str]]:
    """Phases of jobs for the cells not yet in the store, and each cell's state ('done' or 'todo')."""
    state: dict[str, str] = {}
    todo: list[ExperimentSpec] = []
    for c in cells:
        k = pipe.keys(c)["experiment"]
        state[k] = "done" if pipe.store.has(k) else "todo"
        if state[k] == "todo":
            todo.append(c)
    features: dict[tuple[str, str], list[ExperimentSpec]] = {}
    weak: dict[str, ExperimentSpec] = {}
    ceiling: dict[str, ExperimentSpec] = {}
    for c in todo:
        keys = pipe.keys(c)
        if c.train.mode == "frozen":
            for m in (c.weak, c.strong):
                features.setdefault((m, c.task), []).append(c)
        if not pipe.cache.path("weak", keys["weak"]).exists():
            weak.setdefault(keys["weak"], c)
        if not pipe.cache.path("ceiling", keys["ceiling"]).exists():
            ceiling.setdefault(keys["ceiling"], c)
    phases = [
        [Job("features", tuple(s.model_dump_json() for s in specs), m, f"features {m} {t}")
         for (m, t), specs in features.items()],
        [Job("weak", (c.model_dump_json(),), c.weak, f"weak {c.weak} {c.task} seed={c.seed}")
         for c in weak.values()]
        + [Job("ceiling", (c.model_dump_json(),), c.strong, f"ceiling {c.strong} {c.task} seed={c.seed}")
           for c in ceiling.values()],
        [Job("cell", (c.model_dump_json(),), c.strong, _label(c)) for c in todo],
    ]
    return [p for p in phases if p], state


def _label(c: ExperimentSpec) -> str:
    return f"{c.task} {c.weak}->{c.strong} {c.method.label} seed={c.seed}"


_WORKER_PIPES: dict[tuple, Any] = {}


def run_job(workdir: str, data_dir: str | None, job: Job) -> dict:
    """Run one job in this process (also the body of process and Ray workers). Never raises: errors come
    back as {'error': ...} so that one failed cell does not stop the sweep."""
    from w2sg.pipeline import Pipeline

    key = (workdir, data_dir)
    if key not in _WORKER_PIPES:
        _WORKER_PIPES[key] = Pipeline(workdir, data_dir)
    pipe = _WORKER_PIPES[key]
    t0 = time.perf_counter()
    try:
        specs = [ExperimentSpec.model_validate_json(s) for s in job.specs]
        if job.kind == "features":
            out: dict = {"new_texts": pipe.features_step(job.model, specs)}
        elif job.kind == "weak":
            pipe.weak_step(specs[0])
            out = {}
        elif job.kind == "ceiling":
            pipe.ceiling_step(specs[0])
            out = {}
        else:
            out = {"result": pipe.compute(specs[0])}
    except Exception as e:  # noqa: BLE001 — recorded, the sweep goes on
        out = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
    out["seconds"] = time.perf_counter() - t0
    return out


# ---- executors ------------------------------------------------------------------------------------


class InProcessExecutor:
    name = "in-process"

    def __init__(self, workdir: str, data_dir: str | None):
        self.workdir, self.data_dir = workdir, data_dir

    def map(self, jobs: list[Job]):
        for job in jobs:
            yield job, run_job(self.workdir, self.data_dir, job)

    def close(self):
        pass


def _init_worker(threads: int, gpu_queue) -> None:
    import os

    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())
    import torch

    torch.set_num_threads(max(1, threads))


class ProcessExecutor:
    """N local worker processes (spawned), each with its share of CPU threads and one GPU when GPUs exist."""

    name = "processes"

    def __init__(self, workdir: str, data_dir: str | None, workers: int):
        import multiprocessing as mp
        import os
        from concurrent.futures import ProcessPoolExecutor

        import torch

        ctx = mp.get_context("spawn")
        n_gpus = torch.cuda.device_count()
        gpu_queue = None
        if n_gpus:
            gpu_queue = ctx.Manager().Queue()
            for i in range(workers):
                gpu_queue.put(i % n_gpus)
        threads = max(1, (os.cpu_count() or 1) // workers)
        self.workdir, self.data_dir = workdir, data_dir
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(threads, gpu_queue))

    def map(self, jobs: list[Job]):
        from concurrent.futures import as_completed

        futures = {self.pool.submit(run_job, self.workdir, self.data_dir, j): j for j in jobs}
        for f in as_completed(futures):
            yield futures[f], f.result()

    def close(self):
        self.pool.shutdown()


class RayExecutor:
    """Jobs as Ray tasks (`num_gpus=1` each when the cluster has GPUs); outcomes flow back to the driver,
    which alone writes the results store. Workers share the cache when `workdir` is on a shared
    filesystem; otherwise each node keeps its own cache and recomputes what it lacks."""

    name = "ray"

    def __init__(self, workdir: str, data_dir: str | None, address: str | None = None, workers: int | None = None):
        import os

        if not address:
            # A local cluster listens on loopback only (Ray's "single machine" mode); read at `import ray`.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError as e:
            raise ImportError("the Ray executor needs ray: pip install 'w2sg[ray]'") from e
        self.ray = ray
        if not ray.is_initialized():
            if not address:
                from ray._private import ray_constants  # ray imported before the variable was set

                ray_constants.ENABLE_RAY_CLUSTER = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] != "0"
            kw = {"address": address} if address else ({"num_cpus": workers} if workers else {})
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kw)
        gpus = ray.cluster_resources().get("GPU", 0)
        cpus = ray.cluster_resources().get("CPU", 1)
        per_task_cpus = max(1.0, cpus / workers) if workers else 1.0
        self.remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=per_task_cpus)(_ray_job)
        self.workdir, self.data_dir = workdir, data_dir

    def map(self, jobs: list[Job]):
        refs = {self.remote.remote(self.workdir, self.data_dir, j): j for j in jobs}
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], self.ray.get(ref)

    def close(self):
        pass


def _ray_job(workdir: str, data_dir: str | None, job: Job) -> dict:
    import os

    import torch

    torch.set_num_threads(max(1, int(float(os.environ.get("OMP_NUM_THREADS", "1")))))
    return run_job(workdir, data_dir, job)


# ---- the driver -----------------------------------------------------------------------------------
@dataclass
class SweepReport:
    cells: int = 0
    skipped: int = 0  # already in the store before this run
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    job_seconds: dict[str, float] = field(default_factory=dict)


def run_sweep(sweep: SweepSpec, workdir: str | Path, data_dir: str | Path | None = None, executor: str = "local",
              workers: int = 1, address: str | None = None, on_event: Callable[[str, dict], None] | None = None,
              loggers: list | None = None) -> SweepReport:
    """Run every cell of the grid that is not in the store yet; returns counts and timings."""
    from w2sg.pipeline import Pipeline

    t0 = time.perf_counter()
    workdir, data_dir = str(workdir), (str(data_dir) if data_dir else None)
    pipe = Pipeline(workdir, data_dir)
    cells = expand(sweep)
    phases, state = plan(pipe, cells)
    report = SweepReport(cells=len(cells), skipped=sum(v == "done" for v in state.values()))
    emit = on_event or (lambda kind, info: None)
    emit("plan", {"cells": len(cells), "skipped": report.skipped, "jobs": sum(len(p) for p in phases)})
    if executor == "local" and workers > 1:
        executor = "processes"
    ex = (InProcessExecutor(workdir, data_dir) if executor == "local"
          else ProcessExecutor(workdir, data_dir, workers) if executor == "processes"
          else RayExecutor(workdir, data_dir, address, workers if workers > 1 else None) if executor == "ray"
          else None)
    if ex is None:
        raise ValueError(f"unknown executor '{executor}'; use local, processes or ray")
    try:
        for phase in phases:
            for job, out in ex.map(phase):
                report.job_seconds[job.kind] = report.job_seconds.get(job.kind, 0.0) + out.get("seconds", 0.0)
                if job.kind == "cell":
                    _record_cell(pipe, job, out, report, loggers or [])
                elif "error" in out:
                    report.errors.append(f"{job.label}: {out['error']}")
                emit(job.kind, {"label": job.label, "error": out.get("error"), "seconds": out.get("seconds")})
    finally:
        ex.close()
    report.seconds = time.perf_counter() - t0
    return report


def _record_cell(pipe, job: Job, out: dict, report: SweepReport, loggers: list) -> None:
    spec = ExperimentSpec.model_validate_json(job.specs[0])
    if "error" in out:
        report.failed += 1
        report.errors.append(f"{job.label}: {out['error']}")
        pipe.store.put(spec.model_dump(mode="json"), pipe.keys(spec)["experiment"], {}, {"total": out["seconds"]},
                       status="failed", error=out["error"] + "\n" + out.get("traceback", ""))
        return
    pipe.store.put(**out["result"])
    report.computed += 1
    record = pipe.store.records(hash=out["result"]["hash_"])[0]
    for lg in loggers:
        lg.log(record)


# ---- dry run ----------------------------------------------------------------------------------------
CPU_FLOPS = 5e10  # effective fp32 FLOP/s of a 2-core CPU on transformer layers (rough; GPU: x20)


def _params(pipe, model: str) -> float:
    size = _rung_size(model)
    if size:
        return size
    try:
        import json

        cfg = json.loads((Path(pipe.model(model).path) / "config.json").read_text())
        h, n, v = cfg.get("hidden_size", 768), cfg.get("num_hidden_layers", 12), cfg.get("vocab_size", 30000)
        return 12 * h * h * n + h * v
    except Exception:  # noqa: BLE001 — a Hub id we cannot inspect offline
        return 1e8


def dry_run(sweep: SweepSpec, workdir: str | Path, data_dir: str | Path | None = None) -> list[dict]:
    """What is cached and what will be computed, per cell, with a rough CPU cost estimate in seconds."""
    import torch

    from w2sg.pipeline import Pipeline

    pipe = Pipeline(workdir, data_dir)
    speed = CPU_FLOPS * (20 if torch.cuda.is_available() else 1)
    rows, seen_features = [], set()
    for c in expand(sweep):
        keys = pipe.keys(c)
        row = {"cell": _label(c), "done": pipe.store.has(keys["experiment"])}
        for step in ("weak", "ceiling", "student"):
            row[f"{step}_cached"] = pipe.cache.path(step, keys[step]).exists()
        cost, new_texts = 0.0, 0
        if not row["done"]:
            s = pipe.splits(c)
            tokens = {name: sum(len(r.text) for r in rows_) / 4 for name, rows_ in s.items()}  # ~4 chars/token
            if c.train.mode == "frozen":
                for m in (c.weak, c.strong):
                    missing = [t for t in pipe.featurizer(m, c.train).store.missing(sorted(pipe.texts_for(m, c)))
                               if (m, t) not in seen_features]
                    seen_features.update((m, t) for t in missing)
                    new_texts += len(missing)
                    cost += 2 * _params(pipe, m) * sum(len(t) / 4 for t in missing) / speed
            else:
                ep = c.train.resolved_epochs()
                fits = [(c.weak, "weak_train", not row["weak_cached"]),
                        (c.strong, "transfer", not row["ceiling_cached"]), (c.strong, "transfer", True)]
                for m, split, needed in fits:
                    if needed:
                        cost += 6 * _params(pipe, m) * tokens[split] * ep / speed
                        cost += 2 * _params(pipe, m) * (tokens["test"] + tokens["transfer"]) / speed
        row["new_feature_texts"] = new_texts
        row["est_seconds"] = round(cost, 1)
        rows.append(row)
    return rows
