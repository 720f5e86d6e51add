"""Reward models are scored in both orders of every test pair, so a model cannot gain from preferring a
position: swapping chosen and rejected in every test pair turns pairwise accuracy a into exactly 1 - a."""

from __future__ import annotations

import numpy as np
import pytest

from w2sg.items import Comparison
from w2sg.metrics import accuracy
from w2sg.pipeline.resources import score_both_orders


class PositionBiased:
    """A reward model that likes longer responses and also the response shown first (a position bias)."""

    def predict(self, items):
        z = np.array([0.05 * (len(x.a) - len(x.b)) + 0.8 for x in items])
        return (1 / (1 + np.exp(-z))).astype(np.float32)


def _pairs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        chosen = "word " * int(rng.integers(1, 30))
        rejected = "word " * int(rng.integers(1, 30)) + "x"
        out.append(Comparison(f"prompt {i}", chosen, rejected))
    return out


def test_swapping_chosen_and_rejected_turns_accuracy_a_into_1_minus_a():
    model = PositionBiased()
    shown = _pairs()  # every pair shown as (chosen, rejected): the truth is "a is preferred" (label 1)
    truth = np.ones(len(shown), dtype=int)
    p, gap = score_both_orders(model, shown)
    a = accuracy(p, truth, balanced=False)
    swapped = [x.swapped() for x in shown]  # the data now says the other response was chosen
    p_sw, _ = score_both_orders(model, swapped)
    assert 0.1 < a < 0.9 and not np.any(p == 0.5)
    assert accuracy(p_sw, truth, balanced=False) == 1 - a  # exactly
    np.testing.assert_allclose(p_sw, 1 - p, atol=1e-7)
    assert gap > 0.3  # the model is position-biased ...
    # ... and scored in one order only, the bias would leak into the swapped accuracy
    one_order = accuracy(model.predict(swapped), truth, balanced=False)
    assert abs(one_order - (1 - a)) > 0.05


def test_texts_are_scored_as_they_are():
    class Const:
        def predict(self, items):
            return np.full(len(items), 0.7, dtype=np.float32)

    p, gap = score_both_orders(Const(), ["a", "b"])
    assert gap is None and np.allclose(p, 0.7)


PAIRWISE_METHODS = ["naive", "naive_hard", "confidence", "early_stop", "filter_confident", "s2s_relabel",
                    {"name": "probe_relabel", "options": {"probe": "knn", "k": 5}}, "generative_finetune+naive"]


@pytest.mark.parametrize("method", PAIRWISE_METHODS, ids=lambda m: m if isinstance(m, str) else m["name"])
def test_every_method_trains_reward_models_on_weak_preferences(method, tmp_path, tiny_encoder):
    """The method zoo on a pairwise task: soft Bradley-Terry (naive), hard preferences, the confidence loss
    (the student's own preference hardened at 0.5, each pair), early stopping on V's weak preferences,
    confident-pair filtering, relabelling, generative finetuning on the prompts and responses first."""
    from w2sg.config import ExperimentSpec, SplitSpec
    from w2sg.pipeline import Pipeline

    from .conftest import REPO

    spec = ExperimentSpec(task=str(REPO / "examples" / "pairwise_task" / "pairs.yaml"), weak=str(tiny_encoder),
                          strong=str(tiny_encoder), method=method,
                          splits=SplitSpec(n_weak_train=80, n_transfer=100, n_val=20, n_test=60))
    if "generative" in spec.method.label:
        spec = spec.model_copy(update={"method": spec.method.model_copy(update={"options": {"epochs": 0.5}})})
    rec = Pipeline(tmp_path).run(spec)
    # the longer response is preferred: the weak reward model ranks every test pair right, and so does every
    # student trained on its preferences (a student trained on flipped or ignored preferences would not)
    assert rec["weak_acc"] == 1.0 and rec["student_acc"] >= 0.95, rec["student_acc"]


class _Biased:
    """A learner that half the time just votes for the response shown first: P'(a > b) = (P(a > b) + 1) / 2.
    Scored in both orders this is P / 2 + 1 / 4, the same ranking as P; in one order every pair looks "a > b"."""

    def __init__(self, learner):
        self.learner = learner

    def __getattr__(self, name):
        return getattr(self.learner, name)

    def predict(self, items):
        p = self.learner.predict(items).astype(np.float64)
        if items and isinstance(items[0], Comparison):
            p = (p + 1) / 2
        return p.astype(np.float32)


def test_the_pipeline_scores_every_model_in_both_orders(tmp_path, tiny_encoder):
    """With position-biased reward models in all three roles, the record's scores are those of the two-order
    average, its order gaps measure the bias, and one-order scores would differ: this fails if any role were
    scored in one order."""
    from w2sg.config import ExperimentSpec, SplitSpec
    from w2sg.pipeline import Pipeline

    from .conftest import REPO

    pipe = Pipeline(tmp_path)
    made = []
    orig = pipe.res.new_learner

    def new_learner(*a, **k):
        made.append(_Biased(orig(*a, **k)))
        return made[-1]

    pipe.res.new_learner = new_learner
    spec = ExperimentSpec(task=str(REPO / "examples" / "pairwise_task" / "pairs.yaml"), weak=str(tiny_encoder),
                          strong=str(tiny_encoder),
                          splits=SplitSpec(n_weak_train=80, n_transfer=100, n_val=20, n_test=60))
    rec = pipe.run(spec)
    assert len(made) == 3  # weak, ceiling, student
    rows = pipe.res.splits(spec).test
    items, truth = [r.item for r in rows], np.array([r.label for r in rows])
    for role, learner in zip(("weak", "ceiling", "student"), made, strict=True):
        both, gap = score_both_orders(learner, items)
        one = learner.predict(items)
        assert rec[f"order_gap_{role}"] == pytest.approx(gap) == pytest.approx(0.5, abs=1e-6)
        assert rec[f"{role}_acc"] == pytest.approx(accuracy(both, truth, balanced=True), abs=1e-12)
        # the bias cancels in the two-order average: the unbiased model's accuracy (weak and ceiling: 1.0)
        assert rec[f"{role}_acc"] == accuracy(learner.learner.predict(items), truth, balanced=True)
        assert rec[f"{role}_acc"] > 0.95
        assert accuracy(one, truth, balanced=True) == 0.5  # one order: every pair looks "a > b"
