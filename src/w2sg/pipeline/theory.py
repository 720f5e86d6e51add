"""What `w2sg.theory` needs from one experiment: its record keys (cheap, computed in `evaluate`) and, for the
theory study, the experiment's stored predictions and frozen features gathered through the cache.

The record's keys come from `pipeline.record.theory_record`: the squared-loss misfit terms on B and T and, on a
frozen run whose strong model is pretrained and whose items are texts, T's k-NN expansion in the strong features
with the student's pseudolabel correction. `theory_inputs` runs the experiment's first three steps through the
cache (hits when the experiment has run: nothing is trained again) and returns every array a theory module takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from w2sg.config import ExperimentSpec
from w2sg.models.zoo import is_classic
from w2sg.pipeline import steps as protocol
from w2sg.pipeline.plan import Plan
from w2sg.pipeline.record import student_l2, texts_with_features
from w2sg.pipeline.resources import Resources, StepLog
from w2sg.train.convex import standardise


@dataclass
class TheoryInputs:
    """One experiment's labels, predictions (P(y=1)) and features on B ('transfer') and T ('test'). Strong
    features are standardised as the frozen learner standardises B's (so an l2 means what it meant to the
    student); weak features are None for a classic (TF-IDF) or non-model supervisor."""

    spec: ExperimentSpec
    labels: dict[str, np.ndarray]
    groups_test: list[str]
    weak: dict[str, np.ndarray]
    ceiling: dict[str, np.ndarray]
    student: dict[str, np.ndarray]
    strong_x: dict[str, np.ndarray] | None
    weak_x: dict[str, np.ndarray] | None
    student_l2: float | None
    student_meta: dict


def theory_inputs(spec: ExperimentSpec | Plan, res: Resources) -> TheoryInputs:
    """The arrays of one experiment, through the cache (module docstring)."""
    plan = Plan.of(spec)
    spec = plan.spec
    steps = StepLog()
    weak = protocol.supervise(plan, res, steps)
    ceil = protocol.ceiling(spec, res, steps)
    stud = protocol.student(plan, res, weak, student_l2(spec, steps.meta)[0], steps)
    splits = res.splits(spec)
    rows = {"transfer": splits.transfer, "test": splits.test}
    labels = {s: np.array([r.label for r in v]) for s, v in rows.items()}
    strong_x = weak_x = None
    if texts_with_features(spec, splits.test):
        raw = {s: res.item_features(spec.strong, spec.train, [r.item for r in v]).astype(np.float64)
               for s, v in rows.items()}
        mean, std = standardise(raw["transfer"])
        strong_x = {s: (v - mean) / std for s, v in raw.items()}
        if isinstance(spec.weak, str) and not is_classic(spec.weak):
            weak_x = {s: res.item_features(spec.weak, spec.train, [r.item for r in v]).astype(np.float64)
                      for s, v in rows.items()}
    meta = steps.meta.get("student", {})
    return TheoryInputs(spec, labels, [r.group for r in splits.test],
                        {s: np.asarray(weak[s], dtype=np.float64) for s in rows},
                        {s: np.asarray(ceil[s], dtype=np.float64) for s in rows},
                        {s: np.asarray(stud[s], dtype=np.float64) for s in rows},
                        strong_x, weak_x, meta.get("l2"), meta)
