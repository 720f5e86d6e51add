"""Integration: a frozen linear reward model on the real MiniLM's features (offline ladder rung 1) prefers
the longer response on held-out pairs."""

import numpy as np
import pytest

from w2sg.config import TrainSpec
from w2sg.models.zoo import is_present, resolve
from w2sg.train.learner import Backbone, Featurizer, FrozenLearner
from w2sg.train.losses import BradleyTerry

from .conftest import accuracy, length_pairs, swapped

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first"),
]


def test_minilm_reward_model_learns_the_longer_response(tmp_path):
    model = resolve("minilm")
    featurizer = Featurizer(Backbone(str(model.path), model.arch), model.identity, tmp_path, max_length=128)
    items, y = length_pairs(600, seed=0)
    learner = FrozenLearner(featurizer, TrainSpec(mode="frozen"), l2="cv")
    learner.fit(items[:400], y[:400], BradleyTerry(), seed=0)
    p = learner.predict(items[400:])
    assert accuracy(p, y[400:]) >= 0.95
    np.testing.assert_allclose(learner.predict(swapped(items[400:])), 1 - p, rtol=0, atol=1e-6)
