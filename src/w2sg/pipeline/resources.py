"""What the protocol's steps share within one process: the cache, tasks, splits, models and learners."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2sg.cache import Cache
from w2sg.config import BudgetSpec, ExperimentSpec, TrainSpec, content_hash
from w2sg.items import item_texts, kind_of
from w2sg.models.zoo import CLASSIC, ResolvedModel, is_classic, resolve
from w2sg.tasks import load_task, make_splits
from w2sg.tasks.schema import Example, Splits, TaskData
from w2sg.train.featurizer import item_features
from w2sg.train.learner import (
    Backbone,
    Featurizer,
    FinetuneLearner,
    FrozenLearner,
    Progress,
    Selection,
    TfidfLearner,
    no_progress,
)
from w2sg.train.loop import resolve_device
from w2sg.train.losses import SoftXent
from w2sg.train.zero_shot import ZeroShotLM


@dataclass
class StepLog:
    """What happened in each step of one experiment: seconds and whether it came from the cache."""

    seconds: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)  # texts longer than max_length, per step
    meta: dict[str, dict] = field(default_factory=dict)  # what each step recorded (l2, solver, ...)


def score_both_orders(learner, items) -> tuple[np.ndarray, float | None]:
    """P(item positive) on test items. A comparison is scored in both orders, P = (P(a ≻ b) + 1 − P(b ≻ a)) / 2,
    so no model can gain from preferring a position; the largest |P(a ≻ b) − (1 − P(b ≻ a))| is returned (0 for
    reward models without a bias term; None for texts)."""
    p = learner.predict(list(items))
    if kind_of(items) != "comparison":
        return p, None
    q = 1.0 - learner.predict([x.swapped() for x in items])
    gap = float(np.max(np.abs(p - q))) if len(p) else 0.0
    return ((p + q) / 2).astype(np.float32), gap


class Resources:
    """Per-process memos (tasks, splits, models, backbones, featurizers), learner factories and the cache."""

    SPLITS_MEMO = 8  # splits of the most recent (task, splits, seed) combinations kept in memory

    def __init__(self, workdir: str | Path = "w2sg-runs", data_dir: str | Path | None = None,
                 progress: Progress = no_progress, log: Callable[[str], None] = lambda s: None):
        self.workdir = Path(workdir)
        self.cache = Cache(self.workdir / "cache")
        self.data_dir = data_dir
        self.progress = progress
        self.log = log
        self._tasks: dict[str, TaskData] = {}
        self._models: dict[str, ResolvedModel] = {}
        self._backbones: dict[str, Backbone] = {}
        self._featurizers: dict[tuple, Featurizer] = {}
        self._splits: OrderedDict[tuple, Splits] = OrderedDict()
        self._recomputed: set[tuple[str, str]] = set()  # cache entries already recomputed under `force`
        self._steps: dict[int, tuple[TaskData, list]] = {}  # per loaded task: its rows' solutions (`steps` tasks)

    # ---- inputs -------------------------------------------------------------------------------------
    @property
    def tasks(self) -> dict[str, TaskData]:
        """The tasks loaded so far, by name: a caller that loaded one already (`w2sg run`) adds it here."""
        return self._tasks

    def task(self, name: str) -> TaskData:
        if name not in self._tasks:
            self._tasks[name] = load_task(name, self.data_dir)
        return self._tasks[name]

    def splits(self, spec: ExperimentSpec) -> Splits:
        key = (spec.task, spec.splits, spec.seed)
        if key not in self._splits:
            self._splits[key] = make_splits(self.task(spec.task), spec.splits, spec.seed)
            while len(self._splits) > self.SPLITS_MEMO:
                self._splits.popitem(last=False)
        self._splits.move_to_end(key)
        return self._splits[key]

    def split_key(self, spec: ExperimentSpec) -> str:
        return content_hash("splits", self.task(spec.task).fingerprint, spec.splits, spec.seed)

    def model(self, name: str) -> ResolvedModel:
        if name not in self._models:
            self._models[name] = resolve(name)
        return self._models[name]

    def identity(self, name: str) -> str:
        return self.model(name).identity

    @staticmethod
    def _no_features(name: str, what: str) -> ValueError:
        alias = name.strip().lower()
        return ValueError(
            f"model '{name}' is a classic rung ({CLASSIC[alias]['kind']}): it has no {what} and no frozen "
            "features; it can train on a task's texts as the weak model or supervisor, but a method that needs "
            f"the strong model's features or backbone, or a cluster region on '{name}', cannot use it: "
            "use a neural model (e.g. minilm) there")

    def backbone(self, name: str) -> Backbone:
        if is_classic(name):
            raise self._no_features(name, "backbone (no weights, no tokenizer)")
        if name not in self._backbones:
            m = self.model(name)
            self._backbones[name] = Backbone(str(m.path), m.arch)
        return self._backbones[name]

    def featurizer(self, name: str, spec: TrainSpec) -> Featurizer:
        if is_classic(name):
            raise self._no_features(name, "featurizer")
        key = (name, spec.max_length, spec.prompt, spec.layer)  # prompt/layer: what a decoder reads
        if key not in self._featurizers:
            self._featurizers[key] = Featurizer(
                self.backbone(name), self.identity(name), self.cache.root, spec.max_length,
                batch_size=spec.eval_batch_size, device=resolve_device(spec.device), progress=self.progress,
                prompt=spec.prompt, layer=spec.layer,
            )
        return self._know_steps(self._featurizers[key])

    def _know_steps(self, f: Featurizer) -> Featurizer:
        """Register the solutions of every loaded `steps` task with `f`, so that it reads all steps of one
        solution from one forward pass (a no-op for tasks whose rows carry no steps)."""
        for data in self._tasks.values():
            if id(data) not in self._steps:  # the object is kept with its steps, so its id stays its own
                rows = [*data.pool, *(data.test or [])]
                self._steps[id(data)] = (data, [r.steps for r in rows if r.steps is not None])
            steps = self._steps[id(data)][1]
            if steps:
                f.know_steps(steps, source=(data.name, data.fingerprint, id(data)))
        return f

    def item_features(self, name: str, spec: TrainSpec, items) -> np.ndarray:
        """Frozen features of the pretrained `name` per item (a comparison: features of a minus those of b)."""
        if is_classic(name):
            raise self._no_features(name, "pretrained representation")
        return item_features(self.featurizer(name, spec), list(items))[1].numpy()

    def zero_shot(self, name: str, spec: TrainSpec, task: str | None = None) -> ZeroShotLM:
        """The pretrained `name` as a zero-shot yes/no classifier (`w2sg.train.zero_shot`): its answers cached per
        text under this cache, the model loaded only for texts not cached yet; `task` picks prompt "auto"."""
        if is_classic(name):
            raise self._no_features(name, "language model")
        m = self.model(name)
        return ZeroShotLM(m.path, arch=m.arch, identity=m.identity, cache_root=self.cache.root,
                          max_length=spec.max_length, batch_size=spec.eval_batch_size,
                          device=resolve_device(spec.device), task=task, name=name, progress=self.progress)

    # ---- learners -----------------------------------------------------------------------------------
    def new_learner(self, name: str, spec: TrainSpec, l2: float | str | None = None,
                    budget: BudgetSpec | None = None, selection: Selection | None = None):
        """A fresh learner of `name`; `l2` (frozen mode) overrides spec.l2, `budget` is the student's. A classic
        rung (tfidf) is the same learner in every mode: it has no backbone to freeze or finetune."""
        if is_classic(name):
            return TfidfLearner(spec, l2=l2, budget=budget, selection=selection)
        if spec.mode == "frozen":
            return FrozenLearner(self.featurizer(name, spec), spec, l2=l2, budget=budget, selection=selection)
        return FinetuneLearner(self.backbone(name), spec, progress=self.progress, budget=budget,
                               selection=selection)

    def learner_on(self, backbone: Backbone, identity: str, spec: TrainSpec, **student):
        """A learner on an adapted backbone (e.g. after generative finetuning); `identity` keys its features."""
        if spec.mode == "frozen":
            f = Featurizer(backbone, identity, self.cache.root, spec.max_length, batch_size=spec.eval_batch_size,
                           device=resolve_device(spec.device), progress=self.progress, prompt=spec.prompt,
                           layer=spec.layer)
            return FrozenLearner(self._know_steps(f), spec, **student)
        return FinetuneLearner(backbone, spec, progress=self.progress, **student)

    def fit_ground_truth(self, model: str, spec: TrainSpec, seed: int, train_rows: list[Example],
                         predict_on: dict[str, list[Example]]) -> tuple[dict[str, np.ndarray], dict]:
        """Train `model` on ground truth (a weak model on A, the ceiling on B); its P(item positive) on other
        splits, and what its learner recorded (l2, solver, gradient norm, steps, truncated texts)."""
        learner = self.new_learner(model, spec)
        targets = np.array([r.label for r in train_rows], dtype=np.float32)
        result = learner.fit([r.item for r in train_rows], targets, SoftXent(), seed=seed,
                             groups=np.array([r.group for r in train_rows]))
        arrays = {name: learner.predict([r.item for r in rows])
                  for name, rows in predict_on.items() if rows and name != "test"}
        arrays["test"], order_gap = score_both_orders(learner, [r.item for r in predict_on["test"]])
        texts = set(item_texts([r.item for r in train_rows]))
        texts |= {t for rows in predict_on.values() for t in item_texts([r.item for r in rows])}
        n_truncated = 0 if is_classic(model) else self.backbone(model).count_truncated(sorted(texts), spec.max_length)
        return arrays, {"train_seconds": result.seconds, "steps": result.steps, "n_truncated": n_truncated,
                        **({"order_gap": order_gap} if order_gap is not None else {}), **learner.info}

    # ---- the cache ----------------------------------------------------------------------------------
    def get_or_compute(self, kind: str, key: str, compute, force: bool = False, rows: dict[str, int] | None = None):
        """`Cache.get_or_compute`; with `force` an entry is recomputed (and replaced) once per process, so that
        experiments sharing a step under `--force` (methods, seeds of one run) recompute it only once. `rows`:
        the rows each named array must have before it is written."""
        fresh = force and (kind, key) not in self._recomputed
        out = self.cache.get_or_compute(kind, key, compute, force=fresh, rows=rows)
        if force:
            self._recomputed.add((kind, key))
        return out

    def cached(self, steps: StepLog, name: str, key: str, compute, force: bool = False,
               rows: dict[str, int] | None = None) -> dict[str, np.ndarray]:
        """`compute() -> (arrays, meta)` through the cache under (name, key), logged in `steps`; with `force`
        computed even if cached (once per process), and the entry replaced; `rows` as in `get_or_compute`."""
        t0 = time.perf_counter()
        arrays, meta, cached = self.get_or_compute(name, key, compute, force=force, rows=rows)
        steps.seconds[name] = time.perf_counter() - t0
        steps.cached[name] = cached
        steps.meta[name] = meta
        steps.truncated[name] = int(meta.get("n_truncated", 0))
        self.log(f"  {name:8s} {'cached' if cached else 'computed'} ({steps.seconds[name]:.1f}s)")
        return arrays


__all__ = ["Resources", "StepLog"]
