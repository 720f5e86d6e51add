"""The record's misfit-bound keys on the transfer set B (`misfit_record`, written by `metrics.evaluate`): the bound
err(student) <= err(weak) - misfit, errors as KL(model || truth), holds where its premises hold (a convex class
containing the truth, a student fitted to the projection of the weak labels) and fails, by stated amounts, where
one premise fails. Students and ceilings are converged frozen heads on fixed features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from w2sg.config import TrainSpec
from w2sg.metrics import evaluate
from w2sg.metrics.diagnostics import misfit_record
from w2sg.train.frozen import FrozenLearner
from w2sg.train.losses import SoftXent


class FixedFeatures:
    def __init__(self, x: np.ndarray):
        self.x = np.asarray(x, dtype=np.float32)

    def __call__(self, texts):
        return torch.from_numpy(self.x[[int(t) for t in texts]])


N, D = 800, 8


@pytest.fixture(scope="module")
def transfer():
    """B: features, hard ground truth drawn from a linear logit, and weak soft labels outside the linear class."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D))
    z = x @ rng.normal(size=D) + 0.3
    y = (rng.random(N) < 1 / (1 + np.exp(-z))).astype(float)
    weak = 1 / (1 + np.exp(-(0.6 * z + rng.normal(scale=1.5, size=N) + 0.8 * np.sin(3 * x[:, 0]))))
    return x, y, weak


def _fit(x, targets, l2):
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen"), l2=l2)
    texts = [str(i) for i in range(len(x))]
    learner.fit(texts, targets, SoftXent(), seed=0)
    return learner.predict(texts).astype(np.float64)


def test_bound_holds_against_a_truth_inside_the_class_for_the_projection(transfer):
    """The ceiling (a linear head fitted to B's truth) is a truth inside the class; the unpenalised student is the
    exact KL projection of the weak labels onto the linear class: the Pythagorean relation is an equality."""
    x, y, weak = transfer
    ceiling, student = _fit(x, y, 0.0), _fit(x, weak, 0.0)
    r = misfit_record(y, weak, student, ceiling)
    assert r["misfit_transfer"] == pytest.approx(0.142, abs=1e-3)
    assert abs(r["misfit_slack_ceiling_transfer"]) < 1e-5
    out = evaluate(y, weak, ceiling, student, transfer_labels=y, weak_transfer=weak, student_transfer=student,
                   ceiling_transfer=ceiling, n_boot=10)
    assert out["misfit_slack_ceiling_transfer"] == pytest.approx(r["misfit_slack_ceiling_transfer"], abs=1e-12)
    assert out["misfit_transfer"] == pytest.approx(r["misfit_transfer"])


def test_bound_fails_when_a_premise_fails(transfer):
    x, y, weak = transfer
    ceiling, student = _fit(x, y, 0.0), _fit(x, weak, 0.0)
    # 1. the truth outside the class: hard 0/1 labels need infinite logits; the same projection misses by 0.18
    assert misfit_record(y, weak, student)["misfit_slack_transfer"] == pytest.approx(-0.181, abs=2e-3)
    # 2. the student projected onto a smaller convex set (a penalty: a norm ball) that excludes the ceiling
    for l2, slack in ((0.1, -0.220), (1.0, -0.675)):
        shrunk = misfit_record(y, weak, _fit(x, weak, l2), ceiling)["misfit_slack_ceiling_transfer"]
        assert shrunk == pytest.approx(slack, abs=2e-3)
    # 3. a student in the class that is not the projection of the weak labels: its logits pushed on past the
    # projection, away from the ceiling, by half the distance between them
    def logit(p):
        return np.log(p / (1 - p))

    overshoot = 1 / (1 + np.exp(-(logit(student) + 0.5 * (logit(student) - logit(ceiling)))))
    slack = misfit_record(y, weak, overshoot, ceiling)["misfit_slack_ceiling_transfer"]
    assert slack == pytest.approx(-0.696, abs=2e-3)
