"""Cross-validation at the grid's edge: a choice at an end of the grid extends it by decades until the optimum is
interior, up to a stated cap, and a choice still at the cap is flagged (`at_edge`; the learners' `l2_at_edge`)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from w2sg.config import TrainSpec
from w2sg.train import convex
from w2sg.train.classic import C_MIN, TfidfLearner
from w2sg.train.convex import L2_GRID, L2_MAX, L2_MIN, choose_l2
from w2sg.train.frozen import FrozenLearner
from w2sg.train.losses import SoftXent

from .conftest import FixedFeatures, index_texts, synthetic_rows


def _twins(n: int = 200, d: int = 10, seed: int = 0):
    """No signal at all: every row has a twin with the same features and the opposite label (same group)."""
    x = np.random.default_rng(seed).normal(size=(n // 2, d))
    return np.repeat(x, 2, axis=0), np.tile([1.0, 0.0], n // 2), np.repeat(np.arange(n // 2), 2)


def test_caps_are_decades_beyond_the_grid():
    assert (min(L2_GRID), max(L2_GRID)) == pytest.approx((1e-4, 10.0))
    assert (L2_MIN, L2_MAX) == (1e-8, 1e4)


def test_random_labels_pick_the_top_and_the_grid_grows_past_it():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 20)), (rng.random(300) < 0.5).astype(float)
    l2, info = choose_l2(x, y)
    assert info["extended"] >= 1 and info["grid"][-1] > max(L2_GRID)  # the old top won, so decades were added
    assert l2 >= max(L2_GRID)
    # without the extension the same CV stops at the top of the grid and says so
    l2_plain, plain = choose_l2(x, y, extend=False)
    assert l2_plain == max(L2_GRID) and plain["at_edge"] is True and plain["extended"] == 0
    assert len(info["cv_loss"]) == len(info["grid"])


def test_no_signal_runs_to_the_cap_and_is_flagged():
    x, y, groups = _twins()
    l2, info = choose_l2(x, y, groups=groups)
    assert l2 == pytest.approx(L2_MAX) and info["at_edge"] is True
    assert info["grid"][-4:] == pytest.approx([10.0, 100.0, 1e3, 1e4]) and info["extended"] == 3
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen", l2="cv"))
    learner.fit(index_texts(len(y)), y, SoftXent(), seed=0, groups=groups)
    assert learner.info["l2_at_edge"] is True and learner.info["l2"] == pytest.approx(L2_MAX)


def test_signal_gives_an_interior_optimum_without_extension():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 10))
    y = (rng.random(600) < 1 / (1 + np.exp(-0.7 * x @ rng.normal(size=10)))).astype(float)
    l2, info = choose_l2(x, y)
    assert info["at_edge"] is False and info["extended"] == 0
    assert min(L2_GRID) < l2 < max(L2_GRID)
    learner = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen", l2="cv"))
    learner.fit(index_texts(len(y)), y, SoftXent(), seed=0)
    assert learner.info["l2_at_edge"] is False and learner.info["l2"] == l2
    given = FrozenLearner(FixedFeatures(x), TrainSpec(mode="frozen", l2=0.1))
    given.fit(index_texts(len(y)), y, SoftXent(), seed=0)
    assert "l2_at_edge" not in given.info  # a given l2 was not chosen: nothing to flag


def test_many_rows_few_features_extend_the_grid_below():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 3))
    y = (rng.random(3000) < 1 / (1 + np.exp(-x @ np.array([3.0, -2.0, 1.0])))).astype(float)
    l2, info = choose_l2(x, y)
    # the grid's weakest penalty won, so a decade was added below it; the optimum is then interior
    assert info["grid"][0] == pytest.approx(min(L2_GRID) / 10) and info["extended"] == 1
    assert l2 == min(L2_GRID) and info["at_edge"] is False
    assert info["cv_loss"][0] > info["cv_loss"][1]


def test_the_low_cap_is_flagged(monkeypatch):
    """A choice at the weakest penalty that may not go lower is flagged too (the cap moved up to the grid's end)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 3))
    y = (rng.random(3000) < 1 / (1 + np.exp(-x @ np.array([3.0, -2.0, 1.0])))).astype(float)
    monkeypatch.setattr(convex, "L2_MIN", min(L2_GRID))
    l2, info = choose_l2(x, y)
    assert l2 == min(L2_GRID) and info["at_edge"] is True and info["extended"] == 0


def test_tfidf_no_signal_extends_c_down_to_its_cap():
    rng = random.Random(0)
    words = [f"w{i}" for i in range(40)]
    base = [" ".join(rng.choices(words, k=8)) for _ in range(60)]
    texts = [t for t in base for _ in range(2)]  # twins with opposite labels: no signal
    y = np.tile([1.0, 0.0], len(base))
    groups = np.repeat(np.arange(len(base)), 2)
    learner = TfidfLearner(TrainSpec(l2="cv", cv_folds=3))
    learner.fit(texts, y, SoftXent(), seed=0, groups=groups)
    cv = learner.info["cv"]
    assert learner.info["C"] == pytest.approx(C_MIN) and cv["at_edge"] is True and learner.info["l2_at_edge"] is True
    assert cv["grid_C"][0] == pytest.approx(C_MIN) and cv["extended"] == 3


def test_tfidf_signal_keeps_an_interior_c():
    rows = synthetic_rows(300, seed=3)
    texts, y = [r["review"] for r in rows], np.array([r["label"] for r in rows], dtype=float)
    learner = TfidfLearner(TrainSpec(l2="cv", cv_folds=3))
    learner.fit(texts, y, SoftXent(), seed=0)
    assert learner.info["l2_at_edge"] is False and learner.info["cv"]["extended"] == 0
