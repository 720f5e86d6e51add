"""One experiment, run as the protocol of Burns et al. (see `w2sg.pipeline.steps`) through the cache, with
its record in the results store.

`Pipeline` is the thin driver: `keys`, `run` (store-aware) and `compute` (cache only, for remote workers);
`plan` resolves a spec once (supervisor, method chain); `steps` holds the four steps and their cache keys;
`resources` the per-process memos and learner factories; `lock` the locked model a testbed student starts from.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

from w2sg.config import ExperimentSpec
from w2sg.pipeline import steps as protocol
from w2sg.pipeline.plan import Plan
from w2sg.pipeline.record import student_l2, training_record
from w2sg.pipeline.resources import Resources, StepLog
from w2sg.store import ResultsStore
from w2sg.train.learner import Progress, no_progress


class Pipeline:
    """Runs experiments: the protocol's steps over shared `Resources`, results into the store."""

    def __init__(self, workdir: str | Path = "w2sg-runs", data_dir: str | Path | None = None,
                 progress: Progress = no_progress, log: Callable[[str], None] = lambda s: None):
        self.res = Resources(workdir, data_dir, progress, log)
        self.workdir, self.cache, self.log = self.res.workdir, self.res.cache, log

    @functools.cached_property
    def store(self) -> ResultsStore:
        """Opened on first use: sweep workers only compute and never open the SQLite file."""
        return ResultsStore(self.workdir / "results.sqlite")

    def keys(self, spec: ExperimentSpec) -> dict[str, str]:
        """The cache key of every step, and the store's key of the experiment."""
        plan = Plan.of(spec)
        return {"split": self.res.split_key(spec), "weak": protocol.supervise_key(plan, self.res),
                "ceiling": protocol.ceiling_key(spec, self.res), "student": protocol.student_key(plan, self.res),
                "experiment": protocol.experiment_key(plan, self.res)}

    def run(self, spec: ExperimentSpec, force: bool = False) -> dict:
        """Run (or fetch from the store) one experiment and return its flat record.

        `force`: ignore the store's row and the cached steps: the supervisor (with its own cached fits, e.g.
        ensemble members), the ceiling and the student are recomputed and their cache entries and the row
        replaced; a step shared by several experiments is recomputed once per Pipeline. Frozen features are
        reused: they depend on the model and the text only, never on the experiment (a damaged feature shard
        is moved aside and recomputed without `force`)."""
        plan = Plan.of(spec)
        key = protocol.experiment_key(plan, self.res)
        if not force and self.store.has(key):
            self.log(f"[cached] {spec.task} {spec.weak_label}->{spec.strong} {spec.method.label} seed={spec.seed}")
            return self.store.records(hash=key)[0]
        result = self.compute(plan, force=force)
        self.store.put(**result)
        return self.store.records(hash=key)[0]

    def compute(self, spec: ExperimentSpec | Plan, force: bool = False) -> dict:
        """The four steps through the cache, without touching the store: returns the arguments of
        `ResultsStore.put` (so a remote worker can send them back to the driver's store). `force`: recompute
        the supervisor, ceiling and student even if cached (not the frozen features)."""
        plan = Plan.of(spec)  # checked before any work, then shared by every step
        spec = plan.spec
        steps = StepLog()
        t0 = time.perf_counter()
        self.res.splits(spec)
        steps.seconds["splits"] = time.perf_counter() - t0
        weak = protocol.supervise(plan, self.res, steps, force=force)
        ceiling = protocol.ceiling(spec, self.res, steps, force=force)
        student = protocol.student(plan, self.res, weak, student_l2(spec, steps.meta)[0], steps,
                                   force=force)
        t0 = time.perf_counter()
        metrics = protocol.evaluate(plan, self.res, weak, ceiling, student, steps)
        steps.seconds["evaluate"] = time.perf_counter() - t0
        return {"spec": spec.model_dump(mode="json"), "hash_": protocol.experiment_key(plan, self.res),
                "metrics": metrics, "timings": steps.seconds,
                "outcomes": protocol.test_outcomes(spec, self.res, weak, ceiling, student).to_arrays()}

    # the steps alone (sweeps run them as separate jobs so parallel workers never compute one twice)
    def weak_step(self, spec: ExperimentSpec | Plan, force: bool = False):
        return protocol.supervise(spec, self.res, force=force)

    def ceiling_step(self, spec: ExperimentSpec, force: bool = False):
        return protocol.ceiling(spec, self.res, force=force)

    def splits(self, spec: ExperimentSpec):
        return self.res.splits(spec)


__all__ = ["Pipeline", "Plan", "Resources", "StepLog", "student_l2", "training_record"]
