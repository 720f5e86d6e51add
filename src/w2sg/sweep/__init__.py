"""Sweeps: a declarative grid of experiments, run once each, resumable, on one process, N processes or Ray.

A grid expands into cells (experiments). Before the cells run, their shared work runs as separate jobs so
that nothing is computed twice even with parallel workers: frozen features per (model, task), then every
distinct weak model and ceiling, then the students. Completed cells (already in the store) are skipped; a
failed cell is recorded with its error and the sweep goes on.
"""


from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from w2sg.config import ExperimentSpec
from w2sg.sweep.dryrun import dry_run
from w2sg.sweep.executors import InProcessExecutor, ProcessExecutor, RayExecutor
from w2sg.sweep.grid import SweepSpec, expand
from w2sg.sweep.jobs import Job, plan, run_job


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
    if loggers:
        from w2sg.loggers import log_record

        log_record(loggers, pipe.store.records(hash=out["result"]["hash_"])[0])


__all__ = ["InProcessExecutor", "Job", "ProcessExecutor", "RayExecutor", "SweepReport", "SweepSpec", "dry_run",
           "expand", "plan", "run_job", "run_sweep"]
