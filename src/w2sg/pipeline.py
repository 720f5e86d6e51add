"""The four steps of one experiment, each through the content-addressed cache.

1. weak    = fit(weak model, A, ground truth)    -> weak soft labels on B, V (and predictions on T)
2. ceiling = fit(strong model, B, ground truth)  (same rows and budget as the student)
3. student = method(strong model, B with weak labels only, V with weak labels only)
4. evaluate weak, ceiling and student on T       -> accuracy, AUROC, PGR with CIs, diagnostics
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2sg.cache import Cache
from w2sg.config import BudgetSpec, ExperimentSpec, TrainSpec, content_hash
from w2sg.methods import StudentContext, WeakLabelled, check_method
from w2sg.methods.base import WeakMember
from w2sg.metrics import evaluate, supervisor_metrics
from w2sg.models.zoo import ResolvedModel, resolve
from w2sg.store import ResultsStore
from w2sg.tasks import load_task, make_splits
from w2sg.tasks.schema import Example, Splits, TaskData
from w2sg.train.learner import (
    Backbone,
    Featurizer,
    FinetuneLearner,
    FrozenLearner,
    Progress,
    Selection,
    _no_progress,
)
from w2sg.train.loop import resolve_device
from w2sg.train.losses import SoftXent


@dataclass
class StepLog:
    """What happened in each step of one experiment: seconds and whether it came from the cache."""

    seconds: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)  # texts longer than max_length, per step
    meta: dict[str, dict] = field(default_factory=dict)  # what each step's learner recorded (l2, solver, ...)


class Pipeline:
    """Runs experiments; holds the cache, the results store and per-process model/task memos."""

    def __init__(self, workdir: str | Path = "w2sg-runs", data_dir: str | Path | None = None,
                 progress: Progress = _no_progress, log: Callable[[str], None] = lambda s: None):
        self.workdir = Path(workdir)
        self.cache = Cache(self.workdir / "cache")
        self.data_dir = data_dir
        self.progress = progress
        self.log = log
        self._tasks: dict[str, TaskData] = {}
        self._models: dict[str, ResolvedModel] = {}
        self._backbones: dict[str, Backbone] = {}
        self._featurizers: dict[tuple, Featurizer] = {}
        self._splits: dict[tuple, Splits] = {}

    @functools.cached_property
    def store(self) -> ResultsStore:
        """Opened on first use: sweep workers only compute and never open the SQLite file."""
        return ResultsStore(self.workdir / "results.sqlite")

    # ---- inputs -------------------------------------------------------------------------------------
    def task(self, name: str) -> TaskData:
        if name not in self._tasks:
            self._tasks[name] = load_task(name, self.data_dir)
        return self._tasks[name]

    def model(self, name: str) -> ResolvedModel:
        if name not in self._models:
            self._models[name] = resolve(name)
        return self._models[name]

    def _backbone(self, name: str) -> Backbone:
        if name not in self._backbones:
            m = self.model(name)
            self._backbones[name] = Backbone(str(m.path), m.arch)
        return self._backbones[name]

    def featurizer(self, name: str, spec: TrainSpec) -> Featurizer:
        key = (name, spec.max_length)
        if key not in self._featurizers:
            self._featurizers[key] = Featurizer(
                self._backbone(name), self.model(name).identity, self.cache.root, spec.max_length,
                batch_size=spec.eval_batch_size, device=resolve_device(spec.device), progress=self.progress,
            )
        return self._featurizers[key]

    def new_learner(self, name: str, spec: TrainSpec, l2: float | str | None = None,
                    budget: BudgetSpec | None = None, selection: Selection | None = None):
        """A fresh learner of `name`; `l2` (frozen mode) overrides spec.l2, `budget` is the student's."""
        if spec.mode == "frozen":
            return FrozenLearner(self.featurizer(name, spec), spec, l2=l2, budget=budget, selection=selection)
        return FinetuneLearner(self._backbone(name), spec, progress=self.progress, budget=budget,
                               selection=selection)

    def learner_on(self, backbone: Backbone, identity: str, spec: TrainSpec, **student):
        """A learner on an adapted backbone (e.g. after generative finetuning); `identity` keys its features."""
        if spec.mode == "frozen":
            f = Featurizer(backbone, identity, self.cache.root, spec.max_length, batch_size=spec.eval_batch_size,
                           device=resolve_device(spec.device), progress=self.progress)
            return FrozenLearner(f, spec, **student)
        return FinetuneLearner(backbone, spec, progress=self.progress, **student)

    # ---- keys ---------------------------------------------------------------------------------------
    def keys(self, spec: ExperimentSpec) -> dict[str, str]:
        data = self.task(spec.task)
        weak, strong = self.model(spec.weak), self.model(spec.strong)
        split = content_hash("splits", data.fingerprint, spec.splits, spec.seed)
        weak_key = content_hash("weak", split, weak.identity, spec.train, spec.seed)
        return {
            "split": split,
            "weak": weak_key,
            "ceiling": content_hash("ceiling", split, strong.identity, spec.train, spec.seed),
            "student": content_hash("student", weak_key, strong.identity, spec.train, spec.method, spec.budget,
                                    spec.seed),
            "experiment": content_hash("experiment", spec, data.fingerprint, weak.identity, strong.identity),
        }

    # ---- the four steps -----------------------------------------------------------------------------
    def run(self, spec: ExperimentSpec, force: bool = False) -> dict:
        """Run (or fetch from the store) one experiment and return its flat record."""
        keys = self.keys(spec)
        if not force and self.store.has(keys["experiment"]):
            self.log(f"[cached] {spec.task} {spec.weak}->{spec.strong} {spec.method.label} seed={spec.seed}")
            return self.store.records(hash=keys["experiment"])[0]
        result = self.compute(spec)
        self.store.put(**result)
        return self.store.records(hash=keys["experiment"])[0]

    def compute(self, spec: ExperimentSpec) -> dict:
        """The four steps through the cache, without touching the store: returns the arguments of
        `ResultsStore.put` (so a remote worker can send them back to the driver's store)."""
        method, cfg = check_method(spec)
        keys = self.keys(spec)
        steps = StepLog()
        t0 = time.perf_counter()
        splits = self.splits(spec)
        steps.seconds["splits"] = time.perf_counter() - t0
        weak = self.weak_step(spec, steps)
        ceiling = self.ceiling_step(spec, steps)
        student = self._step(steps, "student", keys["student"], lambda: self._fit_student(
            spec, method, cfg, splits, weak, student_l2(spec, steps.meta["ceiling"])))

        t0 = time.perf_counter()
        labels = {name: np.array([r.label for r in rows]) for name, rows in splits.items()}
        metrics = evaluate(
            labels["test"], weak["test"], ceiling["test"], student["test"],
            transfer_labels=labels["transfer"], weak_transfer=weak["transfer"],
            student_transfer=student["transfer"], ceiling_transfer=ceiling["transfer"], seed=spec.seed,
            test_groups=[r.group for r in splits.test], balance_test=spec.balance_test,
        )
        steps.seconds["evaluate"] = time.perf_counter() - t0
        metrics.update(_split_stats(splits))
        metrics.update({f"cached_{k}": v for k, v in steps.cached.items()})
        metrics["truncated_weak"] = steps.truncated["weak"]  # A, B, V, T under the weak tokenizer
        metrics["truncated_strong"] = steps.truncated["ceiling"]  # B, T under the strong tokenizer
        # True: the student was selected with ground truth (analysis only)
        metrics["oracle"] = method.oracle or spec.budget.oracle
        metrics.update(training_record(spec, steps.meta))
        if "supervisor_test" in student:  # the method built its own supervisor (e.g. a weak ensemble)
            metrics.update(supervisor_metrics(labels["test"], student["supervisor_test"]))
        return {"spec": spec.model_dump(mode="json"), "hash_": keys["experiment"], "metrics": metrics,
                "timings": steps.seconds}

    def splits(self, spec: ExperimentSpec) -> Splits:
        key = (spec.task, spec.splits, spec.seed)
        if key not in self._splits:
            self._splits = {key: make_splits(self.task(spec.task), spec.splits, spec.seed)}  # keep the last
        return self._splits[key]

    def weak_step(self, spec: ExperimentSpec, steps: StepLog | None = None) -> dict[str, np.ndarray]:
        """Step 1: the weak model trained on A with ground truth; its P(y=1) on B, V and T (cached)."""
        return self._weak_fit(spec, spec.weak, 0, False, steps or StepLog())

    def _weak_fit(self, spec: ExperimentSpec, model: str, member: int, bagging: bool,
                  steps: StepLog) -> dict[str, np.ndarray]:
        """`model` trained on A with ground truth (training seed seed + 1000 * member; with `bagging`, on a
        bootstrap resample of A); its P(y=1) on B, V, T and the extra rows. Member 0 without bagging is the
        plain weak fit of that model, under the weak step's key."""
        s = self.splits(spec)
        split = self.keys(spec)["split"]
        identity = self.model(model).identity
        rows = s.weak_train
        if member == 0 and not bagging:
            key = content_hash("weak", split, identity, spec.train, spec.seed)
        else:
            key = content_hash("weak-member", split, identity, spec.train, spec.seed, member, bagging)
            if bagging:
                idx = np.random.default_rng([spec.seed, member, 7]).integers(0, len(rows), len(rows))
                rows = [rows[i] for i in idx]
        targets = {"transfer": s.transfer, "val": s.val, "test": s.test, "extra": s.extra}
        return self._step(steps, "weak", key, lambda: self._fit_ground_truth(
            model, spec.train, spec.seed + 1000 * member, rows, targets))

    def ceiling_step(self, spec: ExperimentSpec, steps: StepLog | None = None) -> dict[str, np.ndarray]:
        """Step 2: the strong model trained on B with ground truth (the student's rows and budget; cached)."""
        s = self.splits(spec)
        return self._step(steps or StepLog(), "ceiling", self.keys(spec)["ceiling"], lambda: self._fit_ground_truth(
            spec.strong, spec.train, spec.seed, s.transfer, {"transfer": s.transfer, "test": s.test}))

    def texts_for(self, model: str, spec: ExperimentSpec) -> set[str]:
        """Texts whose features `model` needs in this experiment (weak: A, B, V, T; strong: B, V, T)."""
        s = self.splits(spec)
        parts = ([s.weak_train] if model == spec.weak else []) + [s.transfer, s.val, s.test]
        return {r.text for rows in parts for r in rows} if model in (spec.weak, spec.strong) else set()

    def features_step(self, model: str, specs: list[ExperimentSpec]) -> int:
        """Frozen features of `model` for every text the given experiments need; returns how many were new."""
        texts: set[str] = set()
        for spec in specs:
            texts |= self.texts_for(model, spec)
        f = self.featurizer(model, specs[0].train)
        before = f.n_computed
        f(sorted(texts))
        return f.n_computed - before

    def weak_member(self, spec: ExperimentSpec, model: str, member: int, bagging: bool) -> WeakMember:
        """An extra weak supervisor for ensembles (see `_weak_fit`), as the student may see it: predictions."""
        p = self._weak_fit(spec, model, member, bagging, StepLog())
        transfer, val, extra = _weak_sets(self.splits(spec), p)
        return WeakMember(transfer=transfer, val=val, extra=extra, test_p1=p["test"])

    def _step(self, steps: StepLog, name: str, key: str, compute) -> dict[str, np.ndarray]:
        t0 = time.perf_counter()
        arrays, meta, cached = self.cache.get_or_compute(name, key, compute)
        steps.seconds[name] = time.perf_counter() - t0
        steps.cached[name] = cached
        steps.meta[name] = meta
        steps.truncated[name] = int(meta.get("n_truncated", 0))
        self.log(f"  {name:8s} {'cached' if cached else 'computed'} ({steps.seconds[name]:.1f}s)")
        return arrays

    def _fit_ground_truth(self, model: str, spec: TrainSpec, seed: int, train_rows: list[Example],
                          predict_on: dict[str, list[Example]]):
        """Train on ground truth (weak model on A, ceiling on B) and predict P(y=1) on other splits."""
        learner = self.new_learner(model, spec)
        targets = np.array([r.label for r in train_rows], dtype=np.float32)
        result = learner.fit([r.text for r in train_rows], targets, SoftXent(), seed=seed,
                             groups=np.array([r.group for r in train_rows]))
        arrays = {name: learner.predict([r.text for r in rows]) for name, rows in predict_on.items() if rows}
        texts = {r.text for r in train_rows} | {r.text for rows in predict_on.values() for r in rows}
        n_truncated = self._backbone(model).count_truncated(sorted(texts), spec.max_length)
        return arrays, {"train_seconds": result.seconds, "steps": result.steps, "n_truncated": n_truncated,
                        **learner.info}

    def _fit_student(self, spec: ExperimentSpec, method, cfg, splits: Splits, weak: dict[str, np.ndarray],
                     l2: float | None):
        """The student sees texts and weak labels only: `WeakLabelled` has no ground-truth field. Its l2 is the
        ceiling's (same recipe), and its budget is the experiment's `budget`."""
        transfer, val, extra = _weak_sets(splits, weak)
        featurizer = self.featurizer(spec.strong, spec.train)
        selection = None
        if spec.budget.kind.startswith("early_stop"):
            # the oracle budget scores V against ground truth (an analysis upper bound, recorded oracle=true)
            reference = (np.array([r.label for r in splits.val]) if spec.budget.oracle
                         else (val.weak_p1 > 0.5).astype(int))
            selection = Selection(list(val.texts), reference, spec.budget.metric, spec.budget.evals)
        student_kw = {"l2": l2, "budget": spec.budget, "selection": selection}
        if spec.train.mode != "frozen":
            student_kw.pop("l2")
        ctx = StudentContext(
            new_student=lambda: self.new_learner(spec.strong, spec.train, **student_kw), seed=spec.seed,
            mode=spec.train.mode,
            train=spec.train, strong_features=lambda texts: featurizer(list(texts)).numpy(),
            # ground truth reaches a method only when it is an explicitly named oracle baseline
            oracle_val_labels=np.array([r.label for r in splits.val]) if method.oracle else None,
            new_learner=lambda model: self.new_learner(model, spec.train),
            extra=extra,
            weak_model=spec.weak,
            weak_member=lambda model, member, bagging: self.weak_member(spec, model, member, bagging),
            strong_backbone=self._backbone(spec.strong),
            learner_on=lambda backbone, tag: self.learner_on(
                backbone, content_hash(self.model(spec.strong).identity, tag), spec.train, **student_kw),
        )
        student = method.fn(ctx, transfer, val, cfg)
        arrays = {"test": student.predict([r.text for r in splits.test]),
                  "transfer": student.predict(list(transfer.texts))}
        if ctx.supervisor_test is not None:
            arrays["supervisor_test"] = np.asarray(ctx.supervisor_test, dtype=np.float32)
        info = {k: v for k, v in getattr(student, "info", {}).items() if k != "cv"}
        picked = getattr(student, "selection_result", None)
        if picked:
            info["selected_step"] = picked["step"]
        return arrays, {"method": spec.method.label, **info}


def _weak_sets(splits: Splits, p: dict[str, np.ndarray]):
    """B, V and the extra rows with a weak model's P(y=1): texts and weak labels only (extra: None if absent)."""
    return (_weak_labelled(splits.transfer, p["transfer"]),
            _weak_labelled(splits.val, p.get("val", np.zeros(0, dtype=np.float32))),
            _weak_labelled(splits.extra, p["extra"]) if splits.extra else None)


def _weak_labelled(rows: list[Example], weak_p1: np.ndarray) -> WeakLabelled:
    return WeakLabelled(tuple(r.id for r in rows), tuple(r.text for r in rows), weak_p1,
                        groups=tuple(r.group for r in rows))


def student_l2(spec: ExperimentSpec, ceiling_meta: dict) -> float | None:
    """The student's L2 strength: the ceiling's (chosen by CV on B's ground truth, or given)."""
    if spec.train.mode != "frozen":
        return None
    if spec.train.l2 != "cv":
        return float(spec.train.l2)
    if "l2" not in ceiling_meta:
        raise RuntimeError("the cached ceiling records no l2; rerun with --force to recompute it")
    return float(ceiling_meta["l2"])


def training_record(spec: ExperimentSpec, meta: dict[str, dict]) -> dict:
    """How each model was trained, for the record: solver, L2 strengths, gradient norms, the student's budget."""
    out = {"budget": spec.budget.label(spec.train), "budget_kind": spec.budget.kind,
           "budget_steps": spec.budget.steps, "solver": spec.train.solver if spec.train.mode == "frozen" else "adamw"}
    for step in ("weak", "ceiling", "student"):
        m = meta.get(step, {})
        out[f"l2_{step}"] = m.get("l2")
        out[f"grad_norm_{step}"] = m.get("grad_norm")
        out[f"steps_{step}"] = m.get("iterations", m.get("steps"))
    out["student_selected_step"] = meta.get("student", {}).get("selected_step")
    return out


def _split_stats(splits: Splits) -> dict:
    out = {}
    for name, s in splits.class_balance().items():
        out[f"n_{name}"] = s["n"]
        out[f"pos_frac_{name}"] = round(s["pos_frac"], 4) if s["n"] else None
    return out
