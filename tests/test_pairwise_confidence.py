"""The confidence loss on comparisons does not depend on how the training pairs are oriented: swapping a and b
of any training pair (which maps its weak P(a > b) to 1 - P) leaves the fitted reward model unchanged."""

from __future__ import annotations

import numpy as np
import torch

from w2sg.config import TrainSpec
from w2sg.items import Comparison
from w2sg.train.frozen import FrozenLearner
from w2sg.train.losses import ConfidenceLoss, harden_at_half


class FixedFeatures:
    """Text 'i' -> row i of a fixed table."""

    def __init__(self, x: np.ndarray):
        self.x = np.asarray(x, dtype=np.float32)

    def __call__(self, texts):
        return torch.from_numpy(self.x[[int(t) for t in texts]])


def _task(n_train: int = 300, n_test: int = 200, d: int = 12, seed: int = 0):
    """Pairs of rows of a feature table; truth: the higher reward r = phi . w; weak P(a > b): a noisy view of it.
    Training pairs are mostly handed in 'preferred first' (weak mean ~0.8), as collected preference data often is."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    phi = rng.normal(size=(2 * n, d))
    r = phi @ rng.normal(size=d)
    items = [Comparison("", str(2 * i), str(2 * i + 1)) for i in range(n)]
    diff = r[0::2] - r[1::2] + rng.normal(scale=1.5, size=n)
    items = [c if (diff[i] > 0) == (rng.random() < 0.8) else c.swapped() for i, c in enumerate(items)]
    sign = np.array([1.0 if c.a == str(2 * i) else -1.0 for i, c in enumerate(items)])
    weak = 1 / (1 + np.exp(-sign * diff))
    return FixedFeatures(phi), items[:n_train], weak[:n_train], items[n_train:]


def _fit_predict(features, items, weak, test, loss):
    learner = FrozenLearner(features, TrainSpec(mode="frozen"), l2=0.01)
    learner.fit(items, weak, loss, seed=0)
    return learner.predict(test).astype(np.float64)


def test_harden_at_half_is_symmetric_under_a_swap_also_on_ties():
    logits = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.3, 0.3], [0.0, 0.0]])
    h = harden_at_half(logits)
    assert h.tolist() == [1.0, 0.0, 0.5, 0.5]
    assert torch.equal(harden_at_half(logits.flip(-1)), 1 - h)


def test_pairwise_confidence_loss_is_orientation_invariant():
    features, items, weak, test = _task()
    assert weak.mean() > 0.7  # one orientation dominates: the batch mean is far from 0.5
    flip = np.random.default_rng(1).random(len(items)) < 0.5
    items_f = [c.swapped() if f else c for c, f in zip(items, flip, strict=True)]
    weak_f = np.where(flip, 1.0 - weak, weak)
    assert abs(weak_f.mean() - weak.mean()) > 0.1

    loss = ConfidenceLoss(pairwise=True)
    p, p_f = _fit_predict(features, items, weak, test, loss), _fit_predict(features, items_f, weak_f, test, loss)
    assert np.abs(p - 0.5).max() > 0.1  # a trained reward model, not a constant
    np.testing.assert_allclose(p_f, p, rtol=0, atol=1e-6)

    # the text rule (harden at the batch's weak positive rate) moves test predictions when pairs are re-oriented
    text_rule = ConfidenceLoss()
    q, q_f = _fit_predict(features, items, weak, test, text_rule), _fit_predict(features, items_f, weak_f, test,
                                                                                  text_rule)
    assert np.abs(q - q_f).max() > 1e-2
